"""schemathesis hooks for test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

import re
import uuid

import schemathesis

_VALID_KEY = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """An Idempotency-Key names one intended create. Generated keys repeat ("0", "00") across
    different bodies, which the API rightly refuses (422 idempotency_key_reused, tested in
    tests/socialsite/api/test_idempotency.py); a valid key gets a unique tail, an invalid one goes as it is."""
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and len(key) <= 200 and _VALID_KEY.fullmatch(key):
        case.headers["Idempotency-Key"] = f"{key}-{uuid.uuid4().hex}"
