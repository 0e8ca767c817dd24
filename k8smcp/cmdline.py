"""Split a command string as a POSIX shell would (``shlex.split``), in linear time.

``shlex`` builds each word one character at a time (``token += char``), which is
quadratic in the length of a word: a 512 KiB argument took seconds of the event loop.
This splitter gives the same words for every input (tests/unit/test_split_command.py
compares them on generated strings) with one regular-expression step per piece of a
word. Callers cap the length first (``MAX_COMMAND_BYTES``).
"""

from __future__ import annotations

import re

# The most a command may hold, in UTF-8 bytes of its arguments. Linux refuses one
# argument over 128 KiB (E2BIG) and manifests travel on stdin, so 64 KiB leaves every
# real command room and keeps every argument within what exec accepts.
MAX_COMMAND_BYTES = 64 * 1024

_SPACE = re.compile(r"[ \t\r\n]*")
_PLAIN = re.compile(r"[^ \t\r\n'\"\\]+")
_DOUBLE = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.S)  # the inside of "...", up to the close
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')


def command_bytes(args: list[str]) -> int:
    """How many bytes ``args`` take as process arguments (each with its NUL).

    Raises:
        UnicodeEncodeError: an argument holds a lone surrogate, which no process
            argument can carry.
    """
    return sum(len(arg.encode()) + 1 for arg in args)


def split(text: str) -> list[str]:
    r"""The words of ``text``, as ``shlex.split(text)`` gives them.

    Single quotes keep everything; inside double quotes a backslash escapes only ``"``
    and ``\\``; outside quotes it escapes any character. No comments, no expansion.

    Raises:
        ValueError: an unclosed quote, or a backslash at the very end (shlex's messages).
    """
    words: list[str] = []
    pos = _SPACE.match(text).end()  # type: ignore[union-attr]  # always matches
    end = len(text)
    while pos < end:
        parts: list[str] = []
        while pos < end and text[pos] not in " \t\r\n":
            char = text[pos]
            if char == "'":
                close = text.find("'", pos + 1)
                if close < 0:
                    raise ValueError("No closing quotation")
                parts.append(text[pos + 1 : close])
                pos = close + 1
            elif char == '"':
                inside = _DOUBLE.match(text, pos + 1)
                assert inside is not None  # matches the empty string at least
                if inside.end() >= end:
                    raise ValueError("No closing quotation")
                if text[inside.end()] != '"':  # a backslash that ends the text
                    raise ValueError("No escaped character")
                parts.append(_DOUBLE_ESCAPE.sub(r"\1", inside.group()))
                pos = inside.end() + 1
            elif char == "\\":
                if pos + 1 >= end:
                    raise ValueError("No escaped character")
                parts.append(text[pos + 1])
                pos += 2
            else:
                plain = _PLAIN.match(text, pos)
                assert plain is not None  # char is none of the specials
                parts.append(plain.group())
                pos = plain.end()
        words.append("".join(parts))
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
    return words
