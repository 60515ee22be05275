"""A page's card from its HTML: og tags first, then the plain fallbacks, as capped plain text."""

import codecs
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

ALLOWED_SCHEMES = ("http", "https")
TITLE_MAX = 200
DESCRIPTION_MAX = 500
SITE_NAME_MAX = 100
IMAGE_URL_MAX = 2000


class _MetaParser(HTMLParser):
    """Collects <title>, <meta name/property=... content=...> and <meta charset>."""

    TEXT_LIMIT = 4000  # characters kept from the title element, before the final cap
    WANTED = {"og:title", "og:description", "og:site_name", "og:image", "og:image:url", "description"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta = {}
        self.charset = None
        self.title_parts = []
        self.title_length = 0
        self.in_title = False
        self.title_done = False

    def handle_starttag(self, tag, attrs):
        if tag == "title" and not self.title_done:
            self.in_title = True
        elif tag == "meta":
            values = {}
            for name, value in attrs:
                if name and value is not None and name.lower() not in values:
                    values[name.lower()] = value
            if "charset" in values and self.charset is None:
                self.charset = values["charset"].strip()
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in self.WANTED and "content" in values and key not in self.meta:
                self.meta[key] = values["content"]

    def handle_startendtag(self, tag, attrs):
        if tag == "title":  # <title/> has no text
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "title" and self.in_title:
            self.in_title = False
            self.title_done = True

    def handle_data(self, data):
        if self.in_title and self.title_length < self.TEXT_LIMIT:
            self.title_parts.append(data)
            self.title_length += len(data)

    @property
    def title(self):
        return "".join(self.title_parts)


def _parse_text(text):
    parser = _MetaParser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # very broken markup; keep what was read
        pass
    return parser


def _codec(name):
    try:
        return codecs.lookup(name.strip()).name if name else None
    except LookupError:
        return None


def parse_html(body, *, charset=None):
    """The page's title and meta values, from bytes (or already decoded text)."""
    if isinstance(body, str):
        parser = _parse_text(body)
    else:
        encoding = _codec(charset) or "utf-8"
        parser = _parse_text(body.decode(encoding, errors="replace"))
        declared = _codec(parser.charset)
        if not _codec(charset) and declared and declared != encoding:
            parser = _parse_text(body.decode(declared, errors="replace"))
    meta = dict(parser.meta)
    meta["title"] = parser.title
    return meta


def clean_text(value, limit):
    """Plain text on one line: control characters dropped, whitespace collapsed, capped."""
    if not value:
        return ""
    printable = "".join(ch if ch.isprintable() else " " for ch in str(value))
    collapsed = " ".join(printable.split())
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 1].rstrip() + "…"
    return collapsed


def _clean_image(value, page_url):
    value = (value or "").strip()
    if not value:
        return ""
    absolute = urljoin(page_url, value)
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname or len(absolute) > IMAGE_URL_MAX:
        return ""
    if any(not ch.isprintable() or ch.isspace() for ch in absolute):
        return ""
    return absolute


def build_preview(meta, *, page_url, url):
    """The card from parsed values: og tags first, then the plain HTML fallbacks."""
    title = clean_text(meta.get("og:title"), TITLE_MAX) or clean_text(meta.get("title"), TITLE_MAX)
    description = clean_text(meta.get("og:description"), DESCRIPTION_MAX) or clean_text(
        meta.get("description"), DESCRIPTION_MAX
    )
    site_name = clean_text(meta.get("og:site_name"), SITE_NAME_MAX)
    if not site_name:
        site_name = (urlsplit(page_url).hostname or "").removeprefix("www.")[:SITE_NAME_MAX]
    image = _clean_image(meta.get("og:image") or meta.get("og:image:url"), page_url)
    return {"title": title, "description": description, "site_name": site_name, "image": image, "url": url}
