"""A password change anywhere (the settings page, a reset link, the admin, manage.py
changepassword) ends the account's other sign-ins at once; any saved or deleted user row leaves
the auth cache (accounts/user_cache.py); a follow request made, approved, rejected or withdrawn
drops its target's cached count; a saved or deleted profile drops its cached display name."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import selectors, services, user_cache
from accounts.models import FollowRequest, Profile, User
from socialsite import safe_cache


@receiver(post_save, sender=User)
def password_changed(sender, instance, created, **kwargs):
    # AbstractBaseUser keeps the new raw password in _password until its save() returns.
    if not created and getattr(instance, "_password", None) is not None:
        services.user_credentials_changed(user=instance)


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def user_row_changed(sender, instance, **kwargs):
    user_cache.invalidate([instance.pk])


@receiver(post_save, sender=FollowRequest)
@receiver(post_delete, sender=FollowRequest)
def follow_request_changed(sender, instance, **kwargs):
    safe_cache.forget([selectors.follow_request_count_key(instance.target_id)])


@receiver(post_save, sender=Profile)
@receiver(post_delete, sender=Profile)
def profile_changed(sender, instance, **kwargs):
    safe_cache.forget([selectors.display_name_key(instance.user_id)])
