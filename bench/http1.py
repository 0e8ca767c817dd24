"""A small HTTP/1.1 client for the benchmark's drivers: keep-alive connections over
asyncio streams, one request at a time on each, answers framed by Content-Length or
chunked (server-sent events included).

Why not httpx: on this machine httpx spends about 2 ms of its own on each request
(building it, its pool, h11 in pure Python both ways), which is more than k8smcp adds
to a call. The benchmark measures servers, so the drivers send their requests with
this instead, like the load generators servers are usually measured with; the latency
part still times REST through httpx once, for scale (bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_LIMIT = 1 << 20  # longest header line accepted from a server


class HttpError(Exception):
    """The connection failed or the server broke HTTP/1.1 framing."""


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    headers: dict[str, str] = field(repr=False)  # lower-case names
    content: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Http1:
    """Requests to one server (``base_url``: scheme http, host, port, optional path)."""

    def __init__(
        self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 120
    ) -> None:
        split = urlsplit(base_url)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"not an http:// URL: {base_url}")
        self.host = split.hostname
        self.port = split.port or 80
        self.base_path = split.path.rstrip("/")
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and read the whole answer.

        A kept-alive connection the server closed while it was idle is replaced, once,
        when it ends before any byte of an answer.
        """
        body = b"" if json_body is None else json.dumps(json_body).encode()
        extra = dict(headers or {})
        if json_body is not None:
            extra.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            while self._idle and self._idle[-1][0].at_eof():  # closed by the server
                self._idle.pop()[1].close()
            reused = bool(self._idle) and attempt == 0
            conn = self._idle.pop() if reused else await self._connect()
            try:
                async with asyncio.timeout(self.timeout):
                    answer, keep = await _exchange(
                        conn, method, self.base_path + path, {**self.headers, **extra}, body
                    )
            except _NoAnswer:
                conn[1].close()
                if reused:
                    continue
                raise HttpError("the server closed the connection without answering") from None
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return answer
        raise AssertionError("unreachable")

    async def lines(self, path: str, headers: dict[str, str] | None = None) -> AsyncIterator[str]:
        """GET ``path`` on a connection of its own and yield the answer's lines as they come
        (server-sent events); the connection closes when the iteration ends."""
        reader, writer = await self._connect()
        try:
            head = _head("GET", self.base_path + path, {**self.headers, **(headers or {})}, b"")
            writer.write(head)
            await writer.drain()
            status, answer_headers = await _read_head(await reader.readline(), reader)
            if status != 200:
                raise HttpError(f"GET {path}: HTTP {status}")
            pending = b""
            async for data in _body(reader, answer_headers):
                pending += data
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.rstrip(b"\r").decode()
        finally:
            writer.close()

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=_LIMIT)
        except OSError as exc:
            raise HttpError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        return reader, writer


class _NoAnswer(Exception):
    """The connection ended before the first byte of an answer."""


async def _exchange(
    conn: _Connection, method: str, target: str, headers: dict[str, str], body: bytes
) -> tuple[Answer, bool]:
    reader, writer = conn
    try:
        writer.write(_head(method, target, headers, body) + body)
        await writer.drain()
        status_line = await reader.readline()
    except ConnectionError:
        raise _NoAnswer from None
    if not status_line:
        raise _NoAnswer
    try:
        status, answer_headers = await _read_head(status_line, reader)
        if status < 200 or status in (204, 304) or method == "HEAD":
            content = b""
        else:
            content = b"".join([chunk async for chunk in _body(reader, answer_headers)])
    except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
        raise HttpError(f"{method} {target}: broken answer ({exc!r})") from exc
    keep = answer_headers.get("connection", "").lower() != "close" and (
        "content-length" in answer_headers or "chunked" in _encoding(answer_headers) or not content
    )
    return Answer(status, answer_headers, content), keep


def _head(method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {target or '/'} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(
    status_line: bytes, reader: asyncio.StreamReader
) -> tuple[int, dict[str, str]]:
    parts = status_line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _encoding(headers: dict[str, str]) -> str:
    return headers.get("transfer-encoding", "").lower()


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    if "chunked" in _encoding(headers):
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield await reader.readexactly(size)
            await reader.readexactly(2)  # the CRLF after each chunk
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length:
            yield await reader.readexactly(length)
    else:  # framed by the end of the connection
        while data := await reader.read(1 << 16):
            yield data
