"""The installable app's files: the manifest, the service worker at the root, the offline page."""

import json

import pytest

from socialsite import pwa

pytestmark = pytest.mark.django_db


def test_the_manifest_is_served_with_its_type(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"] and manifest["background_color"]
    icons = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert icons == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:  # each is a PNG of the size it says
        image = client.get(icon["src"])
        body = b"".join(image.streaming_content) if image.streaming else image.content
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_the_service_worker_is_served_from_the_root_with_its_settings(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/" and response["Cache-Control"] == "no-cache"
    first_line, code = response.content.decode().split("\n", 1)
    config = json.loads(first_line.removeprefix("self.SW_CONFIG = ").removesuffix(";"))
    assert config["offline"] == "/offline/" and "/static/css/site.css" in config["precache"]
    assert len(config["version"]) == 16
    assert 'addEventListener("push"' in code and 'addEventListener("notificationclick"' in code
    assert client.post("/sw.js").status_code == 405


def test_the_cache_version_follows_the_precached_files(settings, tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body { color: red; }")
    pwa._worker_config.cache_clear()
    before = pwa._worker_config()["version"]
    pwa._worker_config.cache_clear()
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]  # a deploy with a new site.css
    try:
        assert pwa._worker_config()["version"] != before
    finally:
        pwa._worker_config.cache_clear()


def test_the_offline_page_is_the_same_for_everyone(client, ana):
    anonymous = client.get("/offline/")
    client.force_login(ana)
    signed_in = client.get("/offline/")
    assert anonymous.status_code == signed_in.status_code == 200
    assert b"You're offline" in signed_in.content and b"ana" not in signed_in.content
    assert "csrfmiddlewaretoken" not in signed_in.content.decode()


def test_every_page_links_the_manifest_and_the_worker(client, ana):
    client.force_login(ana)
    page = client.get("/").content.decode()
    assert page.count('rel="manifest"') == 1 and '<meta name="theme-color"' in page
    assert "/static/js/pwa.js" in page


def test_development_serves_the_worker_as_edited(client, settings, tmp_path):
    """With DEBUG on, an edited static file changes the worker at once (no restart)."""
    settings.DEBUG = True
    before = client.get("/sw.js").content
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body { color: blue; }")
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    try:
        assert client.get("/sw.js").content != before
    finally:
        pwa._worker_config.cache_clear()
        pwa._worker_script.cache_clear()
