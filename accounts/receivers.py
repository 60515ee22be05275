"""A password change anywhere (the settings page, a reset link, the admin, manage.py
changepassword) ends the account's other sign-ins at once; any saved or deleted user row leaves
the auth cache (accounts/user_cache.py); a follow request made, approved, rejected or withdrawn
drops its target's cached count; a saved or deleted profile drops its cached display name.
Sign-ups through allauth's pages and sign-ins (success or failure, web or API) are counted for
/metrics (the API's sign-up in `user_register`, its JWT sign-ins in `accounts.api.views`)."""

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import selectors, services, user_cache
from accounts.models import FollowRequest, Profile, User
from socialsite import metrics, safe_cache


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


def _via(request):
    return "api" if request is not None and request.path.startswith("/api/") else "web"


@receiver(user_signed_up)
def signed_up(sender, request, user, **kwargs):
    metrics.SIGNUPS.labels("social" if kwargs.get("sociallogin") else "web").inc()


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):
    metrics.LOGINS.labels(_via(request), "success").inc()  # a session: the web's pages (the API's are JWTs)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    metrics.LOGINS.labels(_via(request), "failure").inc()
