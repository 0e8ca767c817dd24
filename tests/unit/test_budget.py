"""The answer budget (k8smcp.budget).

Invariants: a window never holds more than the budget, never starts or ends inside a
UTF-8 character, and reading on with ``offset`` from each window's end returns the whole
output exactly, byte for byte; a kept end ends at the last byte; the notice says how much
was left out, the next offset (only when the command may run again), and that cut JSON
does not parse.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8smcp.budget import fit, window

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOTICE = re.compile(r"\[k8smcp: answer budget .*\]\n\Z")
TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", " ", "\n", "é", "€", "𝄞", "{", '"']), max_size=600
)


def _is_boundary(data: bytes, index: int) -> bool:
    return index in (0, len(data)) or data[index] & 0xC0 != 0x80


@SETTINGS
@given(TEXT, st.integers(4, 200))
def test_parts_join_up_exactly_and_respect_the_budget(text, budget):
    data = text.encode()
    parts, offset = [], 0
    while True:
        part = window(data, budget, offset=offset, keep_end=False)
        assert part.end - part.start <= budget
        assert _is_boundary(data, part.start) and _is_boundary(data, part.end)
        assert part.start == offset
        parts.append(data[part.start : part.end])
        if part.end == part.total:
            break
        assert part.end > offset  # progress: no endless loop of empty parts
        offset = part.end
    assert b"".join(parts) == data
    for chunk in parts:
        chunk.decode()  # never a broken character


@SETTINGS
@given(TEXT, st.integers(4, 200))
def test_the_kept_end_ends_at_the_last_byte(text, budget):
    data = text.encode()
    part = window(data, budget, offset=None, keep_end=True)
    assert part.end == len(data)
    assert part.end - part.start <= budget
    assert _is_boundary(data, part.start)


@SETTINGS
@given(TEXT, st.integers(4, 200))
def test_fit_text_is_the_window_plus_one_notice_line(text, budget):
    shown, cut = fit(text, budget, offset=None, keep_end=False, rerunnable=True, narrow="x")
    if not cut:
        assert shown == text and len(text.encode()) <= budget
        return
    assert NOTICE.search(shown)
    body = NOTICE.sub("", shown)
    part = window(text.encode(), budget, offset=None, keep_end=False)
    expected = text.encode()[part.start : part.end].decode()
    assert body in (expected, expected + "\n")


def test_notice_for_a_listing():
    text = "".join(f"pod-{i:04d}   1/1   Running   0   5m\n" for i in range(100))
    shown, cut = fit(text, 400, offset=None, keep_end=False, rerunnable=True, narrow="-l app=x")
    assert cut
    assert shown.startswith("pod-0000")
    notice = shown.splitlines()[-1]
    assert "answer budget 400 bytes" in notice
    assert "Next part: the same call with offset=" in notice
    assert "To ask for less: -l app=x" in notice
    offset = int(re.search(r"offset=(\d+)", notice).group(1))
    assert text.encode()[:offset].decode() == "\n".join(shown.splitlines()[:-1]) + "\n"


def test_notice_for_logs_keeps_the_end_and_points_back():
    text = "".join(f"line {i}\n" for i in range(1000))
    shown, cut = fit(text, 100, offset=None, keep_end=True, rerunnable=True, narrow="--tail=N")
    assert cut
    first, *rest = shown.splitlines()
    assert "before them" in first and "offset=0" in first
    assert rest[-1] == "line 999"


def test_a_command_that_changes_the_cluster_gets_no_next_part():
    shown, cut = fit("x\n" * 100, 50, offset=None, keep_end=False, rerunnable=False, narrow="n")
    assert cut and "No next part" in shown and "offset=" not in shown


def test_cut_json_is_said_not_to_parse():
    text = '{\n  "items": [\n' + ",\n".join('    {"a": 1}' for _ in range(50)) + "\n  ]\n}\n"
    shown, _ = fit(text, 120, offset=None, keep_end=False, rerunnable=True, narrow="n")
    assert "The JSON is cut, so this part does not parse." in shown


def test_an_offset_past_the_end_answers_nothing_and_says_so():
    shown, cut = fit("abc\n", 10, offset=99, keep_end=False, rerunnable=True, narrow="n")
    assert cut and shown.startswith("[k8smcp: answer budget 10 bytes: bytes 4-4 of 4 shown")
