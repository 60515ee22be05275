"""REST: the caller's own notifications, flat and grouped, reads, preferences and bells."""

import uuid

import pytest

from notifications.models import Notification
from posts import services as posts_services
from tests.factories import UserFactory
from tests.notifications.conftest import of

pytestmark = pytest.mark.django_db
Type = Notification.Type


@pytest.fixture
def liked(ana, post_by, act):
    """ana's post liked by three people, and one follow: 4 notifications, 2 lines."""
    post = post_by(ana)
    likers = [UserFactory(username=f"liker{n}") for n in range(3)]
    for liker in likers:
        act(posts_services.like_create, user=liker, post_id=post.pk)
    return post, likers


def test_flat_list_is_own_newest_first_with_filters(ana, bo, client_for, liked, follow):
    follow(bo, ana)
    body = client_for(ana).get("/api/v1/users/me/notifications").json()
    assert [row["type"] for row in body["results"]] == ["follow", "like", "like", "like"]
    first = body["results"][0]
    assert first["actor"]["username"] == "bo" and first["text"] == "bo followed you"
    assert first["url"] == "/u/bo/" and first["read_status"] is False
    assert set(body) == {"results", "next", "previous"}
    likes = client_for(ana).get(f"/api/v1/users/{ana.pk}/notifications?type=like&read_status=false").json()
    assert len(likes["results"]) == 3
    assert client_for(ana).get("/api/v1/users/me/notifications?read_status=true").json()["results"] == []


