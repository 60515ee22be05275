"""A software security key: what a browser and a FIDO2 authenticator hand back to the site.

It answers the options allauth puts in the page (`js_data`) with a real credential: an EC P-256
key pair, "none" attestation, and signed assertions over the page's challenge, so the site's
side (allauth.mfa and fido2's server) runs unchanged.
"""

import json
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import sha256, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData

FLAGS = AuthenticatorData.FLAG


def page_js_data(response):
    """The JSON allauth's page hands its script (`{{ js_data|json_script:"js_data" }}`)."""
    match = re.search(rb'<script id="js_data" type="application/json">(.*?)</script>', response.content, re.S)
    assert match, "no js_data on the page"
    return json.loads(match.group(1))


class SoftwareKey:
    def __init__(self, origin="https://testserver"):
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.user_handle = None

    def _client_data(self, kind, challenge):
        return CollectedClientData.create(type=kind, challenge=challenge, origin=self.origin)

    def register(self, creation_options, *, resident=True):
        options = creation_options["publicKey"]
        rp_id = options["rp"]["id"]
        self.user_handle = options["user"]["id"]
        client_data = self._client_data("webauthn.create", options["challenge"])
        public_key = ES256.from_cryptography_key(self.private_key.public_key())
        credential_data = AttestedCredentialData.create(b"\0" * 16, self.credential_id, public_key)
        auth_data = AuthenticatorData.create(
            sha256(rp_id.encode()), FLAGS.UP | FLAGS.UV | FLAGS.AT, self.counter, credential_data
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
            },
            "clientExtensionResults": {"credProps": {"rk": resident}},
        }

    def sign_in(self, request_options, *, rp_id="testserver"):
        options = request_options["publicKey"]
        client_data = self._client_data("webauthn.get", options["challenge"])
        self.counter += 1
        auth_data = AuthenticatorData.create(
            sha256(options.get("rpId", rp_id).encode()), FLAGS.UP | FLAGS.UV, self.counter
        )
        signature = self.private_key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        }
