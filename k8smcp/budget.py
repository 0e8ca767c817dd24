"""The answer budget: how much of a command's stdout a model is shown, and how to get more.

MCP callers get ``Settings.output_budget`` bytes of stdout by default
(``config.DEFAULT_OUTPUT_BUDGET``, 24,000): at most about 8,600 tokens, since kubectl's
padded tables are the densest output measured (2.8 bytes per o200k token; YAML 3-3.5,
bench part ``tokens``), so under the 10,000 tokens at which Claude Code warns about a
tool's output, and far under the 25,000 at which it cuts. A call may ask for
``max_bytes`` up to ``Settings.max_output_budget`` (64,000: about 22,900 tokens of a
table, still under that cut).
REST and the CLI apply it only when asked.

A cut never falls inside a UTF-8 character, and falls at a line end when one is in the
second half of the window. The text the model reads says how much was left out, how to
narrow the question, and how to read the next part: the same call with ``offset`` (a
byte offset into the whole output). The server keeps nothing between calls: the next
part re-runs the command and slices its output, so any replica can answer it, and the
parts join up exactly as long as the output is the same (a listing whose objects changed
in between can shift). That is why it is refused for commands that change the cluster:
re-running them would change it again. For logs and events the end is what matters, so
without ``offset`` their answer is the last part; ``offset`` then reads forward from there.
"""

from __future__ import annotations

from dataclasses import dataclass

NL = b"\n"


@dataclass(frozen=True, slots=True)
class Window:
    """Which bytes ``[start, end)`` of ``total`` the answer shows."""

    start: int
    end: int
    total: int

    @property
    def whole(self) -> bool:
        """True when nothing was left out."""
        return self.start == 0 and self.end == self.total


def window(data: bytes, budget: int, *, offset: int | None, keep_end: bool) -> Window:
    """The part of ``data`` to show: at most ``budget`` bytes, cut at safe places."""
    total = len(data)
    if offset is None and total <= budget:
        return Window(0, total, total)
    if offset is None and keep_end:
        start = _forward(data, total - budget)
        return Window(start, total, total)
    start = _character(data, min(offset or 0, total))
    end = start + budget
    if end >= total:
        return Window(start, total, total)
    return Window(start, _backward(data, start, end), total)


def _forward(data: bytes, start: int) -> int:
    """The start of the next line within the first half of the rest, else of a character."""
    if start <= 0:
        return 0
    if data[start - 1 : start] != b"\n":
        newline = data.find(b"\n", start, start + (len(data) - start) // 2)
        if newline != -1:
            return newline + 1
    return _character(data, start)


def _character(data: bytes, start: int) -> int:
    """``start``, or the start of the next character if it falls inside one."""
    while start < len(data) and data[start] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        start += 1
    return start


def _backward(data: bytes, start: int, end: int) -> int:
    """The end of the last line in the second half of the window, else of a character."""
    newline = data.rfind(b"\n", start + (end - start) // 2, end)
    if newline != -1:
        return newline + 1
    while end > start and data[end] & 0xC0 == 0x80:
        end -= 1
    return end


def fit(
    text: str,
    budget: int,
    *,
    offset: int | None,
    keep_end: bool,
    rerunnable: bool,
    narrow: str,
) -> tuple[str, bool]:
    """``text`` cut to ``budget`` bytes with a notice for the model; True if it was cut.

    ``narrow`` says how to ask for less (the tool's own advice); ``rerunnable`` is False
    for a command that changes the cluster, which gets no next part.
    """
    data = text.encode()
    part = window(data, budget, offset=offset, keep_end=keep_end)
    if part.whole and offset is None:
        return text, False
    shown = data[part.start : part.end].decode(errors="replace")
    before, after = part.start, part.total - part.end
    facts = [f"bytes {part.start}-{part.end} of {part.total} shown"]
    if before:
        facts.append(f"{before} bytes ({data.count(NL, 0, part.start)} lines) before them")
    if after:
        facts.append(f"{after} bytes ({data.count(NL, part.end)} lines) after them")
    notice = f"[k8smcp: answer budget {budget} bytes: {', '.join(facts)}."
    if after and rerunnable:
        notice += f" Next part: the same call with offset={part.end}."
    elif before and offset is None and rerunnable:
        notice += " The earlier part: the same call with offset=0."
    elif not rerunnable:
        notice += " No next part: the command changes the cluster, so it is not run again."
    if (before or after) and _looks_like_json(data):
        notice += " The JSON is cut, so this part does not parse."
    if before or after:
        notice += f" To ask for less: {narrow}."
    notice += "]"
    if keep_end and offset is None:
        return f"{notice}\n{shown}", True
    if shown and not shown.endswith("\n"):
        shown += "\n"  # the notice stands on a line of its own
    return f"{shown}{notice}\n", True


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip()[:1] in (b"{", b"[")
