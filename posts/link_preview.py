"""Link preview cards: fetch a link post's page safely and keep its title and description.

`fetch_preview(url)` is the network part. It is a server-side request to an address a user chose,
so it guards against server-side request forgery:

- only http and https, no credentials in the URL, no proxies from the environment;
- the host is resolved once with `socket.getaddrinfo`, and the fetch is refused when ANY of the
  resolved addresses is not a public unicast address (private, loopback, link-local, multicast,
  reserved, unspecified, shared, and IPv6 forms that embed such an IPv4 address: IPv4-mapped,
  IPv4-compatible, 6to4, Teredo, NAT64);
- the connection then goes to the vetted address itself (see `PinnedAdapter`), so a second DNS
  answer cannot send it elsewhere (DNS rebinding);
- redirects are followed by hand, at most three, and every hop is checked the same way;
- a connect timeout and one deadline for the whole fetch, a body read in chunks and cut at
  512 KB, and only `text/html` is read at all.

The page is parsed with the standard library's `html.parser`; what comes back is plain text,
whitespace-collapsed and capped. Templates escape it like any other user-controlled text.

`post_link_preview(post_id=...)` is what the `posts.tasks.fetch_link_preview` task calls: it
loads the post, skips what has nothing to do, fetches, and stores the card (or the reason it
could not be made) in `Post.link_preview`.
"""

import codecs
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from email.message import Message
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from posts.models import Post

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
MAX_REDIRECTS = 3
CONNECT_TIMEOUT_SECONDS = 3
TOTAL_DEADLINE_SECONDS = 5
MAX_BODY_BYTES = 512 * 1024
CHUNK_BYTES = 16 * 1024
MAX_ADDRESSES_TRIED = 3
TITLE_MAX = 200
DESCRIPTION_MAX = 500
SITE_NAME_MAX = 100
IMAGE_URL_MAX = 2000
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = "socialsite-linkpreview/1.0 (+link preview cards)"

# IPv6 ranges that carry an IPv4 address in their last 32 bits.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class PreviewError(Exception):
    """No preview for this URL; `reason` is a short code stored on the post."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PreviewTimeout(PreviewError):
    """The site was too slow. The only error worth a retry."""

    def __init__(self, detail=""):
        super().__init__("timeout", detail)


def allow_private_default():
    """LINK_PREVIEW_ALLOW_PRIVATE: off (the default), True, or a list of addresses let through.

    Only tests turn it on, to fetch pages from a server on 127.0.0.1.
    """
    return getattr(settings, "LINK_PREVIEW_ALLOW_PRIVATE", False)


def _allowed_anyway(ip, allow_private):
    if allow_private is True:
        return True
    if not allow_private or isinstance(allow_private, str):
        return False
    return str(ip) in {str(item) for item in allow_private}


# --- Addresses -------------------------------------------------------------------------------------


def _embedded_ipv4(ip):
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in NAT64_NETWORKS) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(address):
    """Whether `address` (a string or an ipaddress object) is a public unicast address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # also shared (100.64/10), benchmarking, documentation ranges
    ):
        return False
    if ip.version == 6:
        return all(is_public_address(inner) for inner in _embedded_ipv4(ip))
    return True


