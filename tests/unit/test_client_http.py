"""The plain-socket HTTP/1.1 answer parsing behind `k8smcp call` (client._parse_response)."""

from __future__ import annotations

import pytest

from k8smcp.client import _parse_response

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"


def test_content_length_answer() -> None:
    raw = HEAD + b"content-length: 11\r\n\r\n" + b'{"ok":true}'
    assert _parse_response(raw) == (200, b'{"ok":true}')


def test_chunked_answer() -> None:
    body = b'7\r\n{"ok":t\r\n4;ext=1\r\nrue}\r\n0\r\n\r\n'
    raw = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body
    assert _parse_response(raw) == (200, b'{"ok":true}')


def test_error_status_and_answer_to_the_end() -> None:
    raw = b"HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\nnot here"
    assert _parse_response(raw) == (404, b"not here")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{}",
        HEAD + b"transfer-encoding: chunked\r\n\r\n10\r\nshort",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc\r\n\r\n",
    ],
)
def test_broken_answers_are_value_errors(raw: bytes) -> None:
    with pytest.raises(ValueError):
        _parse_response(raw)
