"""The restore drill (`manage.py restore_drill`) as an operator runs it, on a small site seeded
through the services: it passes on an untouched restore, and names what a tampered copy lacks.

PostgreSQL only. The source is this test's database, the restored copy a database of its own
(<test database>_drill, dropped at both ends), the restored side's cache and timelines a
redis-server the test starts: nothing of the machine's shared databases is touched.
"""

import io
import shutil

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from accounts import services as accounts_services
from feeds import selectors
from feeds.models import Celebrity
from feeds.store import author_key, get_store, home_key
from media import services as media_services
from messaging import services as messaging_services
from messaging.models import Message
from notifications.models import Notification
from posts import services as posts_services
from posts.models import Comment, Like, Post
from tests.conftest import image_bytes, require
from tests.e2e.conftest import test_database_url
from tests.faults.engines import RedisServer

# Real commits: the services' on-commit work (fan-out, notifications, media) has to run, and the
# drill's processes have to see the rows.
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "drill-Correct-Horse-7431"


@pytest.fixture
def postgres_tools():
    if connection.vendor != "postgresql":
        pytest.skip("the restore drill needs PostgreSQL (DATABASE_URL)")
    require(
        shutil.which("pg_dump") and shutil.which("pg_restore"),
        "PostgreSQL's client tools are not installed (apt-get install postgresql-client)",
    )


