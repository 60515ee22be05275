"""The report page: reporting posts, comments and accounts, and the Report links that lead to it."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from posts import services
from posts.models import Report
from posts.report_views import THANKS

pytestmark = pytest.mark.django_db


def report_url(target_type, target_id):
    return reverse("report", args=[target_type, target_id])


def detail(post):
    return reverse("post_detail", args=[post.pk])


def test_the_form_lists_friendly_reasons_and_a_labelled_details_box(client, user, other_user, make_post):
    post = make_post(other_user, "buy cheap watches")
    client.force_login(user)
    response = client.get(report_url("post", post.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in html
    assert f"Report post by @{other_user.username}" in html and "buy cheap watches" in html
    assert html.count('type="radio" name="reason"') == len(Report.Reason.values)
    for label in ("Spam or scam", "Harassment or bullying", "Self-harm or suicide", "Something else"):
        assert label in html
    assert '<label for="id_details">Details (optional)</label>' in html
    assert 'maxlength="1000"' in html


def test_report_a_post(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)
    response = client.post(report_url("post", post.pk), {"reason": "spam", "details": " sells stuff "}, follow=True)
    assert response.redirect_chain == [(detail(post), 302)]
    assert THANKS in response.content.decode()
    report = Report.objects.get()
    assert (report.reporter, report.post, report.reason, report.details) == (user, post, "spam", "sells stuff")
    assert report.status == Report.Status.OPEN


def test_report_a_comment_goes_back_to_it(client, user, other_user, make_post):
    post = make_post(user)
    comment = services.comment_create(author=other_user, post_id=post.pk, content="rude words")
    client.force_login(user)
    assert "rude words" in client.get(report_url("comment", comment.pk)).content.decode()
    response = client.post(report_url("comment", comment.pk), {"reason": "harassment"})
    assert response.status_code == 302
    assert response.url == detail(post) + f"#comment-{comment.pk}"
    assert THANKS in client.get(response.url).content.decode()
    report = Report.objects.get()
    assert (report.comment, report.post, report.user, report.reason) == (comment, None, None, "harassment")


def test_report_a_user_goes_back_to_the_profile(client, user, other_user):
    client.force_login(user)
    response = client.post(report_url("user", other_user.pk), {"reason": "other", "details": "impersonation"})
    profile = reverse("profile", args=[other_user.username])
    assert response.status_code == 302 and response.url == profile
    assert THANKS in client.get(profile).content.decode()
    assert Report.objects.get().user == other_user


def test_next_is_followed_only_on_this_site(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)
    url = report_url("post", post.pk)
    assert 'name="next" value="/tags/x/"' in client.get(url + "?next=/tags/x/").content.decode()
    response = client.post(url, {"reason": "spam", "next": "/tags/x/"})
    assert response.url == "/tags/x/"
    response = client.post(url, {"reason": "spam", "next": "https://evil.example/"})
    assert response.url == detail(post)


def test_a_repeated_report_does_not_duplicate(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)
    for reason in ("spam", "hate"):
        response = client.post(report_url("post", post.pk), {"reason": reason}, follow=True)
        assert THANKS in response.content.decode()
    assert Report.objects.count() == 1
    assert Report.objects.get().reason == "spam"


@pytest.mark.parametrize("kind", ["post", "comment", "user"])
def test_own_content_shows_the_error(client, user, other_user, make_post, kind):
    post = make_post(user)
    target_id = {
        "post": post.pk,
        "comment": services.comment_create(author=user, post_id=post.pk, content="mine").pk,
        "user": user.pk,
    }[kind]
    client.force_login(user)
    response = client.post(report_url(kind, target_id), {"reason": "spam"})
    html = response.content.decode()
    assert response.status_code == 200
    what = "yourself" if kind == "user" else f"your own {kind}"
    assert f"You can&#x27;t report {what}." in html
    assert 'class="form__errors"' in html
    assert not Report.objects.exists()


def test_invalid_input_is_a_form_error(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)
    url = report_url("post", post.pk)
    html = client.post(url, {"reason": "boring"}).content.decode()
    assert "Select a valid choice" in html
    html = client.post(url, {"reason": "spam", "details": "x" * 1001}).content.decode()
    assert "at most 1000 characters" in html
    assert not Report.objects.exists()


def test_invisible_or_unknown_targets_are_404(client, user, other_user, make_post):
    hidden = make_post(other_user, visibility="followers")
    client.force_login(user)
    assert client.get(report_url("post", hidden.pk)).status_code == 404
    assert client.post(report_url("post", hidden.pk), {"reason": "spam"}).status_code == 404
    assert client.get(report_url("post", "not-a-uuid")).status_code == 404
    assert client.get(report_url("comment", uuid.uuid4())).status_code == 404
    assert client.get(report_url("media", hidden.pk)).status_code == 404

    account_services.block_create(blocker=other_user, blocked_user_id=user.pk)
    assert client.get(report_url("user", other_user.pk)).status_code == 404
    assert client.post(report_url("user", other_user.pk), {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


def test_anonymous_is_sent_to_login(client, other_user, make_post):
    post = make_post(other_user)
    url = report_url("post", post.pk)
    for response in (client.get(url), client.post(url, {"reason": "spam"})):
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert not Report.objects.exists()


def test_csrf_is_enforced(user, other_user, make_post):
    post = make_post(other_user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(report_url("post", post.pk), {"reason": "spam"}).status_code == 403
    assert client.post(report_url("user", other_user.pk), {"reason": "spam"}).status_code == 403
    assert not Report.objects.exists()


def test_report_links_show_for_other_peoples_content_only(client, user, other_user, make_post):
    theirs = make_post(other_user)
    mine = make_post(user)
    their_comment = services.comment_create(author=other_user, post_id=mine.pk, content="hey")
    my_comment = services.comment_create(author=user, post_id=mine.pk, content="hi")
    client.force_login(user)

    html = client.get(detail(theirs)).content.decode()
    assert f'href="{report_url("post", theirs.pk)}"' in html
    html = client.get(detail(mine)).content.decode()
    assert f'href="{report_url("post", mine.pk)}"' not in html
    assert f'href="{report_url("comment", their_comment.pk)}"' in html
    assert f'href="{report_url("comment", my_comment.pk)}"' not in html

    html = client.get(reverse("profile", args=[other_user.username])).content.decode()
    assert f'href="{report_url("user", other_user.pk)}"' in html
    html = client.get(reverse("profile", args=[user.username])).content.decode()
    assert f'href="{report_url("user", user.pk)}"' not in html
    assert 'href="/report/' in client.get(detail(theirs)).content.decode()

    client.logout()
    assert 'href="/report/' not in client.get(detail(theirs)).content.decode()
    assert 'href="/report/' not in client.get(reverse("profile", args=[other_user.username])).content.decode()
