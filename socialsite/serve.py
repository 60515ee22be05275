"""`python -m socialsite.serve [daphne's options] socialsite.asgi:application`: Daphne, shutting down gracefully.

Daphne's own SIGTERM stops the reactor at once: every application is cancelled, every socket is
dropped (clients see 1006), and a request still parked on a worker thread (a long-poll behind the
sync middleware) keeps the process from ever exiting. Here SIGTERM (or Ctrl-C) instead:

1. stops listening, so a load balancer sends new connections to another process;
2. closes every WebSocket with 1001 "going away" and tells the SSE streams and long-polls to
   answer now with a retry hint (`socialsite.shutdown`);
3. waits up to DRAIN_SECONDS for every request and socket to finish, then stops as Daphne does;
4. exits by force EXIT_SECONDS after the signal if something still hangs.

A second SIGTERM or Ctrl-C exits at once.
"""

import asyncio
import functools
import logging
import os
import signal
import sys
import threading
import time
from concurrent import futures

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from socialsite import embedded_beat, shutdown
from socialsite.logs import mask_query
from socialsite.realtime import collector, heartbeat

logger = logging.getLogger("socialsite.serve")  # not __main__ under `python -m`
daphne_logger = logging.getLogger("daphne.server")  # what Daphne's own checks log under
access_logger = logging.getLogger("daphne.access")

DRAIN_SECONDS = 6
EXIT_SECONDS = 8  # within the 10 s an orchestrator gives before SIGKILL, with room to spare
GOING_AWAY = 1001
APPLICATION_CLOSE_SECONDS = 60  # --application-close-timeout's default here (Daphne's: 10)
CHECK_SLICE = 100  # connections per turn of Daphne's per-connection checks (a few ms of the loop)


class RawBodyHTTPFactory(HTTPFactory):
    """Daphne's, with Twisted not parsing POST bodies into request.args: Daphne hands the raw body
    to Django anyway, and for a malformed multipart body Twisted answered a bare 400 of its own
    before Django could answer in the API's envelope (it also held a second copy of every upload)."""

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = functools.partial(WebRequest, parsePOSTFormSubmission=False)
        return protocol


SOCKET_ACTIONS = {
    "connecting": "WSCONNECTING",
    "rejected": "WSREJECT",
    "connected": "WSCONNECT",
    "disconnected": "WSDISCONNECT",
}


def log_access(protocol, action, details):
    """Daphne's access log as log records (JSON with LOG_FORMAT=json, socialsite.logs), in place of
    the NCSA lines it prints on stdout: a request's own lines are Django's; sockets' are these."""
    fields = {"client": details.get("client"), "protocol": protocol, "action": action}
    path = mask_query(details.get("path") or "")
    if protocol == "http" and action == "complete":
        access_logger.info("%s %s %s", details["method"], path, details["status"], extra=fields)
    elif protocol == "websocket" and action in SOCKET_ACTIONS:
        access_logger.info("%s %s", SOCKET_ACTIONS[action], path, extra=fields)


