"""Local stand-ins for a dependency that the tests of circuit breakers take down and bring back:
a closed port, an HTTP server whose answer the test sets, a small SMTP server. Each counts the
connections it accepted, so a test sees that an open breaker doesn't even try."""

import socket
import socketserver
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def closed_port():
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HTTPStandIn:
    """answer(method, path, body) -> (status, headers, body bytes); `answer` is the test's to change."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                stand_in.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = stand_in.answer(self.command, self.path, body)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _reply

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SMTPStandIn:
    """Just enough SMTP to take mail (HELO/EHLO, MAIL, RCPT, DATA, QUIT); `messages` holds what came."""

    def __init__(self, port=0):
        self.messages = []
        self.connections = 0
        stand_in = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                stand_in.connections += 1
                self.wfile.write(b"220 stand-in ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk)
                        stand_in.messages.append(b"".join(data))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def timed(into):
    """Appends the block's duration in milliseconds to `into`."""
    start = time.perf_counter()
    yield
    into.append((time.perf_counter() - start) * 1000)


def half_open_soon(settings):
    """Shorten the open breakers' reset time and wait it out: the next call is the trial call."""
    settings.BREAKER_RESET_SECONDS = 0.1
    time.sleep(0.15)
