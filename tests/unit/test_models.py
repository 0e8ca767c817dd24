"""The one request and result model: the REST body and response, the MCP input and output
schemas and what ``k8smcp call`` checks are all read from ``k8smcp.models``; a refusal
satisfies the same output schema as a result; an answer is never cut inside a character.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import anyio
import httpx
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8smcp.config import Settings
from k8smcp.errors import PolicyDeniedError, error_body
from k8smcp.executor import _Capped, whole_characters
from k8smcp.models import ToolRequest, ToolResult, ran

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _result(**changes: Any) -> ToolResult:
    fields: dict[str, Any] = {
        "tool": "kubectl",
        "argv": ["kubectl", "get", "ns"],
        "exit_code": 0,
        "stdout": "namespace/default\n",
        "stderr": "",
        "truncated": False,
        "timed_out": False,
        "duration_ms": 12,
    }
    return ran(**(fields | changes))


def test_the_leaf_imports_nothing_of_k8smcp_nor_pydantic() -> None:
    code = (
        "import sys, k8smcp.models; "
        "print(sorted(m for m in sys.modules if m.startswith(('k8smcp.', 'pydantic'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['k8smcp.models']"


def test_ok_comes_from_the_exit_code_and_the_timeout() -> None:
    assert _result().ok
    assert not _result(exit_code=1).ok
    assert not _result(exit_code=0, timed_out=True).ok
    assert list(_result().to_dict())[0] == "ok"


def test_mcp_schemas_come_from_the_models() -> None:
    from k8smcp.mcp_server import request_schema, result_schema

    inputs = request_schema()
    assert list(inputs["properties"]) == list(ToolRequest.__dataclass_fields__)
    assert inputs["required"] == ["command"] and inputs["additionalProperties"] is False
    assert all("title" not in p and p["description"] for p in inputs["properties"].values())
    outputs = result_schema()
    assert outputs["required"] == ["ok"] and "stdout" not in outputs["properties"]


def test_a_refusal_and_a_result_satisfy_the_one_output_schema() -> None:
    from k8smcp.mcp_server import command_result, error_result, result_schema

    schema = result_schema()
    refusal = error_result(
        PolicyDeniedError("kubectl delete: read-only (rule read-only)", rule="x")
    )
    assert refusal.is_error and refusal.structured_content == error_body(
        PolicyDeniedError("kubectl delete: read-only (rule read-only)", rule="x")
    )
    for result in (refusal, command_result(_result()), command_result(_result(exit_code=1))):
        jsonschema.validate(result.structured_content, schema)


def test_stdout_is_sent_once_as_the_first_text() -> None:
    from k8smcp.mcp_server import command_result

    clean = command_result(_result())
    assert [c.text for c in clean.content] == ["namespace/default\n"]  # type: ignore[union-attr]
    assert "stdout" not in (clean.structured_content or {}) and not clean.is_error
    failed = command_result(_result(exit_code=1, stdout="", stderr="NotFound\n"))
    texts = [c.text for c in failed.content]  # type: ignore[union-attr]
    assert texts == ["", "exit_code: 1\nstderr:\nNotFound\n"] and failed.is_error


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"command": "get ns", "bogus": 1}, "bogus: unknown argument"),
        ({}, "command: required"),
        ({"command": "get ns", "timeout": "soon"}, "timeout: input should be a valid number"),
    ],
)
def test_rest_refuses_bad_bodies_in_plain_words(body: dict[str, Any], expected: str) -> None:
    from k8smcp.http_app import build_app
    from k8smcp.service import Service

    async def post() -> httpx.Response:
        app = build_app(Service(Settings()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.post("/tools/kubectl", json=body)

    response = anyio.run(post)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith(f"invalid request body: {expected}"), detail
    assert "pydantic" not in detail


@given(st.text(min_size=1), st.integers(min_value=0, max_value=64))
def test_a_cut_never_falls_inside_a_character(text: str, cut: int) -> None:
    data = text.encode()[:cut]
    kept = bytes(whole_characters(data))
    kept.decode()  # no broken character at the end
    assert data.startswith(kept) and len(data) - len(kept) <= 3


def test_capped_output_ends_on_a_whole_character() -> None:
    capped = _Capped(5)
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.write(write, "aé€x".encode())  # 1 + 2 + 3 + 1 bytes: the cap falls inside €
    os.close(write)
    try:
        anyio.run(capped.drain, read)
    finally:
        os.close(read)
    text = capped.text("stdout")
    assert text.startswith("aé\n[k8smcp: stdout truncated at 5 bytes") and "\ufffd" not in text
