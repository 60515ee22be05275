"""System checks of the Web Push settings (run by `migrate` and `check`): a key pair that doesn't
match would make every push service refuse every push, quietly, in the worker."""

from django.conf import settings
from django.core import checks


@checks.register()
def webpush_keys(app_configs, **kwargs):
    public, private = settings.WEBPUSH_VAPID_PUBLIC_KEY, settings.WEBPUSH_VAPID_PRIVATE_KEY
    if not public and not private:
        return []  # push off
    if not (public and private):
        return [
            checks.Warning(
                "Only one of WEBPUSH_VAPID_PUBLIC_KEY and WEBPUSH_VAPID_PRIVATE_KEY is set: push is off.",
                hint="Set both (`manage.py webpush_keys` prints a pair), or neither.",
                id="notifications.W001",
            )
        ]
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02, b64urlencode

    try:
        key = Vapid02.from_string(private).public_key
    except Exception as exc:  # noqa: BLE001 -- py-vapid raises whatever its decoding meets
        return [checks.Error(f"WEBPUSH_VAPID_PRIVATE_KEY doesn't read as a key: {exc}", id="notifications.E001")]
    derived = b64urlencode(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    if derived != public.rstrip("="):
        return [
            checks.Error(
                "WEBPUSH_VAPID_PUBLIC_KEY is not the private key's public key: every push would be refused.",
                hint="Use the two lines of one `manage.py webpush_keys` run.",
                id="notifications.E002",
            )
        ]
    return []
