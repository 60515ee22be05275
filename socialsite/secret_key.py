"""The secret key of a checkout run without SECRET_KEY (development): random, made once, kept in a
git-ignored file, so every process started from the checkout signs sessions and JWTs alike and no
key is ever a constant anyone can read in the code."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def checkout_secret_key(path):
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(get_random_secret_key() + "\n")
        try:
            os.link(draft, path)  # atomic: of two processes starting at once, the first one's key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"Set SECRET_KEY: no key in {path} and none could be written ({exc}).") from exc
