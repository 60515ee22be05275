import pytest
from django.core.management import call_command

from media.models import Media
from posts.models import Comment, Like, Post

pytestmark = pytest.mark.django_db


def test_demo_posts_go_through_the_real_pipeline_and_run_once(capsys, django_capture_on_commit_callbacks):
    call_command("load_demo", users=6, seed=7)
    with django_capture_on_commit_callbacks(execute=True):  # media processing runs after commit
        call_command("load_demo_posts", seed=7)
    posts = Post.objects.all()
    assert posts.exists()
    assert set(posts.values_list("status", flat=True)) == {"published"}
    assert not Media.objects.exclude(status="ready").exists()
    for post in posts.filter(shared_post__isnull=True):
        assert post.likes_count == Like.objects.filter(post=post).count()
        assert post.comments_count == Comment.objects.filter(post=post, deleted_at__isnull=True).count()
    before = (Post.objects.count(), Like.objects.count(), Comment.objects.count())
    call_command("load_demo_posts", seed=7)
    assert (Post.objects.count(), Like.objects.count(), Comment.objects.count()) == before
    assert "0 new posts" in capsys.readouterr().out


def test_without_demo_accounts_it_says_what_to_run(capsys):
    call_command("load_demo_posts")
    assert "load_demo" in capsys.readouterr().err
