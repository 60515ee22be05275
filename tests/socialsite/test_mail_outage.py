"""SMTP down: sign-up still succeeds and its email waits in the outbox; once the breaker is open
no connection is even tried; with SMTP back and the reset time passed, the relay sends every
waiting email. SMTP is a closed port, then a small local SMTP server on that port."""

import pytest
from django.utils import timezone

from socialsite import breakers, outbox
from socialsite.models import OutboxMessage
from tests.accounts.auth.test_email import PASSWORD
from tests.outage import SMTPStandIn, closed_port, half_open_soon

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_breakers")]
SEND_EMAIL = "socialsite.tasks.send_email"


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "socialsite.mail.OutboxEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # sign-ups in a hurry
    servers = []
    yield servers
    for server in servers:
        server.close()


def register(api, name, on_commit):
    with on_commit(execute=True):
        response = api.post(
            "/api/v1/auth/register",
            {"email": f"{name}@example.com", "username": name, "password": PASSWORD},
            format="json",
        )
    assert response.status_code == 201, response.content  # the request succeeds whatever SMTP does
    return response


def test_sign_up_succeeds_with_smtp_down_and_its_email_goes_out_later(
    api, settings, smtp, django_capture_on_commit_callbacks
):
    for n in range(settings.BREAKER_FAIL_MAX):
        register(api, f"eve{n}", django_capture_on_commit_callbacks)
    assert breakers.is_open("smtp")
    waiting = OutboxMessage.objects.filter(task=SEND_EMAIL)
    assert waiting.count() == settings.BREAKER_FAIL_MAX
    errors = list(waiting.values_list("last_error", flat=True))
    assert all("ConnectionRefusedError" in error or "CircuitBreakerError" in error for error in errors)

    # SMTP is back, the breaker still open: the next email doesn't even connect.
    server = SMTPStandIn(port=settings.EMAIL_PORT)
    smtp.append(server)
    register(api, "fay", django_capture_on_commit_callbacks)
    assert server.connections == 0
    assert waiting.count() == settings.BREAKER_FAIL_MAX + 1

    half_open_soon(settings)
    waiting.update(due_at=timezone.now())  # the relay's backoff, skipped
    outbox.relay()
    assert waiting.count() == 0
    assert len(server.messages) == settings.BREAKER_FAIL_MAX + 1
    assert any(b"fay@example.com" in message for message in server.messages)
    assert breakers.breaker("smtp").current_state == "closed"
