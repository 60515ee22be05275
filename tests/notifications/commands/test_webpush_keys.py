"""`manage.py webpush_keys` prints a VAPID pair that signs and verifies (py-vapid)."""

import base64

from django.core.management import call_command
from py_vapid import Vapid02


def test_it_prints_a_working_pair(capsys):
    call_command("webpush_keys")
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    public, private = lines["WEBPUSH_VAPID_PUBLIC_KEY"], lines["WEBPUSH_VAPID_PRIVATE_KEY"]
    assert len(base64.urlsafe_b64decode(public + "==")) == 65
    signer = Vapid02.from_string(private)  # as pywebpush reads WEBPUSH_VAPID_PRIVATE_KEY
    headers = signer.sign({"sub": "mailto:ops@socialsite.test", "aud": "https://push.example", "exp": 9999999999})
    assert f"k={public}" in headers["Authorization"]
    assert Vapid02.verify(headers["Authorization"])
