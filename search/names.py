"""The names people are found by, for the database backends' @mention autocomplete and people
search (search.models.CompletionName), and the folded name key every backend matches near
spellings by (Elasticsearch keeps it in the user documents: search.documents)."""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import TYPE_CHECKING

from anyascii import anyascii
from django.db import connections

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from search.models import CompletionName

NAMES_PER_USER = 5  # as written: the username, the display name and its later words
KEYS_PER_USER = 5  # folded: the display name's key and its later words' keys, where they differ
BATCH = 2000

_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")  # Dar'ya, O’Brien; and anyascii writes "Ольга" "Ol'ga"
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_I_RUN = re.compile(r"i{2,}")


def _letters_only(text: str) -> str:
    """Letters, marks and digits kept; anything else (emoji, punctuation) a word break, so an
    emoji isn't transliterated into a word (anyascii writes 🦊 as ":fox:")."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    return "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text)


def _fold(word: str) -> str:
    """One lower-case ASCII word -> its key: the letters that name the same sound across
    transliteration systems and languages made one. ph -> f (Sophia, Sofia); y -> i, and j
    -> i after the first letter (Nadya, Nadja, Nadiya, Sonja, Marija; Yana, Iana); then a
    run of i one i (Nadiia, Natalia). A word-initial j stays: English Jan, Jack aren't Ian."""
    word = word.replace("ph", "f")
    word = word[:1] + word[1:].replace("j", "i")
    return _I_RUN.sub("i", word.replace("y", "i"))


def name_key(text: str | None) -> str:
    """A name's key, "nadia kovalenko": transliterated to ASCII (anyascii: "Надія" is "Nadiya",
    "Nádia" "Nadia"), lower-cased, words of letters and digits only, each folded (`_fold`).
    Two spellings of one name have one key: "Nadiia", "Nadia", "Nadya", "Nadja", "Nádia",
    "Надія" and "Надя" are all "nadia"; "Nadine" stays "nadine". Keys are matched by prefix,
    like the names themselves, so a key of what is typed finds the keys it begins."""
    ascii_text = anyascii(_letters_only(text or "")).translate(_APOSTROPHES).lower()
    return " ".join(_fold(word) for word in _NOT_ALNUM.split(ascii_text) if word)


def completion_names(username: str, display_name: str | None) -> list[str]:
    """The username, the display name and its later words ("lo" finds "Marta Lopez"),
    lower-cased; then the keys of the display name and of its later words that differ from
    those ("nadia kovalenko" for "Надія Коваленко", so "nad" and "nadya" find her)."""
    display_name = " ".join((display_name or "").split()).lower()
    names = [username.lower(), display_name, *display_name.split(" ")[1:]]
    names = list(dict.fromkeys(name[:50] for name in names if name))[:NAMES_PER_USER]
    key = name_key(display_name)
    keys = [key, *key.split(" ")[1:]] if key else []
    keys = [k for k in dict.fromkeys(k[:50] for k in keys) if k not in names][:KEYS_PER_USER]
    return names + keys


def fill(model: type[CompletionName], users: QuerySet[User], using: str = "default") -> int:
    """Insert the names of `users`, a queryset of active accounts, in batches. -> rows written.
    `model` is CompletionName, or its historical version in a migration."""
    people = users.values_list("pk", "username", "profile__display_name", "profile__followers_count")
    rows = (
        model(user_id=pk, name=name, followers_count=followers or 0)
        for pk, username, display_name, followers in people.iterator(chunk_size=BATCH)
        for name in completion_names(username, display_name)
    )
    written = 0
    while batch := list(itertools.islice(rows, BATCH)):
        model.objects.using(using).bulk_create(batch)
        written += len(batch)
    connection = connections[using]
    if connection.vendor == "postgresql":
        # Fresh statistics now, not at autovacuum's leisure: without them PostgreSQL guessed that
        # a rare prefix matches thousands and walked the whole follower-count index (300 ms).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return written
