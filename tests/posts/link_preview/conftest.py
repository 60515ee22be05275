"""A real HTTP server on 127.0.0.1, in a thread, serving the pages the fetcher is tried on."""

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

OG_PAGE = b"""<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Plain title</title>
<meta property="og:title" content="The &quot;real&quot; title &amp; more">
<meta property="og:description" content="What the page is about.">
<meta property="og:site_name" content="Example Site">
<meta property="og:image" content="/img/card.png">
<meta name="description" content="Fallback description">
</head><body><p>Hello</p></body></html>"""

PLAIN_PAGE = """<html><head><title>  Caf\u00e9   &amp; bar\n</title>
<meta name="description" content="Only a meta description.">
</head><body>x</body></html>""".encode()

LATIN1_PAGE = """<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 cr\u00e8me</title></head></html>""".encode(
    "latin-1"
)

BIG_MARKER = b'<meta property="og:description" content="after the cap">'
BIG_PAGE_BYTES = 2 * 1024 * 1024


def big_page():
    head = b"<html><head><title>Big page</title></head><body>"
    filler = b"<p>" + b"x" * 1020 + b"</p>\n"
    body = bytearray(head)
    while len(body) < 1024 * 1024:
        body.extend(filler)
    body.extend(BIG_MARKER)
    while len(body) < BIG_PAGE_BYTES:
        body.extend(filler)
    return bytes(body)


@dataclass
class PageServer:
    host: str
    port: int
    hits: list = field(default_factory=list)  # (path, Host header) per request
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    def paths(self):
        return [path for path, _host in self.hits]


def make_handler(server_state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status, body=b"", content_type="text/html; charset=utf-8", headers=()):
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: C901, N802 - one route table
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            server_state.hits.append((parts.path, self.headers.get("Host")))
            path = parts.path
            if path == "/page":
                self._send(200, OG_PAGE)
            elif path == "/plain":
                self._send(200, PLAIN_PAGE, content_type="text/html")
            elif path == "/latin1":
                self._send(200, LATIN1_PAGE, content_type="text/html")
            elif path == "/gzip":
                self._send(200, gzip.compress(OG_PAGE), headers=[("Content-Encoding", "gzip")])
            elif path == "/json":
                self._send(200, b'{"title": "no"}', content_type="application/json")
            elif path == "/untyped":
                self._send(200, OG_PAGE, content_type=None)
            elif path == "/missing":
                self._send(404, b"<title>Not found</title>")
            elif path == "/big":
                self._send(200, big_page())
            elif path == "/slow":  # nothing at all until long after the deadline
                server_state.stop.wait(15)
                self._send(200, OG_PAGE)
            elif path == "/drip":  # headers at once, then one byte every 0.2 s
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                try:
                    for _ in range(100000):
                        if server_state.stop.wait(0.2):
                            return
                        self.wfile.write(b"x")
                        self.wfile.flush()
                except OSError:
                    return
            elif path.startswith("/hops/"):  # /hops/N redirects N times, then serves the page
                left = int(path.rsplit("/", 1)[1])
                if left == 0:
                    self._send(200, OG_PAGE)
                else:
                    self._send(302, b"", headers=[("Location", f"/hops/{left - 1}")])
            elif path == "/to":  # /to?url=... redirects anywhere
                self._send(302, b"", headers=[("Location", query["url"][0])])
            else:
                self._send(404, b"")

    return Handler


@pytest.fixture
def page_server():
    state = PageServer(host="127.0.0.1", port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, client_address: None  # clients that hang up are expected
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fake_dns(monkeypatch):
    """fake_dns({"name": ["addr", ...]}): those names resolve to those addresses; others as usual.

    DNS is the third party's network edge; the fetcher's own code runs unchanged. Returns the
    list of names looked up, in order.
    """
    import socket

    real = socket.getaddrinfo
    lookups = []

    def install(table):
        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            name = host.decode() if isinstance(host, bytes) else host
            if name in table:
                lookups.append(name)
                answers = table[name]
                if callable(answers):
                    answers = answers()
                infos = []
                for address in answers:
                    if ":" in address:
                        infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0)))
                    else:
                        infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0)))
                return infos
            return real(host, port, family, type, proto, flags)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install
