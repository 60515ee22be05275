"""/explore/ (signed in and out), the empty home feed's "Popular on socialsite", the empty states
linking to Explore, and the welcome steps after sign-up (/welcome/)."""

import re

import pytest
from django.urls import reverse

from accounts.models import Profile
from posts.models import Post
from search.models import Trend
from tests.factories import BlockFactory, UserFactory
from tests.posts.factories import HashtagFactory, PostFactory, busy_posts

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-welcome-password-42"
CARD = re.compile(r'<article class="card post[^"]*" id="post-([^"]+)"')
EXPLORE_MAX_QUERIES = 20
HOME_MAX_QUERIES = 24  # the feed's 16, and the popular posts with their payload


def test_explore_signed_out_shows_public_trending_posts_hashtags_and_popular_accounts(
    client, ana, bo, django_assert_max_num_queries
):
    from django.utils import timezone

    bo.profile.followers_count = 3
    bo.profile.save()
    public = PostFactory(author=bo, content="public and liked", likes_count=4)
    PostFactory(author=bo, content="followers only", visibility=Post.Visibility.FOLLOWERS)
    Trend.objects.create(
        hashtag=HashtagFactory(name="launch"), score=2.0, recent_posts=4, recent_authors=3, baseline_per_hour=0.1,
        computed_at=timezone.now(),
    )  # fmt: skip
    with django_assert_max_num_queries(EXPLORE_MAX_QUERIES):
        response = client.get("/explore/")
    html = response.content.decode()
    assert response.status_code == 200
    assert CARD.findall(html) == [str(public.pk)]
    assert "followers only" not in html
    assert f'href="{reverse("hashtag", args=["launch"])}"' in html
    assert "Popular accounts" in html and "@bo" in html
    assert 'href="/accounts/signup/"' in html and "New here?" in html
    assert "/static/css/explore.css" in html


def test_explore_signed_in_hides_blocked_authors_and_offers_suggestions(client, ana, bo, cy):
    BlockFactory(blocker=ana, blocked=cy)
    PostFactory(author=bo, content="by bo")
    PostFactory(author=cy, content="by blocked cy")
    client.force_login(ana)
    html = client.get("/explore/").content.decode()
    assert "by bo" in html and "by blocked cy" not in html
    assert "Who to follow" in html and "@bo" in html and "@cy" not in html
    assert "New here?" not in html


def test_explore_queries_are_bounded(client, ana, django_assert_max_num_queries):
    busy_posts(UserFactory(), 12)
    client.force_login(ana)
    client.get("/explore/")
    with django_assert_max_num_queries(EXPLORE_MAX_QUERIES):
        response = client.get("/explore/")
    assert len(CARD.findall(response.content.decode())) == 13
    assert client.get("/explore/?page=999").status_code == 200  # a hand-edited page: the last one
    assert client.post("/explore/").status_code == 405


def test_an_empty_home_feed_shows_popular_posts_and_links_to_explore(
    client, ana, bo, follow, django_assert_max_num_queries
):
    busy_posts(bo, 6)
    client.force_login(ana)
    client.get("/")
    with django_assert_max_num_queries(HOME_MAX_QUERIES):
        html = client.get("/").content.decode()
    assert "Popular on socialsite" in html and 'href="/explore/"' in html
    assert len(CARD.findall(html)) == 7
    follow(ana, bo)  # a feed of its own now (the service fans bo's posts in): no popular section
    html = client.get("/").content.decode()
    assert "Popular on socialsite" not in html


def test_the_empty_panels_link_to_explore(client, ana):
    client.force_login(ana)
    assert 'href="/explore/"' in client.get("/search/trends/").content.decode()
    html = client.get("/search/suggestions/", HTTP_HX_REQUEST="true").content.decode()
    assert 'href="/explore/"' in html
    assert 'href="/explore/"' in client.get("/search/").content.decode()  # nothing typed yet


def test_sign_up_leads_to_the_welcome_steps_then_home_and_never_again(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/welcome/"
    popular = UserFactory(username="jazzfan")
    popular.profile.interests.create(name="jazz")
    html = client.get("/welcome/").content.decode()
    assert html.count('type="checkbox" name="interests"') >= 3
    assert 'value="jazz"' in html

    response = client.post("/welcome/", {"interests": ["jazz", "chess", "film"]})
    assert response.status_code == 302 and response["Location"] == "/welcome/people/"
    profile = Profile.objects.get(user__username="newbie")
    assert sorted(profile.interests.values_list("name", flat=True)) == ["chess", "film", "jazz"]

    html = client.get("/welcome/people/").content.decode()
    assert "@jazzfan" in html and "Shares your interests" in html
    assert f'action="/users/{popular.pk}/follow/"' in html
    assert 'name="next" value="/welcome/people/"' in html  # a plain follow comes back here

    response = client.post(f"/users/{popular.pk}/follow/", {"next": "/welcome/people/"})
    assert response.status_code == 302 and response["Location"] == "/welcome/people/"

    response = client.post("/welcome/done/")
    assert response.status_code == 302 and response["Location"] == "/"
    profile.refresh_from_db()
    assert profile.onboarded_at is not None
    assert client.get("/welcome/")["Location"] == "/"
    assert client.get("/welcome/people/")["Location"] == "/"


def test_welcome_refuses_a_name_not_offered_and_needs_a_sign_in(client, ana):
    assert client.get("/welcome/").status_code == 302
    assert client.post("/welcome/done/").status_code == 302
    client.force_login(ana)
    response = client.post("/welcome/", {"interests": ["jazz", "<script>"]})
    assert response.status_code == 200 and "form__errors" in response.content.decode()
    assert not ana.profile.interests.exists()
    assert client.get("/welcome/done/").status_code == 405


def test_skipping_marks_the_profile_onboarded(client, ana):
    client.force_login(ana)
    assert client.post("/welcome/done/")["Location"] == "/"
    assert client.get("/welcome/")["Location"] == "/"


def test_more_interests_than_a_profile_holds_is_a_form_error(client, ana, settings):
    client.force_login(ana)
    response = client.post("/welcome/", {"interests": settings.ONBOARDING_INTERESTS[:21]})
    assert response.status_code == 200 and "At most 20 interests." in response.content.decode()
    assert not ana.profile.interests.exists()


def test_welcome_people_queries_are_bounded(client, ana, follow, django_assert_max_num_queries):
    from accounts import services as accounts_services

    accounts_services.interests_set(user=ana, names=["jazz"])
    for n in range(15):
        person = UserFactory(username=f"jazz{n}")
        accounts_services.interests_set(user=person, names=["jazz"])
        if n < 3:
            follow(ana, person)
            follow(person, UserFactory(username=f"friend{n}"))
    client.force_login(ana)
    client.get("/welcome/people/")
    with django_assert_max_num_queries(12):
        html = client.get("/welcome/people/").content.decode()
    assert html.count('data-follow-state="none"') == 12
    assert "Followed by jazz0" in html  # friends of friends first
