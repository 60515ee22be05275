"""The SMS provider down: asking for a sign-in code answers 503 in the envelope, at once once the
breaker is open; a number the provider refuses is the user's problem (400, not counted); the
provider back, codes go out again by themselves. Only the provider's HTTP edge is faked
(`responses`, Twilio's Messages API)."""

import pytest
import responses

from accounts.sms import TwilioSMSBackend
from socialsite import breakers
from tests.outage import half_open_soon, timed
from tests.socialsite.api.helpers import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_breakers")]
REQUEST = "/api/v1/auth/login-code"
TWILIO = TwilioSMSBackend.URL.format(sid="AC123")


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "accounts.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.SMS_FROM = "AC123", "token", "+15005550006"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ask(api, n):
    return api.post(REQUEST, {"phone": f"+1415555{n:04d}"}, format="json")


def test_codes_refused_at_once_while_the_provider_is_down_and_sent_once_it_is_back(api, settings, twilio):
    twilio.add(responses.POST, TWILIO, status=500, json={"message": "internal error"})
    for n in range(settings.BREAKER_FAIL_MAX):
        assert_error(ask(api, n), 503, "sms_unavailable")
    assert len(twilio.calls) == settings.BREAKER_FAIL_MAX
    assert breakers.is_open("sms")

    open_ms = []
    with timed(open_ms):
        response = ask(api, 100)
    assert_error(response, 503, "sms_unavailable")
    assert int(response["Retry-After"]) >= 1
    assert len(twilio.calls) == settings.BREAKER_FAIL_MAX  # the provider wasn't asked
    print(f"code request while open: {open_ms[0]:.0f} ms")

    twilio.replace(responses.POST, TWILIO, status=201, json={"sid": "SM1", "status": "queued"})
    half_open_soon(settings)
    assert ask(api, 200).status_code == 202
    assert len(twilio.calls) == settings.BREAKER_FAIL_MAX + 1
    assert breakers.breaker("sms").current_state == "closed"


def test_a_number_the_provider_refuses_does_not_open_the_breaker(api, settings, twilio):
    twilio.add(responses.POST, TWILIO, status=400, json={"code": 21211, "message": "The 'To' number is not valid."})
    for n in range(settings.BREAKER_FAIL_MAX + 1):
        error = assert_error(ask(api, n), 400)
        assert "phone" in error["fields"]
    assert len(twilio.calls) == settings.BREAKER_FAIL_MAX + 1
    assert breakers.breaker("sms").current_state == "closed"


def test_the_web_code_page_answers_503_with_the_reason_while_the_provider_is_down(client, settings, twilio):
    """allauth's own view texts the code: the provider down gives the 503 page, not the 500 page."""
    twilio.add(responses.POST, TWILIO, status=500, json={"message": "internal error"})
    response = client.post("/accounts/login/code/", {"phone": "+14155550123"})
    assert response.status_code == 503
    assert b"Text messages can&#x27;t be sent right now" in response.content
    assert int(response["Retry-After"]) >= 1
    assert len(twilio.calls) == 1
