"""Fakes for the providers' side of OAuth: keys, signed id_tokens, and app settings.

Only the providers' HTTP edge is faked (with `responses`); every request that reaches
our code goes through allauth's real views and our real API.
"""

import base64
import datetime
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

GOOGLE_CLIENT_ID = "1234-test.apps.googleusercontent.com"
GOOGLE_ISSUER = "https://accounts.google.com"
# allauth's google provider reads the PEM certificates (v1), not the JWKS (v3).
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"

APPLE_CLIENT_ID = "com.socialsite.test"
APPLE_KEY_ID = "APPLEKEY01"
APPLE_TEAM_ID = "TEAMID0001"
APPLE_ISSUER = "https://appleid.apple.com"
APPLE_KEYS_URL = "https://appleid.apple.com/auth/keys"
APPLE_TOKEN_URL = "https://appleid.apple.com/auth/token"
APPLE_AUTHORIZE_URL = "https://appleid.apple.com/auth/authorize"

FACEBOOK_CLIENT_ID = "987654321"
FACEBOOK_SECRET = "facebook-app-secret"
FACEBOOK_GRAPH = "https://graph.facebook.com/v19.0"
FACEBOOK_AUTHORIZE_URL = "https://www.facebook.com/v19.0/dialog/oauth"


def _b64url_uint(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """An RSA key a fake provider signs id_tokens with, published as JWKS and as PEM certs."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def jwks(self):
        numbers = self.private_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": "RS256",
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    @property
    def pem_certs(self):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test.provider")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.private_key, hashes.SHA256())
        )
        return {self.kid: cert.public_bytes(serialization.Encoding.PEM).decode()}

    def sign(self, claims, *, kid=None, headers=None):
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid, **(headers or {})}
        )


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def provider_key():
    """The provider's real signing key."""
    return SigningKey(kid=uuid.uuid4().hex, private_key=_rsa())


@pytest.fixture(scope="session")
def attacker_key(provider_key):
    """A key nobody trusts, published under the provider's kid to forge tokens."""
    return SigningKey(kid=provider_key.kid, private_key=_rsa())


@pytest.fixture(scope="session")
def apple_certificate_key():
    """The EC P-256 key Apple issues to sign our client secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def id_token_claims(*, iss, aud, sub, email, lifetime=3600, **extra):
    now = int(time.time())
    return {"iss": iss, "aud": aud, "sub": sub, "email": email, "iat": now, "exp": now + lifetime, **extra}


def google_claims(*, sub="google-sub-1", email="ann@gmail.com", **extra):
    extra.setdefault("email_verified", True)
    extra.setdefault("given_name", "Ann")
    extra.setdefault("family_name", "Lee")
    extra.setdefault("name", "Ann Lee")
    return id_token_claims(iss=GOOGLE_ISSUER, aud=GOOGLE_CLIENT_ID, sub=sub, email=email, azp=GOOGLE_CLIENT_ID, **extra)


def apple_claims(*, sub="000123.apple.sub", email="bob@privaterelay.appleid.com", **extra):
    extra.setdefault("email_verified", "true")
    return id_token_claims(iss=APPLE_ISSUER, aud=APPLE_CLIENT_ID, sub=sub, email=email, **extra)


def _add_provider(settings, name, config):
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, name: config}


@pytest.fixture
def google(settings):
    """Google switched on, as settings.py does when GOOGLE_CLIENT_ID is set."""
    _add_provider(
        settings,
        "google",
        {
            "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": "google-secret"}],
            "SCOPE": ["profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
        },
    )


@pytest.fixture
def apple(settings, apple_certificate_key):
    _add_provider(
        settings,
        "apple",
        {
            "APPS": [
                {
                    "client_id": APPLE_CLIENT_ID,
                    "secret": APPLE_KEY_ID,
                    "key": APPLE_TEAM_ID,
                    "settings": {"certificate_key": apple_certificate_key},
                }
            ]
        },
    )


@pytest.fixture
def facebook(settings):
    _add_provider(
        settings,
        "facebook",
        {
            "APPS": [{"client_id": FACEBOOK_CLIENT_ID, "secret": FACEBOOK_SECRET}],
            "METHOD": "oauth2",
            "SCOPE": ["email", "public_profile"],
            "FIELDS": ["id", "email", "name", "first_name", "last_name"],
        },
    )


@pytest.fixture
def provider_http():
    """The providers' HTTP endpoints; any request not registered here fails (no real network)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve_google_certs(provider_http, key):
    provider_http.get(GOOGLE_CERTS_URL, json=key.pem_certs)


def serve_apple_keys(provider_http, key):
    provider_http.get(APPLE_KEYS_URL, json=key.jwks)


def serve_facebook_graph(provider_http, *, valid_tokens, me):
    """Facebook's Graph API: app token, debug_token for `valid_tokens`, and /me."""
    provider_http.get(
        f"{FACEBOOK_GRAPH}/oauth/access_token",
        match=[responses.matchers.query_param_matcher({"grant_type": "client_credentials"}, strict_match=False)],
        json={"access_token": "app-token", "token_type": "bearer"},
    )

    def debug_token(request):
        token = parse_qs(urlparse(request.url).query)["input_token"][0]
        valid = token in valid_tokens
        data = {"app_id": FACEBOOK_CLIENT_ID, "is_valid": valid, "user_id": me["id"]}
        return 200, {}, json.dumps({"data": data})

    provider_http.add_callback(responses.GET, f"{FACEBOOK_GRAPH}/debug_token", callback=debug_token)

    def graph_me(request):
        token = parse_qs(urlparse(request.url).query)["access_token"][0]
        if token not in valid_tokens:
            return 400, {}, json.dumps({"error": {"message": "Invalid OAuth access token.", "code": 190}})
        return 200, {}, json.dumps(me)

    provider_http.add_callback(responses.GET, f"{FACEBOOK_GRAPH}/me", callback=graph_me)