def test_paging_is_cursor_based(ana, client_for, liked):
    page = client_for(ana).get("/api/v1/users/me/notifications?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client_for(ana).get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None


@pytest.mark.parametrize(
    "query, field",
    [("type=likes", "type"), ("read_status=maybe", "read_status"), ("colour=red", "colour")],
)
def test_bad_filters_are_400(ana, client_for, query, field):
    response = client_for(ana).get(f"/api/v1/users/me/notifications?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["fields"]


def test_someone_elses_notifications_are_refused(ana, bo, client_for, liked, api):
    for path in (f"/api/v1/users/{ana.pk}/notifications", f"/api/v1/users/{ana.pk}/notifications/groups"):
        response = client_for(bo).get(path)
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_owner"
        assert api.get(path).status_code == 401


def test_grouped_view(ana, bo, client_for, liked, follow):
    follow(bo, ana)
    body = client_for(ana).get("/api/v1/users/me/notifications/groups").json()
    follow_line, like_line = body["results"]
    assert follow_line["text"] == "bo followed you" and follow_line["count"] == 1
    assert like_line["count"] == 3 and like_line["unread_count"] == 3
    assert like_line["text"] == "liker2, liker1 and liker0 liked your post"
    assert [actor["username"] for actor in like_line["actors"]] == ["liker2", "liker1", "liker0"]
    assert like_line["latest"]["type"] == "like"


def test_a_big_group_names_a_few_and_counts_the_rest(ana, post_by, act, client_for):
    post = post_by(ana)
    for n in range(5):
        act(posts_services.like_create, user=UserFactory(username=f"fan{n}"), post_id=post.pk)
    [line] = client_for(ana).get("/api/v1/users/me/notifications/groups").json()["results"]
    assert line["text"] == "fan4, fan3, fan2 and 2 others liked your post"


def test_read_one_all_and_a_group(ana, bo, client_for, liked, follow, act):
    follow(bo, ana)
    client = client_for(ana)
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread_count": 4}
    one = of(ana, Type.FOLLOW)[0]
    response = client.post(f"/api/v1/notifications/{one.pk}/read")
    assert response.status_code == 200 and response.json()["read_status"] is True
    assert client.post(f"/api/v1/notifications/{one.pk}/read").status_code == 200  # again: idempotent
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread_count": 3}
    group_key = of(ana, Type.LIKE)[0].group_key
    response = client.post("/api/v1/notifications/read-all", {"group_key": group_key}, format="json")
    assert response.json() == {"marked": 3, "unread_count": 0}
    assert client.post("/api/v1/notifications/read-all", {}, format="json").json() == {"marked": 0, "unread_count": 0}


def test_marking_someone_elses_notification_is_not_found(ana, bo, client_for, liked):
    theirs = of(ana)[0]
    for notification_id in (theirs.pk, uuid.uuid4(), "not-an-id"):
        response = client_for(bo).post(f"/api/v1/notifications/{notification_id}/read")
        assert response.status_code == 404 and response.json()["error"]["code"] == "notification_not_found"
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    # read-all with ana's group_key marks nothing of hers.
    client_for(bo).post("/api/v1/notifications/read-all", {"group_key": theirs.group_key}, format="json")
    assert Notification.objects.filter(recipient=ana, read_at__isnull=False).count() == 0


def test_preferences_get_and_put(ana, client_for):
    client = client_for(ana)
    # Every type has a switch but a moderator's notice, which always reaches you.
    switchable = [kind for kind in Type.values if kind != Type.MODERATION]
    assert client.get("/api/v1/notifications/preferences").json() == dict.fromkeys(switchable, True)
    response = client.put("/api/v1/notifications/preferences", {"like": False}, format="json")
    assert response.status_code == 200 and response.json()["like"] is False and response.json()["share"] is True
    assert client.put("/api/v1/notifications/preferences", {}, format="json").json()["like"] is False  # no change
    for bad in ({"likes": False}, {"like": "no"}, ["like"], {"moderation": False}):
        response = client.put("/api/v1/notifications/preferences", bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/notifications/preferences").json()["like"] is False


def test_bell_on_and_off(ana, bo, client_for, follow):
    path = f"/api/v1/users/me/bells/{ana.pk}"
    response = client_for(bo).put(path)
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_following"
    follow(bo, ana)
    assert client_for(bo).put(path).json() == {"user_id": str(ana.pk), "bell": True}
    assert client_for(bo).put(path).json()["bell"] is True  # again: idempotent
    assert client_for(bo).delete(path).json()["bell"] is False
    assert client_for(bo).put(f"/api/v1/users/{ana.pk}/bells/{ana.pk}").status_code == 403  # not your list
    assert client_for(bo).put(f"/api/v1/users/me/bells/{uuid.uuid4()}").status_code == 404
    assert client_for(ana).put(f"/api/v1/users/me/bells/{ana.pk}").status_code == 400  # your own


def test_deleted_posts_and_blocked_actors_drop_out_of_the_list(ana, bo, client_for, post_by, act):
    post = post_by(ana)
    act(posts_services.like_create, user=bo, post_id=post.pk)
    assert len(client_for(ana).get("/api/v1/users/me/notifications").json()["results"]) == 1
    act(posts_services.post_delete, post=post, actor=ana)
    assert client_for(ana).get("/api/v1/users/me/notifications").json()["results"] == []
    assert client_for(ana).get("/api/v1/notifications/unread-count").json() == {"unread_count": 0}


def test_lists_run_a_bounded_number_of_queries(ana, client_for, post_by, act, django_assert_max_num_queries):
    for n in range(4):
        post = post_by(ana, content=f"p{n}")
        for m in range(3):
            act(posts_services.like_create, user=UserFactory(), post_id=post.pk)
    client = client_for(ana)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/users/me/notifications?limit=50").json()["results"]) == 12
    with django_assert_max_num_queries(7):
        assert len(client.get("/api/v1/users/me/notifications/groups?limit=50").json()["results"]) == 4


def test_a_block_with_the_posts_author_hides_a_mention_on_it(ana, bo, cy, client_for, post_by, act):
    from accounts import services as accounts_services

    post = post_by(bo)
    act(posts_services.comment_create, author=cy, post_id=post.pk, content="look @ana")
    assert [row["type"] for row in client_for(ana).get("/api/v1/users/me/notifications").json()["results"]] == [
        "mention"
    ]
    act(accounts_services.block_create, blocker=ana, blocked_user_id=bo.pk)
    assert client_for(ana).get("/api/v1/users/me/notifications").json()["results"] == []


def test_hidden_comments_drop_out(ana, bo, client_for, post_by, act):
    post = post_by(ana)
    comment = act(posts_services.comment_create, author=bo, post_id=post.pk, content="rude")
    type(comment).objects.filter(pk=comment.pk).update(hidden_at=comment.created_at)  # a moderator hid it
    assert client_for(ana).get("/api/v1/users/me/notifications").json()["results"] == []
