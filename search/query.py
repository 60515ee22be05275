"""What a search asks for, checked once for every backend: the type, the text and the filters.

Anything unknown, malformed or out of range is a ServiceError (400 in the API's envelope), so a
backend only ever sees a valid `Search`.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts import selectors as accounts_selectors
from posts.models import Post
from socialsite.errors import NotFoundError, ServiceError
from socialsite.params import reject_unknown

TYPES = ("post", "user", "hashtag")
PAGING = {"cursor", "limit"}
FILTERS = {
    "post": {"author", "since", "until", "has_media", "content_type"},
    "user": {"followed_by_me"},
    "hashtag": set(),
}


@dataclass(frozen=True)
class Search:
    type: str
    text: str
    author_id: object = None
    since: datetime | None = None
    until: datetime | None = None
    has_media: bool | None = None
    content_type: str | None = None
    followed_by_me: bool | None = None


def _invalid(message, field, problem, code="invalid"):
    return ServiceError(message, code=code, fields={field: [problem]})


def clean_text(value, field="query"):
    """The query as text: control characters (NUL would reach the database) become spaces,
    whitespace runs collapse. Empty or longer than SEARCH_QUERY_MAX is a 400."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in value or "")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise _invalid("Type something to search for.", field, "This field may not be blank.", code="query_required")
    if len(text) > settings.SEARCH_QUERY_MAX:
        raise _invalid(
            f"The query is too long (at most {settings.SEARCH_QUERY_MAX} characters).",
            field,
            f"At most {settings.SEARCH_QUERY_MAX} characters.",
            code="query_too_long",
        )
    return text


def _boolean(params, name):
    value = params[name].lower()
    if value not in ("true", "false"):
        raise _invalid(f"{name} is true or false.", name, "true or false.")
    return value == "true"


def _moment(params, name, end_of_day):
    """An ISO date (the whole day) or date-time; naive ones are in the site's time zone."""
    raw = params[name]
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            if day is None:
                raise ValueError
            moment = datetime.combine(day, time.max if end_of_day else time.min)
    except ValueError:
        raise _invalid(f"{name} is an ISO date or date-time.", name, "An ISO 8601 date or date-time.")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def parse(params, viewer):
    """A Search from query parameters (a QueryDict or dict), or ServiceError."""
    kind = params.get("type", "post")
    if kind not in TYPES:
        raise _invalid("Unknown search type.", "type", f"One of: {', '.join(TYPES)}.")
    allowed = {"query", "type"} | PAGING | FILTERS[kind]
    reject_unknown(params, allowed, f"Unknown filter for type={kind}.", f"Not a filter of type={kind}.")
    found = {"type": kind, "text": clean_text(params.get("query", ""))}
    if "author" in params:
        author = params["author"].removeprefix("@")
        try:
            user = (
                accounts_selectors.user_get_by_username(viewer=viewer, username=author)
                if not re.fullmatch(r"[0-9a-fA-F-]{32,36}", author)
                else accounts_selectors.user_get(viewer=viewer, user_id=author)
            )
        except NotFoundError:
            raise _invalid("No such author.", "author", "No such user.")
        found["author_id"] = user.pk
    if "since" in params:
        found["since"] = _moment(params, "since", end_of_day=False)
    if "until" in params:
        found["until"] = _moment(params, "until", end_of_day=True)
    if found.get("since") and found.get("until") and found["since"] > found["until"]:
        raise _invalid("since is after until.", "since", "Must not be after until.")
    if "has_media" in params:
        found["has_media"] = _boolean(params, "has_media")
    if "content_type" in params:
        if params["content_type"] not in Post.ContentType.values:
            raise _invalid("Unknown content type.", "content_type", f"One of: {', '.join(Post.ContentType.values)}.")
        found["content_type"] = params["content_type"]
    if "followed_by_me" in params:
        if not viewer.is_authenticated:
            raise _invalid("Sign in to filter by whom you follow.", "followed_by_me", "Needs a signed-in caller.")
        found["followed_by_me"] = _boolean(params, "followed_by_me")
    return Search(**found)


# --- Text helpers the backends share -------------------------------------------------------------

_PHRASE = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


def terms(text):
    """(phrases, excluded): each a list of word lists, in the spirit of web search syntax:
    words all match, "a quoted phrase" matches in order, -word excludes. Punctuation is not
    syntax: `' OR 1=1 --` and `title:(a AND b)` are just the words in them."""
    phrases, excluded = [], []
    for match in _PHRASE.finditer(text):
        negated, quoted, bare = match.groups()
        if bare is not None:
            negated, quoted = ("-", bare[1:]) if bare.startswith("-") and len(bare) > 1 else ("", bare)
        words = _WORD.findall(quoted)
        if not words:
            continue
        if negated:
            excluded.append(words)
        elif bare is not None:  # a bare "brown-fox" is two words, not a phrase
            phrases.extend([word] for word in words)
        else:
            phrases.append(words)
    return phrases, excluded


def trigrams(text):
    """pg_trgm's trigrams of `text`: lower-cased words padded with two spaces before and one after."""
    grams = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(a, b):
    """pg_trgm's similarity(): shared trigrams over all trigrams of both, 0..1."""
    first, second = trigrams(a), trigrams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)
