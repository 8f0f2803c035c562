"""Running the app: uvicorn over a socket bound here first (a port in use is one line, not
uvicorn's exit 3), with HTTP/1.1 (h11) connections that must send a request's headers within
`header_timeout` seconds, or are closed. uvicorn itself times out only idle keep-alive
connections, and a client trickling a byte at a time resets that; without a deadline, a few
dozen such clients hold every connection the server will take (slowloris)."""

from __future__ import annotations

import asyncio
import errno
import socket

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ganforge.errors import InputError

class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers: armed when the
    connection opens and again when a response completes (the next request's turn), disarmed when
    the headers have arrived (a new request cycle starts); at the deadline the connection closes.
    A request's body and the app's work are not bounded here (the app's own timeout is). Made
    with its seconds by `header_deadline`."""

    header_timeout: float
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()


def header_deadline(seconds: float) -> type[HeaderDeadline]:
    """The protocol class (what uvicorn.Config's `http` takes) with a `seconds` header deadline."""
    return type("HeaderDeadline", (HeaderDeadline,), {"header_timeout": seconds})


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; InputError naming --port/--host when it cannot be had."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"--port {port}: another program already listens on {host}:{port}; "
                             "pick another --port") from None
        raise InputError(f"--host {host} --port {port}: cannot listen there ({exc.strerror})") from None
    return sock


def run(app, sock: socket.socket, header_timeout: float) -> None:
    """Serve `app` on `sock` (from `bind`) until interrupted."""
    uvicorn.Server(uvicorn.Config(app, http=header_deadline(header_timeout), log_level="warning")).run(sockets=[sock])
