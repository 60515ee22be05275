"""fetch_preview against a real HTTP server on 127.0.0.1 (let through by the test-only allow list)."""

import pytest

from posts.link_preview.errors import PreviewError, PreviewTimeout
from posts.link_preview.fetching import MAX_BODY_BYTES, fetch_preview

LOCAL = ["127.0.0.1"]  # what the tests let through; everything else stays refused


def fetch(url, allow_private=LOCAL):
    return fetch_preview(url, allow_private=allow_private)


def test_a_page_with_open_graph_tags(page_server):
    url = page_server.url("/page")
    assert fetch(url) == {
        "title": 'The "real" title & more',
        "description": "What the page is about.",
        "site_name": "Example Site",
        "image": page_server.url("/img/card.png"),
        "url": url,
    }
    assert page_server.hits == [("/page", f"127.0.0.1:{page_server.port}")]


def test_plain_fallbacks_gzip_and_charsets(page_server):
    plain = fetch(page_server.url("/plain"))
    assert plain["title"] == "Café & bar"
    assert plain["description"] == "Only a meta description."
    assert plain["site_name"] == "127.0.0.1"
    assert fetch(page_server.url("/gzip"))["title"] == 'The "real" title & more'
    assert fetch(page_server.url("/latin1"))["title"] == "Café crème"


def test_the_server_is_refused_without_the_allow_list(page_server, settings):
    settings.LINK_PREVIEW_ALLOW_PRIVATE = False
    with pytest.raises(PreviewError) as refused:
        fetch_preview(page_server.url("/page"))
    assert refused.value.reason == "private_address"
    assert page_server.hits == []  # refused before connecting


def test_the_setting_is_the_default_for_allow_private(page_server, settings):
    settings.LINK_PREVIEW_ALLOW_PRIVATE = True
    assert fetch_preview(page_server.url("/page"))["site_name"] == "Example Site"


def test_three_redirects_are_followed_and_a_fourth_is_refused(page_server):
    result = fetch(page_server.url("/hops/3"))
    assert result["title"] == 'The "real" title & more'
    assert result["url"] == page_server.url("/hops/3")  # the link that was asked for
    assert page_server.paths() == ["/hops/3", "/hops/2", "/hops/1", "/hops/0"]

    with pytest.raises(PreviewError) as refused:
        fetch(page_server.url("/hops/4"))
    assert refused.value.reason == "too_many_redirects"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.0.0.1/", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://[::1]/", "private_address"),
        ("http://[::ffff:127.0.0.1]/", "private_address"),
        ("http://127.0.0.2/", "private_address"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme"),
    ],
)
def test_a_redirect_to_a_private_address_or_another_scheme_is_refused(page_server, target, reason):
    with pytest.raises(PreviewError) as refused:
        fetch(page_server.url(f"/to?url={target}"))
    assert refused.value.reason == reason
    assert page_server.paths() == ["/to"]


def test_a_redirect_is_vetted_again_by_name(page_server, fake_dns):
    fake_dns({"internal.example": ["192.168.10.20"]})
    with pytest.raises(PreviewError) as refused:
        fetch(page_server.url(f"/to?url=http://internal.example:{page_server.port}/page"))
    assert refused.value.reason == "private_address"


def test_the_vetted_address_is_the_one_connected_to(page_server, fake_dns):
    """DNS rebinding: the name resolves once; a later answer never reaches the connection."""
    answers = iter([["127.0.0.1"]])

    def rebinding():
        return next(answers, ["10.0.0.1"])  # every later lookup would point inside

    lookups = fake_dns({"rebind.example": rebinding})
    result = fetch(f"http://rebind.example:{page_server.port}/page")
    assert result["title"] == 'The "real" title & more'
    assert lookups == ["rebind.example"]
    # The request went to the vetted IP and still named the site in its Host header.
    assert page_server.hits == [("/page", f"rebind.example:{page_server.port}")]


def test_the_body_is_cut_at_the_size_cap(page_server):
    result = fetch(page_server.url("/big"))
    assert result["title"] == "Big page"
    assert result["description"] == ""  # its og:description sits after the first MB
    assert MAX_BODY_BYTES == 512 * 1024


@pytest.mark.parametrize(
    ("path", "reason"), [("/json", "not_html"), ("/untyped", "not_html"), ("/missing", "http_404")]
)
def test_only_successful_html_is_read(page_server, path, reason):
    with pytest.raises(PreviewError) as refused:
        fetch(page_server.url(path))
    assert refused.value.reason == reason


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_site_ends_in_a_timeout(page_server, path):
    """No answer at all (read timeout), or a byte at a time (the total deadline)."""
    with pytest.raises(PreviewTimeout) as slow:
        fetch(page_server.url(path))
    assert slow.value.reason == "timeout"


def test_a_closed_port_is_a_connection_error(page_server):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PreviewError) as refused:
        fetch(f"http://127.0.0.1:{port}/")
    assert refused.value.reason == "connection"