def resolve(host, port, *, allow_private=False):
    """The host's addresses, in resolver order, after checking every one of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise PreviewError("dns", str(exc)) from exc
    addresses = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            ip = ipaddress.ip_address(sockaddr[0])
        except ValueError as exc:  # an IPv6 scope id, or something stranger: refuse
            raise PreviewError("private_address", str(sockaddr[0])) from exc
        if not is_public_address(ip) and not _allowed_anyway(ip, allow_private):
            raise PreviewError("private_address", str(ip))
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise PreviewError("dns", f"no address for {host}")
    return addresses


# --- URLs --------------------------------------------------------------------------------------------


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


# --- Parsing ---------------------------------------------------------------------------------------


class _MetaParser(HTMLParser):
    """Collects <title>, <meta name/property=... content=...> and <meta charset>."""

    TEXT_LIMIT = 4000  # characters kept from the title element, before the final cap
    WANTED = {"og:title", "og:description", "og:site_name", "og:image", "og:image:url", "description"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta = {}
        self.charset = None
        self.title_parts = []
        self.title_length = 0
        self.in_title = False
        self.title_done = False

    def handle_starttag(self, tag, attrs):
        if tag == "title" and not self.title_done:
            self.in_title = True
        elif tag == "meta":
            values = {}
            for name, value in attrs:
                if name and value is not None and name.lower() not in values:
                    values[name.lower()] = value
            if "charset" in values and self.charset is None:
                self.charset = values["charset"].strip()
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in self.WANTED and "content" in values and key not in self.meta:
                self.meta[key] = values["content"]

    def handle_startendtag(self, tag, attrs):
        if tag == "title":  # <title/> has no text
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "title" and self.in_title:
            self.in_title = False
            self.title_done = True

    def handle_data(self, data):
        if self.in_title and self.title_length < self.TEXT_LIMIT:
            self.title_parts.append(data)
            self.title_length += len(data)

    @property
    def title(self):
        return "".join(self.title_parts)


def _parse_text(text):
    parser = _MetaParser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # very broken markup; keep what was read
        pass
    return parser


def _codec(name):
    try:
        return codecs.lookup(name.strip()).name if name else None
    except LookupError:
        return None


def parse_html(body, *, charset=None):
    """The page's title and meta values, from bytes (or already decoded text)."""
    if isinstance(body, str):
        parser = _parse_text(body)
    else:
        encoding = _codec(charset) or "utf-8"
        parser = _parse_text(body.decode(encoding, errors="replace"))
        declared = _codec(parser.charset)
        if not _codec(charset) and declared and declared != encoding:
            parser = _parse_text(body.decode(declared, errors="replace"))
    meta = dict(parser.meta)
    meta["title"] = parser.title
    return meta


def clean_text(value, limit):
    """Plain text on one line: control characters dropped, whitespace collapsed, capped."""
    if not value:
        return ""
    printable = "".join(ch if ch.isprintable() else " " for ch in str(value))
    collapsed = " ".join(printable.split())
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 1].rstrip() + "…"
    return collapsed


def _clean_image(value, page_url):
    value = (value or "").strip()
    if not value:
        return ""
    absolute = urljoin(page_url, value)
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname or len(absolute) > IMAGE_URL_MAX:
        return ""
    if any(not ch.isprintable() or ch.isspace() for ch in absolute):
        return ""
    return absolute


def build_preview(meta, *, page_url, url):
    """The card from parsed values: og tags first, then the plain HTML fallbacks."""
    title = clean_text(meta.get("og:title"), TITLE_MAX) or clean_text(meta.get("title"), TITLE_MAX)
    description = clean_text(meta.get("og:description"), DESCRIPTION_MAX) or clean_text(
        meta.get("description"), DESCRIPTION_MAX
    )
    site_name = clean_text(meta.get("og:site_name"), SITE_NAME_MAX)
    if not site_name:
        site_name = (urlsplit(page_url).hostname or "").removeprefix("www.")[:SITE_NAME_MAX]
    image = _clean_image(meta.get("og:image") or meta.get("og:image:url"), page_url)
    return {"title": title, "description": description, "site_name": site_name, "image": image, "url": url}


# --- Posts -----------------------------------------------------------------------------------------


def _store(post_id, url, data):
    """Write the card only while the post still links to `url` and is not deleted."""
    # updated_at moves so cached payloads (keyed by it) pick up the card.
    return Post.objects.filter(pk=post_id, link_url=url, deleted_at__isnull=True).update(
        link_preview=data, updated_at=timezone.now()
    )


def post_link_preview(*, post_id, final=True):
    """Fetch and store the preview card of a link post. Idempotent.

    Skips a missing or deleted post, a post without a link, and a post whose preview (or error)
    for its current link is already stored. A timeout is raised as PreviewTimeout for the task
    to retry, unless `final`, when it is stored as the error. Returns the stored dict or None.
    """
    post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).only("pk", "link_url", "link_preview").first()
    if post is None or not post.link_url:
        return None
    url = post.link_url
    if isinstance(post.link_preview, dict) and post.link_preview.get("url") == url:
        return None
    try:
        data = fetch_preview(url)
    except PreviewTimeout:
        if not final:
            raise
        data = {"error": "timeout", "url": url}
    except PreviewError as exc:
        logger.info("No link preview for post %s: %s", post_id, exc)
        data = {"error": exc.reason, "url": url}
    data["fetched_at"] = timezone.now().isoformat()
    _store(post_id, url, data)
    return data
