"""`Idempotency-Key` on API creates: a retry gets the first answer instead of a second object.

    class PostsView(APIView):
        @extend_schema(...)
        @idempotent
        def post(self, request): ...

Keys are scoped to the caller (user, key) and live IDEMPOTENCY_KEY_HOURS (24) hours. A request
with a key runs the view in one transaction that first inserts the key's row and, before the
commit, stores the answer in it: the key and the object it made commit together or not at all,
and the services' on_commit work (the outbox) runs after that commit. A repeat of the key:

- with the same fingerprint (method, path and a hash of the body, files included) answers the
  stored status and body with `Idempotent-Replayed: true` and runs nothing: no second object,
  no second stored file;
- with another fingerprint answers 422 `idempotency_key_reused`;
- while the first is still running waits for it, then replays (or, if the first failed, runs):
  on PostgreSQL its insert of the same key blocks on the unique index until the first
  transaction ends; on SQLite IMMEDIATE transactions wait at BEGIN. A wait longer than
  WAIT_SECONDS answers 409 `idempotency_key_in_progress` with Retry-After (PostgreSQL).

Only 2xx answers are kept: a refusal rolls the key back with everything else (raised) or drops
it (returned), so the client can fix the request and send it again with the same key. The
contract for clients is in docs/api.md.
"""

import functools
import hashlib
import json
import re
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.status import is_success

from socialsite.errors import ConflictError, ServiceError
from socialsite.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII, as Stripe allows
WAIT_SECONDS = 10  # a repeat waits this long for the first request with its key
PRUNE_BATCH = 5000  # rows per delete statement

PARAMETER = OpenApiParameter(
    HEADER,
    # A header value can't start or end with a space: HTTP drops them.
    {"type": "string", "pattern": r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description="1 to 255 printable ASCII characters, unique per intended create (a UUID). The same key "
    "from you within 24 hours answers the first request's status and body again, with "
    "`Idempotent-Replayed: true`, and creates nothing; with another body or path it answers 422 "
    "`idempotency_key_reused`, and 409 `idempotency_key_in_progress` while the first still runs. "
    "Refusals (4xx) are not kept. See docs/api.md.",
)


class IdempotencyKeyReused(ServiceError):
    status_code = 422
    default_code = "idempotency_key_reused"


class IdempotencyKeyInProgress(ConflictError):
    default_code = "idempotency_key_in_progress"
    retry_after = 1


def idempotent(method):
    """Decorate an APIView handler that creates something: see the module docstring."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = _key(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)  # parses the body (and hashes files) before the transaction
        with transaction.atomic():
            record, replay = _claim(request.user, key, fingerprint)
            if replay is not None:
                return replay
            response = method(view, request, *args, **kwargs)
            if is_success(response.status_code):
                record.status_code = response.status_code
                record.response_body = JSONRenderer().render(response.data).decode()
                record.save(update_fields=["status_code", "response_body"])
            else:
                record.delete()  # a refusal is not an answer to replay
        return response

    return extend_schema(parameters=[PARAMETER])(wrapper)


def prune(batch=PRUNE_BATCH):
    """Delete expired keys, in batches so no statement holds locks for long; how many went."""
    cutoff = timezone.now() - _lifetime()
    total = 0
    while ids := list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch]):
        total += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]
    return total


def _lifetime():
    return timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _key(request):
    key = request.headers.get(HEADER)
    if key is not None and not _VALID_KEY.fullmatch(key):
        raise ServiceError(
            f"The {HEADER} header must be 1 to 255 printable ASCII characters.", code="invalid_idempotency_key"
        )
    return key


def _fingerprint(request):
    body = json.dumps(_canonical(request.data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _canonical(data):
    """The parsed body as plain JSON: every value of a form field, and a file by its content."""
    if isinstance(data, QueryDict):
        return {name: [_canonical(value) for value in data.getlist(name)] for name in data}
    if isinstance(data, UploadedFile):
        digest = hashlib.sha256()
        for chunk in data.chunks():
            digest.update(chunk)
        data.seek(0)  # the view reads it again
        return {"name": data.name, "size": data.size, "sha256": digest.hexdigest()}
    return data


def _claim(user, key, fingerprint):
    """Insert the (user, key) row: (row, None). Or, when the key already answered: (None, replay)."""
    cutoff = timezone.now() - _lifetime()
    with _bounded_lock_wait():
        for _ in range(3):  # an expired or pruned row frees the key: try again
            try:
                with transaction.atomic():  # a savepoint: a duplicate key leaves the transaction usable
                    return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint), None
            except IntegrityError:
                pass
            stored = IdempotencyKey.objects.filter(user=user, key=key).first()
            if stored is None:
                continue
            if stored.created_at < cutoff:
                IdempotencyKey.objects.filter(pk=stored.pk).delete()
                continue
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    f"This {HEADER} was already used for a different request; use a new key for a new request."
                )
            return None, _replay(stored)
    raise IdempotencyKeyInProgress(f"A request with this {HEADER} is still in progress; retry shortly.")


@contextmanager
def _bounded_lock_wait():
    """On PostgreSQL, give up waiting for a concurrent request's key after WAIT_SECONDS (409)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(WAIT_SECONDS * 1000)}ms"])
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise IdempotencyKeyInProgress(
                f"A request with this {HEADER} is still in progress; retry shortly."
            ) from exc
        raise
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")  # the view's own locks wait as before


def _replay(stored):
    response = Response(json.loads(stored.response_body) if stored.response_body else None, status=stored.status_code)
    response[REPLAYED_HEADER] = "true"
    return response
