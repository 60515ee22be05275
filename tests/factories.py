import functools

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Block, Follow, FollowRequest, Mute

PASSWORD = "correct-horse-battery-staple"


@functools.cache
def _password_hash(hashers):
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    last_active = factory.LazyFunction(timezone.now)  # fan-out skips users idle for days

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The manager creates the profile, as every sign-up path does.
        user = model_class.objects.create_user(*args, **kwargs)
        # Argon2 is slow by design; hash the shared test password once per run.
        user.password = _password_hash(tuple(settings.PASSWORD_HASHERS))
        user.save(update_fields=["password"])
        return user

    @factory.post_generation
    def private(user, create, extracted, **kwargs):
        if extracted:
            user.profile.is_private = True
            user.profile.save(update_fields=["is_private"])


class FollowFactory(factory.django.DjangoModelFactory):
    """A raw follow row; counters are the services' job, so tests that need them use services."""

    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followed = factory.SubFactory(UserFactory)


class FollowRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowRequest

    requester = factory.SubFactory(UserFactory)
    target = factory.SubFactory(UserFactory, private=True)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


class MuteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mute

    muter = factory.SubFactory(UserFactory)
    muted = factory.SubFactory(UserFactory)
