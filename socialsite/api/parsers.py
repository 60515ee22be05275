import io
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 64
# Brackets outside strings; strings are skipped whole, so ordinary bodies make few matches.
_TOKENS = re.compile(rb'"(?:\\.|[^"\\])*"|[\[\]{}]')


def json_depth(body):
    depth = deepest = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing JSON nested deeper than any of our inputs needs.

    Checked before decoding: Python's decoder would hit RecursionError, which is a 500
    and, on Python 3.11, can leave the interpreter's recursion accounting off.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        if b"\\u0000" in body.lower() and _holds_nul(data):  # PostgreSQL refuses NUL in text
            raise ParseError("NUL characters (\\u0000) aren't allowed.")
        return data


def _holds_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
