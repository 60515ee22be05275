"""Home page cards (posts.cards): a body cached per post version, buttons made for each viewer."""

import re

import pytest
from django.template.loader import render_to_string

from accounts import services as account_services
from feeds.views import PAGE_SIZE
from posts import services
from posts.models import Post
from posts.selectors import with_payload
from tests.factories import UserFactory
from tests.posts.factories import busy_posts

pytestmark = pytest.mark.django_db

ARTICLE = re.compile(r'<article class="card post".*?</article>', re.S)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _normal(html):
    return " ".join(CSRF.sub("csrf", html).split())


def _articles(response):
    return [_normal(card) for card in ARTICLE.findall(response.content.decode())]


@pytest.fixture
def reader(user, client, django_capture_on_commit_callbacks):
    """`user` following a busy author (posts of every shape, shares among them) and the friend they quote."""
    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=author, content="for followers", visibility="followers")  # no Share button
        friend = busy_posts(author, 6)
        services.share_create(user=author, post_id=Post.objects.filter(author=friend).get().pk)  # a repost
        for followed in (author, friend):
            account_services.follow_create(follower=user, followed_user_id=followed.pk)
        services.like_create(user=user, post_id=Post.objects.filter(author=author).first().pk)
        services.bookmark_add(user=user, post_id=Post.objects.filter(author=author).first().pk)
    client.force_login(user)
    return author


def test_cards_are_the_posts_own_markup(client, user, reader):
    response = client.get("/")
    cards = _articles(response)
    ids = re.findall(r'data-post-id="([^"]+)"', response.content.decode())
    assert len(cards) == 9
    assert any("post-action__static" in card for card in cards) and any("data-share-state" in card for card in cards)
    assert any('data-bookmark-state="saved"' in card for card in cards)
    posts = {str(p.pk): p for p in with_payload(Post.objects.filter(pk__in=ids), user)}
    request = response.wsgi_request
    for pk, card in zip(ids, cards, strict=True):
        whole = render_to_string("posts/_post.html", {"post": posts[pk], "user": user}, request=request)
        assert card == _normal(whole)
    # Served from the cache, the same.
    assert _articles(client.get("/")) == cards


def test_a_warm_page_reads_no_post_objects(client, user, reader, django_assert_max_num_queries):
    client.get("/")
    with django_assert_max_num_queries(PAGE_SIZE) as queries:
        client.get("/")
    assert not [q for q in queries.captured_queries if 'FROM "posts_media"' in q["sql"]]


def test_cards_follow_changes(client, user, reader, other_user, django_capture_on_commit_callbacks):
    first = Post.objects.filter(author=reader, shared_post__isnull=True).latest("created_at")
    client.get("/")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(post=first, editor=reader, content="edited words")
        services.like_create(user=other_user, post_id=first.pk)
        account_services.profile_update(user=reader, display_name="Renamed Person")
    html = client.get("/").content.decode()
    card = next(c for c in ARTICLE.findall(html) if f'data-post-id="{first.pk}"' in c)
    assert "edited words" in card and "· edited" in card and "Renamed Person" in card
    assert '<span class="post-action__count" data-count="likes">1</span>' in card
    assert 'aria-pressed="false"' in card  # other_user's like, not the reader's
    # The viewer's own like shows at once, from the row: the body was cached before it.
    services.like_create(user=user, post_id=first.pk)
    card = next(c for c in ARTICLE.findall(client.get("/").content.decode()) if f'data-post-id="{first.pk}"' in c)
    assert 'aria-pressed="true"' in card and 'data-count="likes">2<' in card


def test_one_cached_body_serves_viewers_with_their_own_buttons(client, user, reader, other_user):
    client.get("/")  # the reader caches the bodies
    account_services.follow_create(follower=other_user, followed_user_id=reader.pk)
    client.force_login(other_user)
    html = client.get("/").content.decode()
    assert 'aria-pressed="true"' not in html  # the reader's like is theirs
    assert "Report" in html
    client.force_login(reader)
    own = client.get("/").content.decode()
    reader_cards = [c for c in ARTICLE.findall(own) if "post by @" + reader.username in c]
    assert not reader_cards  # no Report on one's own posts
