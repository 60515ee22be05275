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

import logging
import os
import signal
import sys
import threading

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from socialsite import shutdown

logger = logging.getLogger("socialsite.serve")  # not __main__ under `python -m`

DRAIN_SECONDS = 6
EXIT_SECONDS = 8  # within the 10 s an orchestrator gives before SIGKILL, with room to spare
GOING_AWAY = 1001


class GracefulServer(Server):
    def run(self):
        self.ports = []
        self.stopping = False
        if self.signal_handlers:
            # Twisted installs its own handlers (stop at once) as the reactor starts; replace them.
            reactor.callWhenRunning(self.install_signal_handlers)
        super().run()

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


if __name__ == "__main__":
    CLI.entrypoint()
