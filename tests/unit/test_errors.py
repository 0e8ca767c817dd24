"""The error tree is complete: each class maps to an exit code, an HTTP status, a code,
and each is documented in docs/errors.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8smcp import errors

DOCS = Path(__file__).parents[2] / "docs" / "errors.md"


@pytest.mark.parametrize("cls", errors.all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_its_mapping_and_doc(cls: type[errors.K8sMcpError]) -> None:
    assert cls.__name__.endswith("Error")
    assert isinstance(cls.exit_code, int) and 0 < cls.exit_code < 256
    assert 400 <= cls.http_status < 600
    assert cls.code.isidentifier()
    text = DOCS.read_text()
    assert f"`{cls.__name__}`" in text and f"`{cls.code}`" in text


def test_codes_are_unique() -> None:
    codes = [c.code for c in errors.all_error_classes()]
    assert len(codes) == len(set(codes))


def test_error_body_shape() -> None:
    body = errors.error_body(errors.UnknownToolError("unknown tool 'x'", tool="x"))
    assert body == {
        "ok": False,
        "error": "unknown_tool",
        "detail": "unknown tool 'x'",
        "status": 404,
        "tool": "x",
    }


def test_error_class_for_code_round_trips() -> None:
    for cls in errors.all_error_classes()[1:]:
        assert errors.error_class_for_code(cls.code) is cls
    assert errors.error_class_for_code("never-heard-of-it") is errors.RemoteError
