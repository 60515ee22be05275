"""Second factors for tests, made with allauth.mfa's own classes and code arithmetic."""

import contextlib
import datetime
import time

from allauth.account.models import EmailAddress
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from freezegun import freeze_time

from tests.factories import UserFactory


def totp_code(secret, at=None):
    """The authenticator app's code for `secret` now (or at `at`, a Unix time)."""
    return format_hotp_value(hotp_value(secret, int(time.time() if at is None else at) // 30))


def verified_user(**kwargs):
    user = UserFactory(**kwargs)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


class MFAUser:
    def __init__(self, user, secret, recovery_codes):
        self.user, self.secret, self.recovery_codes = user, secret, recovery_codes

    def code(self, at=None):
        return totp_code(self.secret, at)


def with_totp(user):
    """Turn on an authenticator app and recovery codes for `user`, as the settings page does."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).generate_codes()
    return MFAUser(user, secret, codes)


@contextlib.contextmanager
def mid_totp_period():
    """Freeze the clock mid-way through the last TOTP period: a code can't roll over between two
    requests of a test, and the past, since a token issued "in the future" is refused."""
    now = time.time()
    with freeze_time(datetime.datetime.fromtimestamp(now - now % 30 - 15, datetime.UTC)) as clock:
        yield clock
