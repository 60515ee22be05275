"""Fetching a link's page safely (the SSRF guards of posts.link_preview): the URL checked, the
connection pinned to a vetted address, redirects followed by hand, one deadline, a capped body."""

import contextlib
import socket
import threading
import time
from email.message import Message
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from posts.link_preview.addresses import allow_private_default, resolve
from posts.link_preview.errors import PreviewError, PreviewTimeout
from posts.link_preview.parsing import ALLOWED_SCHEMES, build_preview, parse_html

MAX_REDIRECTS = 3
CONNECT_TIMEOUT_SECONDS = 3
TOTAL_DEADLINE_SECONDS = 5
MAX_BODY_BYTES = 512 * 1024
CHUNK_BYTES = 16 * 1024
MAX_ADDRESSES_TRIED = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = "socialsite-linkpreview/1.0 (+link preview cards)"


def _check_url(url):
    """(scheme, host, port) for an acceptable http(s) URL; PreviewError otherwise."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise PreviewError("bad_url")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise PreviewError("bad_url", str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise PreviewError("scheme", scheme or "none")
    if parts.username is not None or parts.password is not None:
        raise PreviewError("credentials")
    host = parts.hostname
    if not host:
        raise PreviewError("bad_url", "no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise PreviewError("bad_url", "bad host name") from exc
    return scheme, host, port or (443 if scheme == "https" else 80)


def _host_header(host, port, scheme):
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def _pinned_url(url, ip, port):
    """The same URL with the vetted IP address in place of the host name."""
    parts = urlsplit(url.strip())
    netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


class _Watchdog:
    """Enforces the total deadline: when it passes, the fetch's sockets are shut down.

    Socket timeouts bound each single read, but a server dripping one byte at a time never hits
    them; shutting the socket down from a timer thread makes the blocked read return at once.
    (The TLS handshake runs before the wrapped socket can be registered; it is bounded by the
    connect timeout per read.)
    """

    def __init__(self, seconds):
        self._lock = threading.Lock()
        self._sockets = []
        self.expired = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def register(self, sock):
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            self._shutdown(sock)

    def _expire(self):
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shutdown(sock)

    @staticmethod
    def _shutdown(sock):
        with contextlib.suppress(OSError):  # closed already, or detached by the TLS wrapper
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self):
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()


def _pool_classes(watchdog):
    """urllib3 pool classes whose connections register their sockets with the watchdog."""

    class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            watchdog.register(sock)
            return sock

    class WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            watchdog.register(sock)
            return sock

        def connect(self):
            super().connect()
            watchdog.register(self.sock)  # the TLS-wrapped socket

    class WatchedHTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    return {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


class PinnedAdapter(HTTPAdapter):
    """Connects to the IP in the URL while speaking TLS to, and verifying, the real host name.

    Against DNS rebinding: the name is resolved exactly once, by `resolve`, and every address is
    vetted; the request URL then carries the chosen IP literal, so urllib3 never resolves the
    name again and the connection lands on the address that was checked. For https, the real
    name goes in SNI (`server_hostname`) and the certificate is verified against it
    (`assert_hostname`); the Host header carries it for both schemes. (Re-checking the peer
    address after connecting would also work, but only after the connection reached the target.)
    """

    def __init__(self, hostname, watchdog):
        self.hostname = hostname
        self.watchdog = watchdog
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.watchdog)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self.hostname
            pool_kwargs["assert_hostname"] = self.hostname
        return host_params, pool_kwargs


def _session(hostname, watchdog):
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    adapter = PinnedAdapter(hostname, watchdog)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise PreviewTimeout("deadline passed")
    return left


def _request(url, *, allow_private, deadline, watchdog):
    """One hop: resolve, vet, connect to a vetted address. Returns (session, streamed response)."""
    scheme, host, port = _check_url(url)
    addresses = resolve(host, port, allow_private=allow_private)
    headers = {
        "Host": _host_header(host, port, scheme),
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml;q=0.9",
        "Accept-Encoding": "gzip, deflate",
    }
    last_error = None
    for ip in addresses[:MAX_ADDRESSES_TRIED]:
        session = _session(host, watchdog)
        remaining = _remaining(deadline)
        try:
            response = session.get(
                _pinned_url(url, ip, port),
                headers=headers,
                allow_redirects=False,
                stream=True,
                timeout=(min(CONNECT_TIMEOUT_SECONDS, remaining), remaining),
            )
        except requests.Timeout as exc:
            session.close()
            raise PreviewTimeout(str(exc)) from exc
        except requests.exceptions.SSLError as exc:
            session.close()
            raise PreviewError("tls", str(exc)) from exc
        except requests.ConnectionError as exc:  # try the next address, if any
            session.close()
            if watchdog.expired:
                raise PreviewTimeout("deadline passed") from exc
            last_error = exc
            continue
        except requests.RequestException as exc:
            session.close()
            raise PreviewError("http", str(exc)) from exc
        return session, response
    raise PreviewError("connection", str(last_error))


def _read_capped(response, deadline):
    """At most MAX_BODY_BYTES of the (decoded) body, within the deadline."""
    body = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            body.extend(chunk)
            if len(body) >= MAX_BODY_BYTES:
                del body[MAX_BODY_BYTES:]
                break
            _remaining(deadline)
    except requests.Timeout as exc:
        raise PreviewTimeout(str(exc)) from exc
    except requests.RequestException as exc:
        if "timed out" in str(exc).lower():  # a read timeout while streaming
            raise PreviewTimeout(str(exc)) from exc
        raise PreviewError("connection", str(exc)) from exc
    return bytes(body)


def _content_type(header):
    message = Message()
    message["content-type"] = header or ""
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


def fetch_preview(url, *, allow_private=None):
    """{title, description, site_name, image, url} for an http(s) page; PreviewError otherwise.

    `allow_private` (True, or a list of addresses) lets tests fetch from a server on 127.0.0.1;
    it defaults to the LINK_PREVIEW_ALLOW_PRIVATE setting, which is off.
    """
    if allow_private is None:
        allow_private = allow_private_default()
    deadline = time.monotonic() + TOTAL_DEADLINE_SECONDS
    watchdog = _Watchdog(TOTAL_DEADLINE_SECONDS)
    try:
        body, charset, page_url = _fetch(url, allow_private=allow_private, deadline=deadline, watchdog=watchdog)
    except PreviewTimeout:
        raise
    except PreviewError as exc:
        if watchdog.expired:
            raise PreviewTimeout("deadline passed") from exc
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        # Anything else the network stack raises still ends as a reason, never a crash.
        if watchdog.expired:
            raise PreviewTimeout("deadline passed") from exc
        raise PreviewError("http", f"{type(exc).__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
    if watchdog.expired:  # the body may have been cut short by the shutdown
        raise PreviewTimeout("deadline passed")
    return build_preview(parse_html(body, charset=charset), page_url=page_url, url=url)


def _fetch(url, *, allow_private, deadline, watchdog):
    """(body bytes, declared charset, final URL), following at most MAX_REDIRECTS redirects."""
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        session, response = _request(current, allow_private=allow_private, deadline=deadline, watchdog=watchdog)
        try:
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("Location", "").strip()
                if not location:
                    raise PreviewError("bad_redirect", "no Location")
                if hop == MAX_REDIRECTS:
                    raise PreviewError("too_many_redirects")
                current = urljoin(current, location)
                continue
            if not 200 <= response.status_code < 300:
                raise PreviewError(f"http_{response.status_code}")
            mime, charset = _content_type(response.headers.get("Content-Type"))
            if mime != "text/html":
                raise PreviewError("not_html", mime)
            return _read_capped(response, deadline), charset, current
        finally:
            response.close()
            session.close()
    raise PreviewError("too_many_redirects")  # pragma: no cover - the loop returns or raises
