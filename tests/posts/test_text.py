from html.parser import HTMLParser

import pytest

from posts import text


class Elements(HTMLParser):
    """The tags and attributes a browser would build from the HTML."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_safe(html):
    for tag, attrs in Elements(html).found:
        assert tag in {"a", "br"}, html
        assert set(attrs) <= {"href", "rel", "target"}, html
        if tag == "a":
            assert attrs["href"].startswith(("http://", "https://", "/tags/", "/u/")), html


class Named:
    def __init__(self, username):
        self.username = username


USERS = {"bob": Named("Bob")}


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "<a href='javascript:alert(1)'>x</a>",
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)>",
        "<b onmouseover=alert(1)>bold</b>",
    ],
)
def test_no_user_html_survives(payload):
    html = text.render(payload, USERS)
    assert Elements(html).found == []
    assert "&lt;" in html


def test_javascript_urls_never_become_links():
    html = text.render("javascript:alert(1) and JAVASCRIPT://%0aalert(1) data:text/html,<b>x</b>", {})
    assert "<a" not in html
    assert_safe(html)


def test_urls_are_links_with_safe_rel():
    html = text.render("see https://example.com/a?b=1&c=2 now", {})
    assert html == (
        'see <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener ugc" target="_blank">'
        "https://example.com/a?b=1&amp;c=2</a> now"
    )
    assert text.first_url("first example.org then https://x.test/") == "http://example.org"


def test_url_with_markup_after_it_stays_escaped():
    html = text.render('https://example.com/"onmouseover="alert(1) <b>x</b> @bob #tag', USERS)
    assert_safe(html)
    assert [tag for tag, _ in Elements(html).found] == ["a", "a", "a"]
    assert "onmouseover" not in Elements(html).found[0][1]


def test_newlines_become_br():
    assert text.render("one\ntwo\r\nthree", {}) == "one<br>two<br>three"


def test_hashtags_are_normalized_and_linked():
    assert text.hashtags("#Café #CAFÉ #ＣＡＦÉ #cafe #日本語 #a_b1 x#no") == ["café", "cafe", "日本語", "a_b1"]
    assert text.render("#Hello", {}) == '<a href="/tags/hello/">#Hello</a>'
    assert text.hashtags("#" + "a" * 101) == []
    assert text.hashtags("#" + "a" * 100) == ["a" * 100]


def test_mentions_link_only_known_users():
    html = text.render("hi @BOB and @nobody.", USERS)
    assert html == 'hi <a href="/u/Bob/">@BOB</a> and @nobody.'
    assert text.mentions("@Bob @bob @x.y. mail@example.com") == ["bob", "x.y"]


def test_emoji_and_unicode_pass_through():
    html = text.render("😀 héllo #emoji😀 ✨", {})
    assert html == '😀 héllo <a href="/tags/emoji/">#emoji</a>😀 ✨'


def test_empty():
    assert text.render("", {}) == ""
    assert text.tokenize(None) == []
