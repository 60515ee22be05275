"""The notification settings page's push button: it carries the VAPID key, or none when push is off."""

import pytest

from notifications import push

pytestmark = pytest.mark.django_db


def test_the_settings_page_has_the_button_and_the_key(client, ana, vapid, settings):
    client.force_login(ana)
    page = client.get("/settings/notifications/").content.decode()
    assert "data-push-toggle" in page and f'data-vapid-key="{vapid["public_key"]}"' in page
    assert 'data-subscriptions-url="/api/v1/push/subscriptions"' in page
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    assert 'data-vapid-key=""' in client.get("/settings/notifications/").content.decode()


def test_the_system_check_catches_a_mismatched_pair(settings):
    from notifications.checks import webpush_keys

    one, other = push.keys(), push.keys()
    settings.WEBPUSH_VAPID_PUBLIC_KEY, settings.WEBPUSH_VAPID_PRIVATE_KEY = one["public_key"], one["private_key"]
    assert webpush_keys(None) == []
    settings.WEBPUSH_VAPID_PUBLIC_KEY = other["public_key"]
    assert [error.id for error in webpush_keys(None)] == ["notifications.E002"]
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "not a key"
    assert [error.id for error in webpush_keys(None)] == ["notifications.E001"]
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert [error.id for error in webpush_keys(None)] == ["notifications.W001"]
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    assert webpush_keys(None) == []
