"""Fast password hashing, autouse where a conftest imports it: folders whose tests make many users."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 costs a fifth of a second per user; these tests are about the data, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
