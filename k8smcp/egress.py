"""The egress proxy: every connection a confined child makes, checked when it is made.

An HTTP proxy on a loopback port of k8smcp's own. Confined children may connect to no
other TCP port (``k8smcp.confine``); ``HTTPS_PROXY``/``HTTP_PROXY`` name the proxy, and
a cluster at a loopback server (which Go never proxies from the environment) names it as
its ``proxy-url`` (``confine.through_proxy``).

Each call registers its policy and gets a credential, which its child sends as the proxy
URL's userinfo (``Proxy-Authorization: Basic``): a connection without a live credential
is refused. For each ``CONNECT host:port`` (or absolute-form ``GET http://...``) the proxy
resolves the name itself, checks every resolved address with the call's address policy
(``k8smcp.policy.address.check_host``) and connects only to an address it checked. So a
name that resolves elsewhere by now (DNS rebinding), a redirect, a chart URL read from a
repository index or a flag the command grammar does not know all meet the same check.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import logging
import os
import secrets
import socket
from dataclasses import replace

from k8smcp.errors import PolicyDeniedError
from k8smcp.executor import in_thread
from k8smcp.policy import Answers, Policy
from k8smcp.policy.address import check_host

logger = logging.getLogger(__name__)

_USER = "k8smcp"
_MAX_HEAD = 64 * 1024
_HEAD_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
_HOP_BY_HOP = (b"proxy-authorization", b"proxy-connection", b"connection", b"keep-alive")


class EgressProxy:
    """A loopback HTTP proxy that admits the connections each call's policy allows.

    The listening socket is made at once (its port goes into the children's confinement);
    serving starts on the first ``start`` inside an event loop.
    """

    def __init__(self, answers: Answers | None = None) -> None:
        # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say TCP, and with
        # it on, a reply written in two parts waited 40 ms for the child's delayed ACK
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self._calls: dict[str, Policy] = {}
        # each call's open connections (both ends), closed when its credential ends
        self._open: dict[str, set[asyncio.StreamWriter]] = {}
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # names' addresses, remembered a few seconds (shared with the service's checks)
        self._answers = answers if answers is not None else Answers()

    async def start(self) -> None:
        """Serve on the running event loop (again, if an earlier loop has ended)."""
        loop = asyncio.get_running_loop()
        if self._server is None or self._loop is not loop:
            self._server = await asyncio.start_server(self._handle, sock=self._sock)
            self._loop = loop

    def close(self) -> None:
        """Stop serving and close the listening socket (at shutdown)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._sock.close()

    def register(self, policy: Policy) -> str:
        """A credential for one call, admitting what ``policy`` allows until ``forget``."""
        token = secrets.token_urlsafe(24)
        self._calls[token] = policy
        self._open[token] = set()
        return token

    def forget(self, token: str) -> None:
        """End a call's credential and close what its child left open."""
        self._calls.pop(token, None)
        for writer in self._open.pop(token, ()):
            writer.close()

    def url(self, token: str) -> str:
        """The proxy URL a child uses, with the call's credential as its userinfo."""
        return f"http://{_USER}:{token}@127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            if len(head) > _MAX_HEAD:
                return await _answer(writer, 431, "request head too large")
            request, headers = _parse_head(head)
            if request is None:
                return await _answer(writer, 400, "not an HTTP proxy request")
            method, target, version = request
            token = _credential(headers) or ""
            policy = self._calls.get(token)
            if policy is None:
                return await _answer(writer, 407, "no valid k8smcp call credential")
            self._open[token].add(writer)
            if method == b"CONNECT":
                address = _split_host_port(target.decode("latin-1"), None)
                rest = b""
            else:
                address, rest = _absolute_http(target)
            if address is None:
                return await _answer(writer, 400, "unusable target")
            host, port = address
            try:
                up_reader, upstream = await self._connect(policy, host, port)
                if token not in self._open:  # the call ended meanwhile
                    return
                self._open[token].add(upstream)
            except PolicyDeniedError as exc:
                logger.warning("egress refused: %s", exc.message)
                return await _answer(writer, 403, f"k8smcp egress proxy refused: {exc.message}")
            except OSError as exc:
                why = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
                return await _answer(writer, 502, f"dial tcp {host}:{port}: {why}")
            if method == b"CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.write(_origin_head(method, rest, version, headers))
            await _relay(reader, writer, up_reader, upstream)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # the loop is ending (a one-shot `run --confine`): asyncio 3.11's start_server
            # logs a handler that ends cancelled as an error; nothing awaits this task
            pass
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()

    async def _resolve(self, policy: Policy, host: str) -> tuple[str, ...]:
        """``host``'s addresses by ``policy.resolver``, remembered a few seconds (``Answers``).

        The lookup may block, so it runs in a worker thread; a kubectl per call connects
        to the same API server again and again. What is remembered is only ever connected
        to after the call's own policy has checked it.
        """
        found = self._answers.known(policy.resolver, (host,))
        if found is None:
            found = await in_thread(self._answers.resolve, policy.resolver, (host,))
        return tuple(a.split("%", 1)[0] for a in found[host])

    async def _connect(
        self, policy: Policy, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Resolve ``host``, check every address, connect to one of those addresses only."""
        try:
            addresses: tuple[str, ...] = (str(ipaddress.ip_address(host)),)
        except ValueError:
            addresses = await self._resolve(policy, host)
        check_host(replace(policy, resolver=lambda _name: addresses), host, field="connection")
        if not addresses:
            raise OSError(f"{host} does not resolve")
        error: OSError = OSError("no address")
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, port), _CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                error = exc if isinstance(exc, OSError) else OSError(str(exc))
        raise error


def _parse_head(head: bytes) -> tuple[tuple[bytes, bytes, bytes] | None, list[tuple[bytes, bytes]]]:
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return None, []
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return None, []
        headers.append((name.strip().lower(), value.strip()))
    return (parts[0], parts[1], parts[2]), headers


def _credential(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"proxy-authorization" and value[:6].lower() == b"basic ":
            try:
                user, _, token = base64.b64decode(value[6:], validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return None
            return token.decode("latin-1") if user == _USER.encode() else None
    return None


def _split_host_port(text: str, default: int | None) -> tuple[str, int] | None:
    host, sep, port_text = text.rpartition(":")
    if not sep or "]" in port_text:
        host, port_text = text, ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text:
        if default is None:
            return None
        return (host, default) if host else None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        return None
    return host, int(port_text)


def _absolute_http(target: bytes) -> tuple[tuple[str, int] | None, bytes]:
    """``http://host[:port]/path`` -> ((host, port), b"/path"); plain HTTP only."""
    if not target.lower().startswith(b"http://"):
        return None, b""
    authority, slash, path = target[7:].partition(b"/")
    if b"@" in authority:
        return None, b""
    return _split_host_port(authority.decode("latin-1"), 80), slash + path or b"/"


def _origin_head(
    method: bytes, path: bytes, version: bytes, headers: list[tuple[bytes, bytes]]
) -> bytes:
    """The request as the origin server sees it; one request per connection."""
    lines = [method + b" " + path + b" " + version]
    lines += [name + b": " + value for name, value in headers if name not in _HOP_BY_HOP]
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    """An error answer; the reason goes in the status line, which Go CLIs print."""
    phrase = "".join(ch if ch.isprintable() else " " for ch in reason)[:300]
    body = f"{phrase}\n".encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        f"content-type: text/plain\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    try:
        await writer.drain()
    except (ConnectionError, OSError):
        pass
