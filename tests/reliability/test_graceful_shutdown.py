"""SIGTERM drains: a real ``consentry serve`` process gets SIGTERM while bulk opt-out imports are
in flight; it stops accepting connections, every request in flight completes with 200 and its
opt-outs are stored, and the process exits 0. On SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import select
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from consentry import Consentry
from consentry.domain.model import ScopeKind
from consentry.service import ScopeRef
from consentry.testing import free_port, start_server

REQUESTS = 3
NUMBERS = 3_000  # per request: each import takes a fraction of a second or more


def _request(port: int, key: str, numbers: list[str]) -> bytes:
    body = ("phone\n" + "\n".join(numbers)).encode()
    head = (
        "POST /v1/optouts:import?scope_kind=tenant&reason=drain HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _unread_bytes(server_port: int, client_ports: set[int]) -> int:
    """Bytes of these connections still queued in the kernel, on either side (Linux
    ``/proc/net/tcp``): 0 once the server process has read every request whole."""
    queued = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        tx_queue, rx_queue = (int(size, 16) for size in fields[4].split(":"))
        if local == server_port and remote in client_ports:
            queued += rx_queue  # sent to the server, not read by it yet
        elif local in client_ports and remote == server_port:
            queued += tx_queue  # not even sent yet
    return queued


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_drains_requests_in_flight(database_url: str, service: Consentry) -> None:
    tenant, key = service.create_tenant("Drain", slug=f"drain-{secrets.token_hex(4)}")
    batches = [[f"+1206{400 + i:03d}{n:04d}" for n in range(NUMBERS)] for i in range(REQUESTS)]
    port = free_port()
    server = start_server(database_url, port)
    try:
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=120) for _ in batches]
        senders = [
            threading.Thread(target=sock.sendall, args=(_request(port, key, numbers),))
            for sock, numbers in zip(sockets, batches, strict=True)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        client_ports = {sock.getsockname()[1] for sock in sockets}
        deadline = time.monotonic() + 60
        while _unread_bytes(port, client_ports):  # the server holds every request whole
            assert time.monotonic() < deadline, "the server does not read the requests"
            time.sleep(0.01)
        ready, _, _ = select.select(sockets, [], [], 0)
        assert len(ready) < REQUESTS, "every import finished before SIGTERM: nothing was in flight"
        server.send_signal(signal.SIGTERM)

        deadline = time.monotonic() + 20
        while not _refused(port):  # the listener closes first, while requests still run
            assert time.monotonic() < deadline, "the server still accepts connections"
            time.sleep(0.05)

        responses = [_read_all(sock) for sock in sockets]
        for sock in sockets:
            sock.close()
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    for raw in responses:
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), raw[:300]
        assert b'"imported":true' in body and f'"added":{NUMBERS}'.encode() in body, body
    everyone = [n for numbers in batches for n in numbers]
    stored = service.check_optouts(tenant, everyone, scope=ScopeRef(ScopeKind.TENANT))
    assert all(status.opted_out for status in stored)
    assert _refused(port)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
