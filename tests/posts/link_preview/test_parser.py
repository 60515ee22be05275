"""The HTML side: og tags, fallbacks, entities, charsets and hostile markup, on real strings."""

import pytest

from posts.link_preview.parsing import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    build_preview,
    clean_text,
    parse_html,
)

PAGE_URL = "https://www.example.com/articles/1"


def card(html, *, charset=None, page_url=PAGE_URL):
    return build_preview(parse_html(html, charset=charset), page_url=page_url, url=page_url)


def test_open_graph_tags_win_over_the_plain_fallbacks():
    html = """<html><head><title>Plain</title>
    <meta name="description" content="Plain description">
    <meta property="og:title" content="OG title">
    <meta property="og:description" content="OG description">
    <meta property="og:site_name" content="Example">
    <meta property="og:image" content="https://cdn.example.com/card.jpg">
    </head></html>"""
    assert card(html) == {
        "title": "OG title",
        "description": "OG description",
        "site_name": "Example",
        "image": "https://cdn.example.com/card.jpg",
        "url": PAGE_URL,
    }


def test_fallbacks_title_meta_description_and_host_name():
    html = "<title>Just a title</title><meta name=description content='Described plainly'>"
    assert card(html) == {
        "title": "Just a title",
        "description": "Described plainly",
        "site_name": "example.com",
        "image": "",
        "url": PAGE_URL,
    }


def test_attribute_names_and_keys_are_case_insensitive_and_the_first_value_wins():
    html = """<META PROPERTY="OG:TITLE" CONTENT="first"><meta property="og:title" content="second">
    <meta content="by name" name="Description">"""
    result = card(html)
    assert result["title"] == "first"
    assert result["description"] == "by name"


def test_entities_are_decoded_to_plain_text():
    html = """<title>Tom &amp; Jerry &lt;3 &#8212; &eacute;t&eacute; &#x1F600;</title>
    <meta property="og:description" content="&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;">"""
    result = card(html)
    assert result["title"] == "Tom & Jerry <3 — été 😀"
    # Plain text: a tag spelled with entities stays text; the template escapes it on output.
    assert result["description"] == '"quoted" & <b>bold</b>'


def test_markup_inside_the_title_is_not_kept_as_markup():
    result = card("<title>Hello <b>bold</b> <script>alert(1)</script> world</title>")
    assert "<" not in result["title"]
    assert result["title"].startswith("Hello bold")


def test_whitespace_and_control_characters_are_collapsed():
    html = "<title>\n\t  Lots\u0000 of \r\n  space\u200b\x07 here  </title>"
    assert card(html)["title"] == "Lots of space here"


def test_lengths_are_capped():
    html = f"<title>{'t' * 5000}</title><meta name=description content='{'d ' * 3000}'>"
    result = card(html)
    assert len(result["title"]) == TITLE_MAX
    assert result["title"].endswith("…")
    assert len(result["description"]) <= DESCRIPTION_MAX
    assert result["description"].endswith("…")


def test_clean_text():
    assert clean_text(None, 10) == ""
    assert clean_text("  a  b  ", 10) == "a b"
    assert clean_text("abcdefghijkl", 5) == "abcd…"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("/img/a.png", "https://www.example.com/img/a.png"),
        ("b.png", "https://www.example.com/articles/b.png"),
        ("//cdn.example.com/c.png", "https://cdn.example.com/c.png"),
        ("http://other.example/d.png", "http://other.example/d.png"),
        ("javascript:alert(1)", ""),
        ("data:image/png;base64,AAAA", ""),
        ("file:///etc/passwd", ""),
        ("https://x.example/a b.png", ""),
        ("", ""),
    ],
)
def test_image_urls_are_made_absolute_and_only_http(image, expected):
    html = f'<meta property="og:image" content="{image}">'
    assert card(html)["image"] == expected


def test_the_charset_comes_from_the_header_then_the_meta_tag():
    latin1 = "<meta charset='iso-8859-1'><title>Café</title>".encode("latin-1")
    assert card(latin1)["title"] == "Café"
    utf8 = "<title>Café</title>".encode()
    assert card(utf8)["title"] == "Café"
    assert card("<title>Café</title>".encode("cp1252"), charset="windows-1252")["title"] == "Café"
    # An unknown charset is ignored, and undecodable bytes become replacement characters.
    assert card(b"<title>ok \xff</title>", charset="no-such-charset")["title"] == "ok \ufffd"


def test_malformed_markup_keeps_what_can_be_read():
    html = """<html><head <title>broken<title>Still found</title
    <meta property="og:description" content="unterminated
    """
    result = card(html)
    assert isinstance(result["title"], str)
    assert isinstance(result["description"], str)


@pytest.mark.parametrize(
    "html",
    [
        "<title>" + "x" * 1_000_000,  # never closed
        "<div>" * 50_000 + "<title>deep</title>",
        "<!--" + "-" * 100_000,
        "<![CDATA[" + "<" * 100_000,
        "<meta " + 'a="b" ' * 20_000 + ">",
        "\x00\xff<title>\ud800</title>",
        "",
    ],
)
def test_huge_and_hostile_markup_returns_a_card(html):
    result = card(html)
    assert set(result) == {"title", "description", "site_name", "image", "url"}
    assert len(result["title"]) <= TITLE_MAX


def test_a_title_split_by_the_parser_is_joined():
    assert card("<title>a &amp; b &amp; c</title>")["title"] == "a & b & c"


def test_only_the_first_title_counts():
    assert card("<title>First</title><svg><title>Icon</title></svg>")["title"] == "First"
