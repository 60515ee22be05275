"""https through the pinned connection: SNI names the site, and the certificate is verified."""

import datetime
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posts.link_preview.errors import PreviewError
from posts.link_preview.fetching import fetch_preview
from tests.posts.link_preview.conftest import PageServer, make_handler


def self_signed(tmp_path, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    state = PageServer(host="127.0.0.1", port=0)
    state.server_names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path, "secure.example"))

    def sni(sock, server_name, ctx):
        state.server_names.append(server_name)

    context.sni_callback = sni
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state), bind_and_activate=True)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, client_address: None
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.timeout(30)
def test_tls_names_the_site_and_refuses_an_untrusted_certificate(tls_server, fake_dns):
    lookups = fake_dns({"secure.example": ["127.0.0.1"]})
    with pytest.raises(PreviewError) as refused:
        fetch_preview(f"https://secure.example:{tls_server.port}/page", allow_private=["127.0.0.1"])
    assert refused.value.reason == "tls"
    # Connected to the vetted 127.0.0.1, but the handshake named the site, not the address.
    assert tls_server.server_names == ["secure.example"]
    assert lookups == ["secure.example"]
    assert tls_server.hits == []  # no request was sent over an unverified connection
