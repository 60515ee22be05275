"""socialsite.breakers: fail fast after BREAKER_FAIL_MAX consecutive failures, a trial call after
BREAKER_RESET_SECONDS, the user's errors uncounted, the state and opens exported for Prometheus,
WARNING when it opens and INFO when it closes. The dependency is a local HTTP server."""

import logging
import threading

import pytest
import requests
from prometheus_client import REGISTRY

from socialsite import breakers
from tests.outage import HTTPStandIn, half_open_soon, timed

pytestmark = pytest.mark.usefixtures("fast_breakers")


def state(name):
    return REGISTRY.get_sample_value("socialsite_breaker_state", {"name": name})


def opens(name):
    return REGISTRY.get_sample_value("socialsite_breaker_opens_total", {"name": name}) or 0


@pytest.fixture
def server():
    stand_in = HTTPStandIn(lambda method, path, body: (503, {}, b"down"))
    yield stand_in
    stand_in.close()


def fetch(url):
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.status_code


def test_opens_fails_fast_half_opens_and_closes(server, settings, caplog):
    breaker = breakers.breaker("test_http_cycle", exclude=[breakers.client_error])
    opened_before = opens("test_http_cycle")
    assert state("test_http_cycle") == 0
    caplog.set_level(logging.INFO, logger="socialsite.breakers")

    for _ in range(settings.BREAKER_FAIL_MAX - 1):
        with pytest.raises(requests.HTTPError):
            breaker.call(fetch, server.url)
    with pytest.raises(breakers.CircuitBreakerError):  # the call that trips it
        breaker.call(fetch, server.url)
    assert server.requests == settings.BREAKER_FAIL_MAX
    assert state("test_http_cycle") == 1 and opens("test_http_cycle") == opened_before + 1
    assert [r.levelname for r in caplog.records if "test_http_cycle opened" in r.getMessage()] == ["WARNING"]

    failing_fast_ms = []
    for _ in range(20):
        with timed(failing_fast_ms), pytest.raises(breakers.CircuitBreakerError):
            breaker.call(fetch, server.url)
    assert server.requests == settings.BREAKER_FAIL_MAX  # not one connection while open
    assert 29 <= breakers.retry_after("test_http_cycle") <= 30  # whole seconds, rounded up
    print(f"calls while open: max {max(failing_fast_ms):.3f} ms")

    states_seen = []

    def back(method, path, body):
        states_seen.append(state("test_http_cycle"))  # during the trial call
        return 200, {}, b"ok"

    server.answer = back
    half_open_soon(settings)
    assert not breakers.is_open("test_http_cycle")
    assert breaker.call(fetch, server.url) == 200
    assert states_seen == [2]  # half-open while the trial call ran
    assert state("test_http_cycle") == 0 and breaker.current_state == "closed"
    assert [r.levelname for r in caplog.records if "test_http_cycle closed" in r.getMessage()] == ["INFO"]


def test_a_failed_trial_opens_it_again(server, settings):
    breaker = breakers.breaker("test_http_trial")
    for _ in range(settings.BREAKER_FAIL_MAX):
        with pytest.raises((requests.HTTPError, breakers.CircuitBreakerError)):
            breaker.call(fetch, server.url)
    opened = opens("test_http_trial")
    half_open_soon(settings)
    with pytest.raises(breakers.CircuitBreakerError):
        breaker.call(fetch, server.url)
    assert server.requests == settings.BREAKER_FAIL_MAX + 1  # one trial
    assert state("test_http_trial") == 1 and opens("test_http_trial") == opened + 1


def test_the_users_errors_do_not_count(server, settings):
    server.answer = lambda method, path, body: (404, {}, b"no such thing")
    breaker = breakers.breaker("test_http_users", exclude=[breakers.client_error])
    for _ in range(settings.BREAKER_FAIL_MAX * 2):
        with pytest.raises(requests.HTTPError):
            breaker.call(fetch, server.url)
    assert breaker.current_state == "closed" and breaker.fail_counter == 0


def test_settings_apply_to_breakers_made_before(settings):
    breaker = breakers.breaker("test_http_settings")
    settings.BREAKER_FAIL_MAX, settings.BREAKER_RESET_SECONDS = 7, 12.5
    assert (breaker.fail_max, breaker.reset_timeout) == (7, 12.5)


def test_calls_run_side_by_side():
    """pybreaker's own call() holds a lock for the whole call: two threads of a web process would
    search one after the other. Both calls must be inside at once to pass the barrier."""
    breaker = breakers.breaker("test_http_threads")
    barrier = threading.Barrier(2, timeout=5)
    results = []

    def both_inside():
        results.append(breaker.call(barrier.wait))

    threads = [threading.Thread(target=both_inside) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]  # the barrier's arrival indexes: neither call timed out
