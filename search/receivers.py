"""Hooks from posts and accounts: what a backend keeps of its own (SQLite's FTS5 table of
posts, the database backends' completion names, Elasticsearch's documents) gets a task through
the outbox; PostgreSQL's generated tsvector column needs none.

Posts come through the explicit signals posts.services sends. Users are re-indexed on
`post_save` of User and Profile, like a cache invalidation: sign-up, profile edits, privacy,
deactivation and admin edits all save those rows, and the receiver does nothing but queue a
task. Follower counts change with QuerySet.update(), so follows come through accounts'
relationship_changed.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Profile, User
from accounts.signals import relationship_changed
from posts.signals import post_edited, post_published, post_withdrawn
from search import tasks
from search.backends import backend
from socialsite import outbox

# What the user documents (search.documents.UserDocument) and completion names hold; other saves
# (last_login, password, avatar, bio ...) don't touch the index.
USER_FIELDS = {"username", "is_active", "date_joined"}
PROFILE_FIELDS = {"display_name", "is_private", "followers_count", "user"}


@receiver(post_published)
@receiver(post_edited)
def _index(sender, post, **kwargs):
    if backend().indexes_posts:
        outbox.enqueue(tasks.index_post, str(post.pk))


@receiver(post_withdrawn)
def _remove(sender, post, **kwargs):
    if backend().indexes_posts:
        outbox.enqueue(tasks.remove_post, str(post.pk))


def _index_user(user_id):
    outbox.enqueue(tasks.index_user, str(user_id))


def _concerns(update_fields, fields):
    return update_fields is None or bool(fields & set(update_fields))


@receiver(post_save, sender=User)
def _user_saved(sender, instance, update_fields=None, raw=False, **kwargs):
    if not raw and _concerns(update_fields, USER_FIELDS):
        _index_user(instance.pk)


@receiver(post_delete, sender=User)
def _user_deleted(sender, instance, **kwargs):
    _index_user(instance.pk)  # gone from the database: the task removes their documents


@receiver(post_save, sender=Profile)
def _profile_saved(sender, instance, update_fields=None, raw=False, **kwargs):
    if not raw and _concerns(update_fields, PROFILE_FIELDS):
        _index_user(instance.user_id)


@receiver(relationship_changed)
def _followers_changed(sender, kind, other_id, **kwargs):
    if kind in ("follow", "unfollow"):
        _index_user(other_id)  # their followers_count ranks user search and autocomplete
