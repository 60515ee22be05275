"""Sign-in by a code sent by SMS, for the API: allauth's login by code, with its state in the cache.

The web signs in by code through allauth's own views, which keep the code in the session
(allauth's LoginCodeVerificationProcess). An app has no session, so here the same process keeps
its state in the shared cache under the phone number. Everything else is the web's: allauth's
limits (`request_login_code`, per number and per address, shared with the web form), its
timeout and attempt count (`ACCOUNT_LOGIN_BY_CODE_TIMEOUT`, `..._MAX_ATTEMPTS`), its code
format, and the adapter's account lookup and texts (accounts/adapters.py, accounts/sms.py).

- The answer to a request is the same whether an account uses the number or not; a number no
  account uses gets the web's "no account uses this number" text instead of a code.
- A code is good for one sign-in: the first right answer deletes it, so a replay finds nothing.
- Every answer counts against the code, the right one included, with an atomic counter: past
  ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS the code is burnt, however many answers arrive at once.
- A new request replaces the number's code (and its count).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.code_verification import AbstractCodeVerificationProcess
from allauth.core import ratelimit
from allauth.core.internal.cryptokit import compare_user_code
from django.conf import settings
from django.core.cache import cache

from accounts.sms import SMSRejected
from socialsite.api.throttling import parse_rate
from socialsite.errors import ServiceError, UnauthorizedError
from socialsite.ratelimit import RateLimitedError

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import User

INVALID = "The code is wrong, expired or already used. Ask for a new one."


def _key(phone: str) -> str:
    return f"accounts:login-code:{phone}"


class PhoneLoginCode(AbstractCodeVerificationProcess):
    """allauth's code verification process for one phone number, persisted in the cache."""

    def __init__(self, *, phone: str, state: dict[str, Any] | None = None) -> None:
        self.phone = phone
        super().__init__(
            state=state or {},
            timeout=account_settings.LOGIN_BY_CODE_TIMEOUT,
            max_attempts=account_settings.LOGIN_BY_CODE_MAX_ATTEMPTS,
        )

    @property
    def _attempts_key(self) -> str:
        return f"{_key(self.phone)}:attempts:{self.state['nonce']}"

    @classmethod
    def load(cls, phone: str) -> PhoneLoginCode | None:
        state = cache.get(_key(phone))
        return cls(phone=phone, state=state) if state else None

    def send(self) -> None:
        adapter = get_adapter()
        user = adapter.get_user_by_phone(self.phone)  # active accounts only
        if user is None:
            self.abort()
            adapter.send_unknown_account_sms(self.phone)
            return
        self.state = self.initial_state(user=user, phone=self.phone)
        self.state["nonce"] = secrets.token_hex(8)
        self.state["code"] = adapter.generate_phone_verification_code(user=user, phone=self.phone)
        self.persist()
        adapter.send_verification_code_sms(user=user, phone=self.phone, code=self.state["code"])

    def persist(self) -> None:
        cache.set(_key(self.phone), self.state, timeout=self.timeout)

    def abort(self) -> None:
        cache.delete(_key(self.phone))

    def attempt(self) -> bool:
        """Count one answer; False once the code's attempts are spent (then it is burnt)."""
        cache.add(self._attempts_key, 0, timeout=self.timeout)
        try:
            used = cache.incr(self._attempts_key)
        except ValueError:  # the counter expired between add and incr: so did the code
            used = self.max_attempts + 1
        if used > self.max_attempts:
            self.abort()
            return False
        return True

    def record_invalid_attempt(self) -> bool:
        if cache.get(self._attempts_key, 0) >= self.max_attempts:
            self.abort()
            return False
        return True

    def claim(self) -> bool:
        """Spend the code; True for exactly one caller."""
        return bool(cache.delete(_key(self.phone)))


def login_code_request(*, request: HttpRequest, phone: str) -> None:
    """Text a sign-in code to `phone` if an active account uses it (else a notice); 429 when the
    number or the address asked too often. The caller's answer must not depend on which."""
    if not ratelimit.consume(request, action="request_login_code", key=phone.lower()):
        raise RateLimitedError(
            "Too many codes asked for; try again later.",
            retry_after=parse_rate(settings.THROTTLE_PHONE_CODE)[1],
        )
    try:
        PhoneLoginCode(phone=phone).send()
    except SMSRejected as exc:  # the provider's answer about this number
        raise ServiceError("This number can't receive texts.", fields={"phone": [str(exc)[:200]]}) from exc


def login_code_verify(*, phone: str, code: str) -> User:
    """The active account that `code`, texted to `phone`, signs in (the code is spent), or 401
    `invalid_code` (wrong, expired, replayed, burnt, or never sent)."""
    process = PhoneLoginCode.load(phone)
    if process is None or not process.attempt():
        raise UnauthorizedError(INVALID, code="invalid_code")
    if not process.is_valid():  # older than the timeout (the cache entry may outlive it a little)
        process.abort()
        raise UnauthorizedError(INVALID, code="invalid_code")
    if not compare_user_code(actual=code, expected=process.code):
        process.record_invalid_attempt()
        raise UnauthorizedError(INVALID, code="invalid_code")
    if not process.claim():  # a concurrent right answer won
        raise UnauthorizedError(INVALID, code="invalid_code")
    user: User | None = process.user  # allauth is untyped: what initial_state(user=...) was given
    if user is None or not user.is_active or str(user.phone) != phone:
        raise UnauthorizedError(INVALID, code="invalid_code")
    if not user.phone_verified:  # it just received our text, as on the web
        get_adapter().set_phone_verified(user, phone)
    return user
