"""Reading the links out of the emails allauth sends."""

import re
from urllib.parse import urlparse

LINK = re.compile(r"https?://[^\s<>\"]+")


def link_in(message, path_prefix):
    """The path of the first link in `message` under `path_prefix`."""
    for url in LINK.findall(message.body):
        path = urlparse(url).path
        if path.startswith(path_prefix):
            return path
    raise AssertionError(f"No {path_prefix} link in: {message.body}")


def confirmation_path(message):
    return link_in(message, "/accounts/confirm-email/")


def password_reset_path(message):
    return link_in(message, "/accounts/password/reset/key/")
