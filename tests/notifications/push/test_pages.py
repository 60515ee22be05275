"""The notification settings page's push button: it carries the VAPID key, or none when push is off."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_settings_page_has_the_button_and_the_key(client, ana, vapid, settings):
    client.force_login(ana)
    page = client.get("/settings/notifications/").content.decode()
    assert "data-push-toggle" in page and f'data-vapid-key="{vapid["public_key"]}"' in page
    assert 'data-subscriptions-url="/api/v1/push/subscriptions"' in page
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    assert 'data-vapid-key=""' in client.get("/settings/notifications/").content.decode()