class GracefulServer(Server):
    def __init__(self, *args, **kwargs):
        if kwargs.get("action_logger") is not None:  # verbosity 1 or --access-log
            kwargs["action_logger"] = log_access
        super().__init__(*args, **kwargs)

    @property
    def http_factory(self):
        return self.__dict__["http_factory"]

    @http_factory.setter
    def http_factory(self, factory):  # Server.run makes Daphne's; this one takes its place
        self.__dict__["http_factory"] = RawBodyHTTPFactory(self)

    def run(self):
        self.ports = []
        self.stopping = False
        if self.signal_handlers:
            # Twisted installs its own handlers (stop at once) as the reactor starts; replace them.
            reactor.callWhenRunning(self.install_signal_handlers)
        reactor.callWhenRunning(collector.start)  # short collections with many sockets open
        reactor.callWhenRunning(embedded_beat.start)  # periodic tasks when there is no broker
        super().run()

    # Daphne walks every connection once a second (application_checker) and every 2 s
    # (timeout_checker, which also sends each socket's ping): with 20,000 sockets open, each walk
    # held the event loop for 50-200 ms. The same checks here, each connection as often as in
    # Daphne, but at most CHECK_SLICE connections at a time.

    def application_checker(self):
        protocols, slices = self.next_slice("application")
        for protocol in protocols:
            details = self.connections.get(protocol)
            if details is not None:
                self.check_application(protocol, details)
        reactor.callLater(1 / slices, self.application_checker)

    def timeout_checker(self):
        protocols, slices = self.next_slice("timeout")
        for protocol in protocols:
            if protocol in self.connections:
                protocol.check_timeouts()
        reactor.callLater(2 / slices, self.timeout_checker)

    def next_slice(self, check):
        """(the next slice of the connections there were when this check's round began, the number
        of slices in the round)."""
        rounds = self.__dict__.setdefault("check_rounds", {})
        snapshot, done = rounds.get(check, ((), 0))
        if done >= len(snapshot):
            snapshot, done = list(self.connections), 0
        rounds[check] = (snapshot, done + CHECK_SLICE)
        return snapshot[done : done + CHECK_SLICE], max(1, -(-len(snapshot) // CHECK_SLICE))

    def check_application(self, protocol, details):
        """Daphne's application_checker (daphne 4.2) for one connection."""
        disconnected = details.get("disconnected", None)
        application_instance = details.get("application_instance", None)
        # The application took too long to finish after its connection closed.
        overdue = disconnected and time.time() - disconnected > self.application_close_timeout
        if overdue and application_instance and not application_instance.done():
            daphne_logger.warning(
                "Application instance %r for connection %s took too long to shut down and was killed.",
                application_instance,
                repr(protocol),
            )
            application_instance.cancel()
        # The application is done: reap it.
        if application_instance and application_instance.done():
            try:
                exception = application_instance.exception()
            except (asyncio.CancelledError, futures.CancelledError):
                pass
            else:
                if exception:
                    if isinstance(exception, KeyboardInterrupt):
                        self.stop()
                    else:
                        daphne_logger.error("Exception inside application: %s", exception, exc_info=exception)
                        if not disconnected:
                            protocol.handle_exception(exception)
            del self.connections[protocol]["application_instance"]
            application_instance = None
        # Closed, and its application gone: forget the connection.
        if not application_instance and disconnected:
            del self.connections[protocol]

    def listen_success(self, port):
        self.ports.append(port)
        super().listen_success(port)

    def install_signal_handlers(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum, frame):
        name = signal.Signals(signum).name
        if self.stopping:  # here, not on the reactor: it may have stopped already
            self.exit_now(f"{name} during shutdown")
        self.stopping = True
        reactor.callFromThread(self.shut_down, name)

    def shut_down(self, name):
        logger.info("%s: shutting down, %d requests and sockets open", name, len(self.connections))
        watchdog = threading.Timer(EXIT_SECONDS, self.exit_now, [f"still running {EXIT_SECONDS} s after {name}"])
        watchdog.daemon = True
        watchdog.start()
        for port in self.ports:
            port.stopListening()
        shutdown.begin()
        self.drain(reactor.seconds() + DRAIN_SECONDS)

    def drain(self, deadline):
        self.close_sockets()
        busy = [protocol for protocol, details in self.connections.items() if self.in_flight(details)]
        busy += [None] * heartbeat.cleaning()  # closed sockets still leaving their groups
        if not busy:
            logger.info("Every request and socket finished")
            self.stop()
        elif reactor.seconds() >= deadline:
            logger.warning("Stopping with %d requests or sockets still open after %d s", len(busy), DRAIN_SECONDS)
            self.stop()
        else:
            reactor.callLater(0.1, self.drain, deadline)

    def close_sockets(self):
        """Close open WebSockets with 1001 (again each round, for handshakes that were under way)."""
        for protocol in list(self.connections):
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN:
                # Not serverClose/sendClose: autobahn refuses 1001 there (as a code for applications).
                protocol.sendCloseFrame(code=GOING_AWAY, reasonUtf8=b"server shutting down")

    @staticmethod
    def in_flight(details):
        """A request or socket still open, or an application still running for one."""
        application = details.get("application_instance")
        return "disconnected" not in details or (application is not None and not application.done())

    def kill_all_applications(self):
        # Daphne's version fails on a connection with no application (a request body still
        # arriving, a request just upgraded to a WebSocket) and then cancels none of the others.
        everything = self.connections
        self.connections = {p: d for p, d in everything.items() if "application_instance" in d}
        try:
            return super().kill_all_applications()
        finally:
            self.connections = everything  # the protocols' connectionLost still look themselves up

    @staticmethod
    def exit_now(why):
        logger.error("Exiting at once: %s", why)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(1)


class CLI(CommandLineInterface):
    server_class = GracefulServer

    def __init__(self):
        super().__init__()
        # Daphne cancels a consumer still running 10 s after its socket closed. With 20,000 sockets
        # closing at once the loop needs ~20 s to run all their teardowns (bench_chat): those
        # consumers aren't stuck, only waiting their turn. Their clean-up is queued either way.
        self.parser.set_defaults(application_close_timeout=APPLICATION_CLOSE_SECONDS)


if __name__ == "__main__":
    CLI.entrypoint()
