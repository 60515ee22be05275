"""Reporting posts, comments and accounts through POST/GET /api/v1/reports."""

import uuid

import pytest
import yaml

from accounts import services as account_services
from posts import moderation, services
from posts.api.reports import ReportRateThrottle
from posts.models import Post, Report
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports"


def report(client, target_type, target_id, reason="spam", **extra):
    return client.post(
        REPORTS, {"target_type": target_type, "target_id": str(target_id), "reason": reason, **extra}, format="json"
    )


@pytest.fixture
def targets(post, comment, author):
    return {"post": post, "comment": comment, "user": author}


@pytest.mark.parametrize("target_type", ["post", "comment", "user"])
def test_report_each_target_type(client_for, reporter, targets, target_type):
    target = targets[target_type]
    response = report(client_for(reporter), target_type, target.pk, reason="harassment", details="  rude  ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "target_type", "target_id", "reason", "status", "created_at"}
    assert body["target_type"] == target_type and body["target_id"] == str(target.pk)
    assert body["reason"] == "harassment" and body["status"] == "open"
    saved = Report.objects.get(pk=body["id"])
    assert saved.reporter == reporter and getattr(saved, f"{target_type}_id") == target.pk
    assert saved.details == "rude"


@pytest.mark.parametrize("target_type", ["post", "comment", "user"])
def test_repeated_open_report_returns_the_same_report(client_for, reporter, targets, target_type):
    client = client_for(reporter)
    first = report(client, target_type, targets[target_type].pk)
    again = report(client, target_type, targets[target_type].pk, reason="other")
    assert again.status_code == 200 and again.json() == first.json()
    assert Report.objects.count() == 1


def test_a_resolved_report_lets_the_reporter_report_again(client_for, reporter, post, moderator_user):
    client = client_for(reporter)
    first = report(client, "post", post.pk).json()
    moderation.dismiss_report(moderator=moderator_user, report=Report.objects.get(pk=first["id"]), reason="fine")
    again = report(client, "post", post.pk)
    assert again.status_code == 201 and again.json()["id"] != first["id"]


def test_invisible_targets_are_not_found(client_for, reporter, post, comment, author):
    client = client_for(reporter)
    hidden_author = UserFactory(private=True)
    private_post = services.post_create(author=hidden_author, content_type="text", content="followers only")
    assert_error(report(client, "post", private_post.pk), 404, "not_found")
    account_services.block_create(blocker=author, blocked_user_id=reporter.pk)
    # The author blocks the reporter: their account, post and the comment under their post are gone.
    assert_error(report(client, "user", author.pk), 404, "not_found")
    assert_error(report(client, "post", post.pk), 404, "not_found")
    assert_error(report(client, "comment", comment.pk), 404, "not_found")


def test_deleted_or_unknown_targets_are_not_found(client_for, reporter, post):
    Post.objects.filter(pk=post.pk).update(deleted_at=post.created_at)
    client = client_for(reporter)
    assert_error(report(client, "post", post.pk), 404, "not_found")
    for target_type in ("post", "comment", "user"):
        assert_error(report(client, target_type, uuid.uuid4()), 404, "not_found")


@pytest.mark.parametrize("target_id", ["not-an-id", "123", "me"])
@pytest.mark.parametrize("target_type", ["post", "comment", "user"])
def test_malformed_ids_are_not_found(client_for, reporter, target_type, target_id):
    assert_error(report(client_for(reporter), target_type, target_id), 404, "not_found")


def test_own_content_cannot_be_reported(client_for, author, post):
    own_comment = services.comment_create(author=author, post_id=post.pk, content="mine")
    client = client_for(author)
    for target_type, target in (("post", post), ("comment", own_comment), ("user", author)):
        assert_error(report(client, target_type, target.pk), 400, "own_content")
    assert not Report.objects.exists()


def test_bad_input_is_refused(client_for, reporter, post):
    client = client_for(reporter)
    error = assert_error(report(client, "post", post.pk, reason="boring"), 400, "invalid")
    assert "reason" in error["fields"]
    error = assert_error(report(client, "hashtag", post.pk), 400, "invalid")
    assert "target_type" in error["fields"]
    error = assert_error(report(client, "post", post.pk, details="x" * 1001), 400, "invalid")
    assert "details" in error["fields"]
    assert not Report.objects.exists()


def test_anonymous_callers_are_refused(api, post):
    assert_error(report(api, "post", post.pk), 401)
    assert_error(api.get(REPORTS), 401)


def test_list_shows_only_my_reports_newest_first(client_for, reporter, post, comment, author):
    client = client_for(reporter)
    ids = [report(client, t, target.pk).json()["id"] for t, target in (("post", post), ("comment", comment))]
    report(client_for(UserFactory()), "post", post.pk)
    response = client.get(REPORTS, {"limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [r["id"] for r in body["results"]] == [ids[1]] and body["next"]
    second = client.get(body["next"]).json()
    assert [r["id"] for r in second["results"]] == [ids[0]] and second["results"][0]["target_type"] == "post"


def test_list_runs_a_bounded_number_of_queries(client_for, reporter, django_assert_max_num_queries):
    client = client_for(reporter)
    for _ in range(5):
        target = services.post_create(author=UserFactory(), content_type="text", content="hi")
        report(client, "post", target.pk)
    with django_assert_max_num_queries(4):
        assert len(client.get(REPORTS).json()["results"]) == 5


def test_reports_are_throttled_per_user(client_for, reporter, post, comment, author, monkeypatch):
    monkeypatch.setattr(ReportRateThrottle, "THROTTLE_RATES", {"report": "2/h"})
    client = client_for(reporter)
    assert report(client, "post", post.pk).status_code == 201
    assert report(client, "comment", comment.pk).status_code == 201
    assert_error(report(client, "user", author.pk), 429, "throttled")
    assert client.get(REPORTS).status_code == 200  # reading isn't limited by the report rate
    assert report(client_for(UserFactory()), "user", author.pk).status_code == 201  # per user


def test_schema_documents_the_report_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/reports"])
    props = schema["components"]["schemas"]["ReportCreateInputRequest"]["properties"]
    assert {"target_type", "target_id", "reason", "details"} <= set(props)
