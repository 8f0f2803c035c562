"""The server's sockets: a port in use is one line before any model loads, and a connection whose
request headers do not arrive within --header-timeout is closed (a trickling, slowloris client),
while a prompt client is served and kept alive."""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip("uvicorn")
import uvicorn  # noqa: E402

from ganforge.errors import InputError  # noqa: E402
from ganforge.serve.server import bind, header_deadline  # noqa: E402
from tests.cli.test_cli import run_cli  # noqa: E402

DEADLINE = 1.0


async def hello(scope, receive, send):
    """A minimal ASGI app: 200 "ok" for every request."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server():
    """(host, port) of uvicorn serving `hello` with a 1 s header deadline, in a thread."""
    sock = bind("127.0.0.1", 0)
    instance = uvicorn.Server(uvicorn.Config(hello, http=header_deadline(DEADLINE), log_level="error", lifespan="off"))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.01)
    yield sock.getsockname()[:2]
    instance.should_exit = True
    thread.join(10)


def answer(conn: socket.socket) -> bytes:
    """One whole response of `hello` (its headers and body may come in separate segments)."""
    data = b""
    while not data.endswith(b"\r\n\r\nok"):
        chunk = conn.recv(1024)
        assert chunk, data
        data += chunk
    return data


def closed_after(conn: socket.socket, trickle: bytes, every: float = 0.1, limit: float = 6.0) -> float:
    """Seconds until the server closes `conn` while one byte of `trickle` is sent every `every`
    seconds (cycling), or `limit` if it never does."""
    start = time.monotonic()
    conn.settimeout(every)
    i = 0
    while time.monotonic() - start < limit:
        try:
            conn.send(trickle[i % len(trickle):i % len(trickle) + 1])
            if conn.recv(1024) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        i += 1
    return limit


def test_a_trickling_client_is_closed_at_the_deadline(server):
    # "X-a: b\r\n" repeated never ends the headers; one byte per 0.1 s keeps resetting uvicorn's own idle timer
    with socket.create_connection(server) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        waited = closed_after(conn, b"X-a: b\r\n")
    assert DEADLINE - 0.2 < waited < DEADLINE + 1.5, waited


def test_many_trickling_clients_are_all_closed_and_a_prompt_one_still_served(server):
    clients = [socket.create_connection(server) for _ in range(30)]
    try:
        for conn in clients:
            conn.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(DEADLINE + 1.0)
        for conn in clients:
            conn.settimeout(2)
            assert conn.recv(1024) == b""  # closed by the server, nothing answered
    finally:
        for conn in clients:
            conn.close()
    with socket.create_connection(server) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        assert answer(conn).startswith(b"HTTP/1.1 200")


def test_a_kept_alive_connection_gets_a_new_deadline_for_its_next_request(server):
    with socket.create_connection(server) as conn:
        conn.settimeout(5)
        for _ in range(2):  # prompt requests on one connection: each answered, within the deadline or not in total
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer(conn).startswith(b"HTTP/1.1 200")
            time.sleep(DEADLINE * 0.6)
        conn.sendall(b"GET / HTTP/1.1\r\n")  # the third request's headers trickle: closed at its deadline
        waited = closed_after(conn, b"X-a: b\r\n")
    assert waited < DEADLINE + 1.5, waited


def test_a_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=rf"^--port {port}: another program already listens on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)
        code, out, err = run_cli(capsys, "serve", "mnist-cond", "--port", port)
    assert code == 2 and out == ""
    assert err == f"ganforge: error: --port {port}: another program already listens on 127.0.0.1:{port}; " \
                  "pick another --port\n"
