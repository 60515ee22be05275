"""The signed-in user's row from the shared cache, so authenticating a request (JWT or session)
costs no query once the row is warm.

Each user has a version key (a random token) and a data key holding (version, field values).
A read is one round trip (get_many of both); the data counts only while its version is the
current one. Every write of a user row bumps the version: saves and deletes (signal receivers
in accounts/receivers.py) and every UserQuerySet.update() (accounts/models.py), except
last_active-only ones. The bump happens at once and again after the commit: a request that read
the old row while the writing transaction was open stored it under a version the commit then
replaced, so it is never served.

On only while the cache is shared by every process (AUTH_USER_CACHE_SECONDS, on with
REDIS_URL): a per-process cache would miss a suspension or a password change made by another
process (a worker, manage.py). With the cache down, reads go to the database; entries live
AUTH_USER_CACHE_SECONDS, so a bump lost in an outage (or a write that skips the model layer: raw
SQL, a data migration's historical model) is stale for at most that long.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction

from socialsite import safe_cache

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)
# Version keys outlive the rows: an expired version only costs a miss, never a stale read.
VERSION_SECONDS = 24 * 3600


def enabled() -> bool:
    return bool(settings.AUTH_USER_CACHE_SECONDS)


@functools.cache
def _fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


@functools.cache
def _schema() -> str:
    # A deploy that adds or drops a column reads none of the rows cached before it.
    return hashlib.blake2b(",".join(_fields()).encode(), digest_size=4).hexdigest()


def _keys(pk: object) -> tuple[str, str]:
    # One hash tag: on a Redis Cluster both keys are in one slot, and a read is one MGET on one node.
    return f"authuser:v:{{u:{pk}}}", f"authuser:{_schema()}:{{u:{pk}}}"


def get(pk: object) -> User | None:
    """The user with this primary key (active or not), or None; from the cache when warm."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(pk)  # a session's string and a token's claim key alike
    except ValidationError:
        return None
    if not enabled():
        return _from_db(pk)
    version_key, data_key = _keys(pk)
    try:
        found = cache.get_many([version_key, data_key])
    except Exception as exc:  # down: straight to the database, without trying the cache twice more
        logger.warning("auth cache unavailable (%s: %s); reading the user row", exc.__class__.__name__, exc)
        return _from_db(pk)
    version = found.get(version_key)
    data = found.get(data_key)
    if version is not None and data is not None and data[0] == version:
        user: User = model.from_db(DEFAULT_DB_ALIAS, _fields(), data[1])
        return user
    if version is None:
        version = uuid.uuid4().hex
        if not safe_cache.add(version_key, version, VERSION_SECONDS):
            # Someone else made it meanwhile (or the cache is down: then nothing is stored).
            version = safe_cache.get(version_key)
    db_user = _from_db(pk)
    if db_user is not None and version is not None:
        values = [getattr(db_user, name) for name in _fields()]
        safe_cache.set(data_key, (version, values), settings.AUTH_USER_CACHE_SECONDS)
    return db_user


def _from_db(pk: Any) -> User | None:
    # From the primary, never a read replica (socialsite/replicas.py): a row a replica hasn't caught
    # up with, cached under the version a suspension or password change just set, would be served.
    try:
        user: User | None = get_user_model()._default_manager.using(DEFAULT_DB_ALIAS).filter(pk=pk).first()
    except (ValidationError, ValueError):  # not a primary key at all
        return None
    return user


def invalidate(pks: Iterable[object]) -> None:
    """A user row changed: serve none of these users from the cache again. Call it when the change
    is made; it runs again after the transaction commits."""
    if not enabled():
        return
    keys = [_keys(pk)[0] for pk in pks]
    if not keys:
        return
    _bump(keys)
    transaction.on_commit(lambda: _bump(keys), robust=True)


def _bump(version_keys: list[str]) -> None:
    values: dict[str, Any] = {key: uuid.uuid4().hex for key in version_keys}
    safe_cache.set_many(values, VERSION_SECONDS)
