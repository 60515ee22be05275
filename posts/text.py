"""Plain-text content of posts and comments: parsing and safe rendering.

Content is stored as the user typed it. `render` turns it into HTML where everything is
escaped, URLs, #hashtags and @mentions of existing users become links, and the result
goes through nh3 with a two-tag allow-list, so no user HTML survives.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nh3
from linkify_it import LinkifyIt

if TYPE_CHECKING:
    from accounts.models import User

POST_MAX_CHARS = 2200
COMMENT_MAX_CHARS = 1000
HASHTAG_MAX_CHARS = 100
USERNAME_MAX_CHARS = 30
LINK_REL = "nofollow noopener ugc"

_linkify = LinkifyIt()
# A hashtag starts after a non-word character; letters, digits and underscore, any script.
_HASHTAG = re.compile(r"(?<![\w&#/])#(\w+)")
# Usernames follow accounts' UnicodeUsernameValidator ([\w.@+-]); "@" can't continue a mention.
_MENTION = re.compile(r"(?<![\w@/])@(\w[\w.+-]*)")
_ALLOWED_TAGS = {"a", "br"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "rel", "target"}}
_URL_SCHEMES = {"http", "https"}


def normalize_hashtag(name: str) -> str:
    """NFKC, then casefold: `#Café`, `#CAFÉ` and `#ｃａｆé` are one tag."""
    return unicodedata.normalize("NFKC", name).casefold()


@dataclass(frozen=True)
class Token:
    kind: str  # "text" | "url" | "hashtag" | "mention"
    text: str  # the characters as typed
    value: str = ""  # url, normalized hashtag name, or lower-cased username


def _web_url(match: Any) -> str | None:  # a linkify_it Match (untyped)
    url: str = match.url
    if match.schema == "":  # fuzzy link such as example.com/page
        url = "http://" + match.text if not url.lower().startswith(("http://", "https://")) else url
    if not url.lower().startswith(("http://", "https://")):
        return None
    return url


def _split_words(text: str) -> list[Token]:
    """Hashtag and mention tokens in a run of text that holds no URL."""
    found: list[tuple[int, int, Token]] = []
    for match in _HASHTAG.finditer(text):
        name = normalize_hashtag(match.group(1))
        if len(name) <= HASHTAG_MAX_CHARS:
            found.append((match.start(), match.end(), Token("hashtag", match.group(0), name)))
    for match in _MENTION.finditer(text):
        username = match.group(1).rstrip(".")
        if len(username) <= USERNAME_MAX_CHARS:
            end = match.start() + 1 + len(username)
            if not any(start < end and match.start() < stop for start, stop, _ in found):
                found.append((match.start(), end, Token("mention", text[match.start() : end], username.lower())))
    found.sort(key=lambda item: item[0])
    tokens: list[Token] = []
    position = 0
    for start, end, token in found:
        if start < position:
            continue
        if start > position:
            tokens.append(Token("text", text[position:start]))
        tokens.append(token)
        position = end
    if position < len(text):
        tokens.append(Token("text", text[position:]))
    return tokens


def tokenize(text: str | None) -> list[Token]:
    """The content as a list of tokens, in order; joined, their `text` is the input."""
    text = text or ""
    tokens: list[Token] = []
    position = 0
    for match in _linkify.match(text) or []:
        url = _web_url(match)
        if url is None:
            continue
        if match.index > position:
            tokens += _split_words(text[position : match.index])
        tokens.append(Token("url", text[match.index : match.last_index], url))
        position = match.last_index
    if position < len(text):
        tokens += _split_words(text[position:])
    return tokens


def hashtags(text: str | None) -> list[str]:
    """Normalized hashtag names, first occurrence order, without duplicates."""
    return list(dict.fromkeys(t.value for t in tokenize(text) if t.kind == "hashtag"))


def mentions(text: str | None) -> list[str]:
    """Lower-cased usernames mentioned with @, first occurrence order, without duplicates."""
    return list(dict.fromkeys(t.value for t in tokenize(text) if t.kind == "mention"))


def urls(text: str | None) -> list[str]:
    return [t.value for t in tokenize(text) if t.kind == "url"]


def first_url(text: str | None) -> str:
    found = urls(text)
    return found[0] if found else ""


def _link(href: str, label: str, external: bool = False) -> str:
    extra = f' rel="{LINK_REL}" target="_blank"' if external else ""
    return f'<a href="{escape(href, quote=True)}"{extra}>{escape(label)}</a>'


def render(text: str | None, mentioned_users_by_lower_username: Mapping[str, User] | None = None) -> str:
    """Safe HTML for `text`; mentions link only when their user is in the mapping."""
    users = mentioned_users_by_lower_username or {}
    parts: list[str] = []
    for token in tokenize(text):
        if token.kind == "url":
            parts.append(_link(token.value, token.text, external=True))
        elif token.kind == "hashtag":
            parts.append(_link(f"/tags/{quote(token.value)}/", token.text))
        elif token.kind == "mention" and token.value in users:
            parts.append(_link(f"/u/{quote(users[token.value].username)}/", token.text))
        else:
            parts.append(escape(token.text))
    html = "".join(parts).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel=None,
    )


SPOILER_MAX_CHARS = 200
_NOT_PRINTED = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, format marks (bidi overrides), surrogates, unassigned
_JOINERS = {"\u200c", "\u200d"}  # format marks that emoji and scripts need (ZWNJ, ZWJ)


def plain_line(value: str | None) -> str:
    """One line of plain text (a content warning): control and format characters dropped (a
    right-to-left override can't flip what follows), any run of whitespace made one space.
    Markup stays as typed: it is text, escaped wherever it is shown, never HTML."""
    kept = []
    for char in value or "":
        if char.isspace():
            kept.append(" ")
        elif char in _JOINERS or unicodedata.category(char) not in _NOT_PRINTED:
            kept.append(char)
    return " ".join("".join(kept).split())