@pytest.fixture
def drill_redis(tmp_path, postgres_tools):
    require(shutil.which("redis-server"), "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.close()


def _drop(name):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")


@pytest.fixture
def target(postgres_tools):
    name = f"{connection.settings_dict['NAME']}_drill"
    _drop(name)  # left by an interrupted run
    yield name
    _drop(name)


@pytest.fixture
def site(postgres_tools, threshold):
    """Four people, follows, posts pushed into timelines and pulled from a celebrity's, an image,
    a share, likes, a comment thread, a direct conversation and the notifications they made."""
    ana, bo, cy, dee = (
        accounts_services.user_register(email=f"{name}@example.com", password=PASSWORD, username=name)
        for name in ("ana", "bo", "cy", "dee")
    )
    for follower, followed in ((ana, bo), (ana, cy), (cy, bo), (dee, bo), (bo, cy), (bo, ana)):
        accounts_services.follow_create(follower=follower, followed_user_id=followed.pk)
    assert Celebrity.objects.filter(author=bo).exists()  # 3 followers: pulled at read time
    # As a visit does: they are active, and their timelines (and bo's) exist, so posts go into them.
    accounts_services.users_touch_last_active(user_ids=[ana.pk, bo.pk, cy.pk, dee.pk])
    for user in (ana, bo, dee):
        selectors.home_feed(viewer=user)
    posts = [
        posts_services.post_create(author=bo, content_type="text", content=f"bo's post #{n} about #drills")
        for n in range(3)
    ]
    posts.append(
        posts_services.post_create(author=bo, content_type="text", content="friends only", visibility="followers")
    )
    photo = media_services.media_create(
        owner=cy, upload=SimpleUploadedFile("lake.png", image_bytes(), content_type="image/png"), alt_text="a lake"
    )
    posts.append(posts_services.post_create(author=cy, content="the lake, @ana", media_ids=[photo.pk]))
    posts.append(posts_services.post_create(author=cy, content_type="text", content="cy again"))
    posts.append(posts_services.share_create(user=cy, post_id=posts[0].pk, content="read this")[0])
    posts.append(posts_services.post_create(author=ana, content_type="text", content="ana's own"))
    for user, post in ((ana, posts[0]), (ana, posts[4]), (cy, posts[0]), (dee, posts[1])):
        posts_services.like_create(user=user, post_id=post.pk)
    comment = posts_services.comment_create(author=ana, post_id=posts[0].pk, content="nice one @bo")
    posts_services.comment_create(author=bo, post_id=posts[0].pk, content="thanks", parent_comment_id=comment.pk)
    message, _ = messaging_services.message_send(sender=ana, receiver_id=bo.pk, content="lunch?")
    messaging_services.message_send(sender=bo, conversation_id=message.conversation_id, content="yes, at one")

    assert Post.objects.filter(status=Post.Status.PUBLISHED).count() == len(posts)
    assert (Like.objects.count(), Comment.objects.count(), Message.objects.count()) == (4, 2, 2)
    assert Notification.objects.filter(recipient=bo).count() >= 4  # follows, likes, comments, a message
    store = get_store()
    pushed = {entry.post_id for entry in store.range_many([home_key(ana.pk)], count=50)[0]}
    assert {str(posts[4].pk), str(posts[5].pk), str(posts[7].pk)} <= pushed  # cy's, by fan-out; her own
    pulled = {entry.post_id for entry in store.range_many([author_key(bo.pk)], count=50)[0]}
    assert {str(post.pk) for post in posts[:4]} <= pulled
    return {"ana": ana, "bo": bo, "posts": posts}


def drill(*args):
    """The command, here (its restored side runs in a process of its own); (stdout, stderr, error)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("restore_drill", *args, stdout=out, stderr=err)
    except CommandError as failed:
        return out.getvalue(), err.getvalue(), str(failed)
    return out.getvalue(), err.getvalue(), None


def test_the_drill_passes_on_a_restore_and_reports_a_row_deleted_from_it(site, target, drill_redis):
    users = ["--user=ana", "--user=bo", "--user=dee"]
    out, err, error = drill(*users, f"--target={target}", f"--redis-url={drill_redis.url(3)}", "--keep")

    assert error is None, out + err + error
    assert "restore drill passed" in out
    assert "restored copy: migrate --check: every migration applied" in out
    assert "restored copy: reindex: postgres: indexed 4 completion names." in out
    assert "home feed of ana, 8 posts" in out  # bo's four (pulled), cy's three, her own
    # The restored side's timelines are in the drill's Redis, made by the reads (rebuilt).
    timelines = drill_redis.client(3)
    assert timelines.exists(home_key(site["ana"].pk), author_key(site["bo"].pk)) == 2

    # Tamper with the copy as a broken backup would: one of ana's likes is gone.
    like = Like.objects.get(user=site["ana"], post=site["posts"][4])
    with psycopg.connect(test_database_url().rpartition("/")[0] + f"/{target}") as restored:
        restored.execute("DELETE FROM posts_like WHERE id = %s", [like.pk])
    out, err, error = drill(*users, f"--target={target}", f"--redis-url={drill_redis.url(3)}", "--no-restore")

    # Two, not three: the first run's timelines were dropped from the drill's Redis and rebuilt again.
    assert error == f"restore drill failed: 2 difference(s) between {connection.settings_dict['NAME']} and {target}"
    assert "DIFFERENT rows of posts_like: 4 in the source, 3 restored" in err
    assert "DIFFERENT home feed of ana: post " in err and "(differs in liked_by_me)" in err
    assert "home feed of bo" not in err  # bo's feed doesn't show ana's like
    assert Like.objects.count() == 4  # the source is as it was


@pytest.mark.django_db
def test_the_drill_refuses_to_drop_keys_in_the_sites_own_redis(postgres_tools, settings):
    require(settings.REDIS_URL, "REDIS_URL is not set")
    with pytest.raises(CommandError, match="--redis-url is the site's REDIS_URL"):
        call_command("restore_drill", f"--redis-url={settings.REDIS_URL}")


@pytest.mark.django_db
def test_the_drill_says_it_needs_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("the embedded default's answer (SQLite)")
    with pytest.raises(CommandError, match="The restore drill needs PostgreSQL"):
        call_command("restore_drill")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--user=nobody"], "No active user named nobody"),
        (["--target={source}"], "The target must be a new database, not the source"),
        (["--target=postgres"], "Database postgres exists: drop it, or pass --no-restore"),
        (["--target={source}_never_made", "--no-restore"], "--no-restore: database .* does not exist"),
    ],
)
def test_the_drill_refuses_what_would_overwrite_or_compare_nothing(postgres_tools, args, refusal):
    """Before any dump: no user to compare, the source or an existing database as the target, or
    nothing kept to compare again."""
    source = connection.settings_dict["NAME"]
    with pytest.raises(CommandError, match=refusal):
        call_command("restore_drill", *[arg.format(source=source) for arg in args])
