"""No cross-talk under real servers: every request sees its own account's flags, and only those.

200 accounts with 200 different flag patterns hit each server at once. The flags must be
right in the handler, in every chunk of a streamed body (chunks of concurrent requests
interleave), in ASGI background tasks and sync endpoints, over keep-alive connections
(after a large body, followed by an anonymous request) and on websockets.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.servers.apps import (
    ACCOUNT_HEADER,
    EVERYONE_FLAG,
    MAX_ACCOUNT,
    N_FLAGS,
    STREAM_CHUNKS,
    expected_signature,
)

ACCOUNTS = list(range(1, 201))
THREADS = 40
TIMEOUT = 20.0
BIG_BODY = b"x" * (64 * 1024 + 4321)  # past uvicorn's 64 KiB flow-control high-water mark

T = TypeVar("T")
R = TypeVar("R")

# One request per account, and an anonymous one after every tenth account.
Who = int | None
CALLERS: list[Who] = []
for _i in ACCOUNTS:
    CALLERS.append(_i)
    if _i % 10 == 0:
        CALLERS.append(None)


def account_id(i: Who) -> str | None:
    return None if i is None else f"acct-{i}"


def headers_for(i: Who) -> dict[str, str]:
    return {} if i is None else {ACCOUNT_HEADER: f"acct-{i}"}


def in_parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(fn, items, timeout=120))


def client(base_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS),
    )


def check_seen(i: Who, seen: dict[str, Any], where: str) -> list[str]:
    """Problems with what a request, chunk or task reported seeing (empty: all right)."""
    want = {"header": account_id(i), "account": account_id(i), "sig": expected_signature(i)}
    got = {key: seen.get(key) for key in want}
    return [] if got == want else [f"{where}: expected {want}, got {got}"]


def assert_no_problems(problems: list[list[str]]) -> None:
    flat = [p for group in problems for p in group]
    assert flat == [], f"{len(flat)} cross-talk problems, first ones:\n" + "\n".join(flat[:5])


def parse_stream(i: Who, text: str, where: str) -> list[str]:
    lines = text.splitlines()
    if len(lines) != STREAM_CHUNKS:
        return [f"{where}: expected {STREAM_CHUNKS} chunks, got {text!r}"]
    problems = []
    for index, line in enumerate(lines):
        number, header, account, *sig = line.split(" ")
        seen = {
            "header": None if header == "-" else header,
            "account": None if account == "-" else account,
            "sig": sig[0] if sig else "",
        }
        if number != str(index):
            problems.append(f"{where}: chunk {index} out of order: {line!r}")
        problems += check_seen(i, seen, f"{where} chunk {index}")
    return problems


# --- the expectations themselves --------------------------------------------------------


def test_every_caller_has_a_flag_pattern_of_its_own() -> None:
    """Otherwise a mix-up between two accounts could go unnoticed."""
    signatures = [expected_signature(i) for i in [*ACCOUNTS, None]]
    assert len(set(signatures)) == len(signatures)
    assert all(len(sig) == N_FLAGS for sig in signatures)
    assert expected_signature(None) == "0" * EVERYONE_FLAG + "1" + "0" * (N_FLAGS - 46)
    assert max(ACCOUNTS) <= MAX_ACCOUNT


# --- WSGI: gunicorn sync and gthread ----------------------------------------------------


def test_wsgi_handlers_see_their_own_flags(wsgi_url: str) -> None:
    with client(wsgi_url) as http:

        def call(i: Who) -> list[str]:
            response = http.get("/echo", headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            return check_seen(i, response.json(), f"{i} /echo")

        assert_no_problems(in_parallel(call, CALLERS))


def test_wsgi_every_streamed_chunk_sees_its_own_flags(wsgi_url: str) -> None:
    with client(wsgi_url) as http:

        def call(i: Who) -> list[str]:
            response = http.get("/stream", headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            return parse_stream(i, response.text, f"{i} /stream")

        assert_no_problems(in_parallel(call, CALLERS))


# --- ASGI: uvicorn ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/echo", "/sync-echo"])
def test_asgi_handlers_see_their_own_flags(asgi_url: str, path: str) -> None:
    with client(asgi_url) as http:

        def call(i: Who) -> list[str]:
            response = http.get(path, headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            return check_seen(i, response.json(), f"{i} {path}")

        assert_no_problems(in_parallel(call, CALLERS))


@pytest.mark.parametrize("path", ["/stream", "/sync-stream"])
def test_asgi_every_streamed_chunk_sees_its_own_flags(asgi_url: str, path: str) -> None:
    with client(asgi_url) as http:

        def call(i: Who) -> list[str]:
            response = http.get(path, headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            return parse_stream(i, response.text, f"{i} {path}")

        assert_no_problems(in_parallel(call, CALLERS))


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_asgi_background_tasks_see_their_requests_flags(asgi_url: str, kind: str) -> None:
    with client(asgi_url) as http:

        def call(i: Who) -> list[str]:
            key = uuid.uuid4().hex
            params = {"key": key, "sync": "1" if kind == "sync" else "0"}
            response = http.get("/background", params=params, headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            deadline = time.monotonic() + TIMEOUT
            while True:
                # Polled anonymously: the result endpoint's own flags must not matter.
                result = http.get("/background/result", params={"key": key})
                if result.status_code == 200:
                    break
                if result.status_code != 404 or time.monotonic() > deadline:
                    return [f"{i}: background result: {result.status_code} {result.text[:500]}"]
                time.sleep(0.02)
            recorded = result.json()
            if recorded.get("kind") != kind:
                return [f"{i}: wrong kind of task ran: {recorded}"]
            return check_seen(i, recorded, f"{i} {kind} background task")

        assert_no_problems(in_parallel(call, CALLERS))


def test_asgi_mixed_endpoints_at_once(asgi_url: str) -> None:
    """Streams, sync endpoints and plain handlers of different accounts, all interleaved."""
    paths = ["/echo", "/stream", "/sync-echo", "/sync-stream"]
    jobs = [(i, paths[n % len(paths)]) for n, i in enumerate(CALLERS)]
    with client(asgi_url) as http:

        def call(job: tuple[Who, str]) -> list[str]:
            i, path = job
            response = http.get(path, headers=headers_for(i))
            if response.status_code != 200:
                return [f"{i}: status {response.status_code}: {response.text[:500]}"]
            if "stream" in path:
                return parse_stream(i, response.text, f"{i} {path}")
            return check_seen(i, response.json(), f"{i} {path}")

        assert_no_problems(in_parallel(call, jobs))


def test_asgi_websockets_see_their_own_flags_for_their_whole_life(asgi_url: str) -> None:
    ws_base = "ws://" + urlsplit(asgi_url).netloc
    callers = [*ACCOUNTS[:40], None, None]

    def talk(i: Who) -> list[str]:
        problems = []
        with ws_connect(
            ws_base + "/ws", additional_headers=headers_for(i), open_timeout=10, close_timeout=5
        ) as ws:
            for n in range(3):
                ws.send(f"m{n}")
                reply = json.loads(ws.recv(timeout=TIMEOUT))
                if reply.get("message") != f"m{n}":
                    problems.append(f"{i}: reply to m{n} was {reply}")
                problems += check_seen(i, reply, f"{i} websocket message {n}")
            ws.send("bye")
        return problems

    assert_no_problems(in_parallel(talk, callers))


# --- keep-alive: several requests on one connection --------------------------------------


def exchange(
    conn: http.client.HTTPConnection,
    i: Who,
    *,
    body: bytes | None = None,
    read_body: bool = True,
) -> dict[str, Any]:
    method = "GET" if body is None else "POST"
    target = "/echo" if read_body else "/echo?skip=1"
    headers = headers_for(i)
    if body is not None:
        headers["Content-Type"] = "application/octet-stream"
    conn.request(method, target, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    assert response.status == 200, payload[:500]
    assert not response.will_close, "the server closed a keep-alive connection"
    result: dict[str, Any] = json.loads(payload)
    return result


def connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)


def check_large_body_then_anonymous(base_url: str, body: bytes, *, read_body: bool) -> None:
    conn = connection(base_url)
    try:
        first = exchange(conn, 7, body=body, read_body=read_body)
        assert check_seen(7, first, "POST") == []
        assert first["body_bytes"] == (len(body) if read_body else 0)
        second = exchange(conn, None)
        assert second["client_port"] == first["client_port"], "not the same connection"
        assert check_seen(None, second, "anonymous request after it") == []
        third = exchange(conn, 8, body=body, read_body=read_body)
        fourth = exchange(conn, None, body=b"")
        assert third["client_port"] == fourth["client_port"] == first["client_port"]
        assert check_seen(8, third, "second POST") == []
        assert check_seen(None, fourth, "anonymous empty POST after it") == []
    finally:
        conn.close()


def test_keep_alive_large_body_then_anonymous(keep_alive_url: str) -> None:
    check_large_body_then_anonymous(keep_alive_url, BIG_BODY, read_body=True)


def test_uvicorn_keep_alive_unread_large_body_then_anonymous(uvicorn_h11: str) -> None:
    """The app never reads the 64+ KiB body; uvicorn discards it, the connection goes on."""
    check_large_body_then_anonymous(uvicorn_h11, BIG_BODY, read_body=False)


def test_gthread_keep_alive_unread_body_then_anonymous(gunicorn_gthread: str) -> None:
    # A small body: gunicorn 27's gthread worker drops the connection (without saying
    # "Connection: close") after a large unread body, with or without flagware.
    check_large_body_then_anonymous(gunicorn_gthread, b"y" * 1000, read_body=False)


def test_keep_alive_sequence_of_accounts_on_one_connection(keep_alive_url: str) -> None:
    sequence: list[Who] = [3, None, 200, 200, None, 17, 3, None, 128, 1, None]

    def run_one(_: int) -> list[str]:
        conn = connection(keep_alive_url)
        problems = []
        ports = set()
        try:
            for n, i in enumerate(sequence):
                body = BIG_BODY if n % 3 == 0 else None
                seen = exchange(conn, i, body=body)
                ports.add(seen["client_port"])
                problems += check_seen(i, seen, f"request {n} on one connection")
        finally:
            conn.close()
        if len(ports) != 1:
            problems.append(f"requests went over {len(ports)} connections, not one")
        return problems

    # Several such connections at once, so the server interleaves them.
    assert_no_problems(in_parallel(run_one, range(12)))


def read_response(stream: Any) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (with a Content-Length) from a buffered socket file."""
    status_line = stream.readline(65536)
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while True:
        line = stream.readline(65536)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def test_pipelined_requests_of_different_accounts(keep_alive_url: str) -> None:
    """Requests sent back to back before any answer: each answered with its own flags."""
    parts = urlsplit(keep_alive_url)
    sequence: list[Who] = [5, None, 6, 6, None, 250, 9, None]
    raw = b""
    for n, i in enumerate(sequence):
        lines = ["POST /echo HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers_for(i).items()]
        body = BIG_BODY if n == 0 else b"abc"
        lines += [f"Content-Length: {len(body)}", "", ""]
        raw += "\r\n".join(lines).encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        with sock.makefile("rb") as stream:
            results = [read_response(stream) for _ in sequence]
    for n, (i, (status, _, body)) in enumerate(zip(sequence, results, strict=True)):
        assert status == 200, body[:500]
        assert check_seen(i, json.loads(body), f"pipelined request {n}") == []
