"""The one scenario every client runs, and what each answer must be, for every client.

A driver (``clients/ts_driver.mjs``, ``clients/py_driver.py``) gets a plan (the JSON of
``plan()``), runs it against a real k8smcp server with the real CLIs and the testbed's
real cluster, and prints what it saw; ``check()`` holds that to the same bar whichever
client, era or transport it came through.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
TS_DRIVER = HERE / "clients" / "ts_driver.mjs"
PY_DRIVER = HERE / "clients" / "py_driver.py"
PY1_VERSION = "1.30.0"  # the Python SDK 1.x the suite drives; scripts/test makes its venv
CAP = 1024 * 1024  # the default output cap (K8SMCP_MAX_OUTPUT_BYTES)
TOOLS = ["kubectl", "helm", "istioctl", "argocd"]
LEAKS = ("pydantic", "validation error for", "errors.pydantic.dev", "Traceback", "input_value")


def py1_python() -> Path:
    """The interpreter of the Python SDK 1.x venv (made by scripts/test, cached by version)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "k8smcp" / "conformance" / f"mcp-{PY1_VERSION}" / "bin" / "python"


def plan(transport: str, **target: Any) -> dict[str, Any]:
    """What a driver does: the calls, the large output, the watch to cancel."""
    marker = f"conformance-{uuid.uuid4().hex[:12]}"
    bad_kubeconfig = {"command": "get ns", "kubeconfig": "@@@"}
    # Over HTTP the X-Kubeconfig header wins over the argument: the bad one goes on a
    # connection without the header, as does the call that sends no kubeconfig at all.
    bare = transport == "http"
    return {
        "transport": transport,
        **target,
        "marker": marker,
        "bare_calls": (
            {"missing_kubeconfig": {"command": "get ns"}, "invalid_kubeconfig": bad_kubeconfig}
            if bare
            else {}
        ),
        "calls": {
            "ok": {"command": "get ns default -o name"},
            "failing": {"command": "get ns k8smcp-conformance-missing"},
            "denied": {"command": "delete ns default"},
            **({} if bare else {"invalid_kubeconfig": bad_kubeconfig}),
            "invalid_command": {"command": "get 'ns"},
            "invalid_request": {"command": "get pods", "namespace": "Not_Valid"},
            "unknown_argument": {"command": "get ns", "bogus": 1},
            "missing_argument": {},
        },
        "large": {"command": "get --raw /openapi/v2"},
        "watch": {"command": f"get ns --watch -l k8smcp.test/marker={marker}"},
    }


def run_driver(argv: list[str], the_plan: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one driver on ``the_plan``; what it printed, as a dict."""
    done = subprocess.run(
        [*argv, json.dumps(the_plan)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=HERE,
    )
    assert done.returncode == 0, f"driver failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _text(answer: dict[str, Any]) -> str:
    if "thrown" in answer:
        return str((answer["thrown"] or {}).get("message", ""))
    return "\n".join(answer["texts"])


def _refused(answer: dict[str, Any], code: str) -> str:
    assert "thrown" not in answer, f"{code}: the client raised {answer['thrown']}"
    assert answer["isError"] is True, answer
    assert answer["structured"]["ok"] is False and answer["structured"]["error"] == code, answer
    text = _text(answer)
    assert text.startswith(f"{code}: "), text
    return text


def _clean(text: str) -> None:
    assert not any(leak in text for leak in LEAKS), text


def check(out: dict[str, Any], *, transport: str) -> None:
    """What every client must have seen; raises AssertionError naming the step."""
    init = out["init"]
    assert init["server"] in ("k8smcp", None), init  # SDK 1.17 hides serverInfo of 2026
    instructions = init["instructions"] or ""
    assert "Read-only" in instructions
    assert ("X-Kubeconfig" in instructions) is (transport == "http"), instructions

    assert [t["name"] for t in out["tools"]] == TOOLS
    for tool in out["tools"]:
        assert tool["required"] == ["ok"] and tool["additional"] is False, tool
    prompts = {p["name"]: p["args"] for p in out["prompts"]}
    assert len(prompts) == 5 and all(a[2] for args in prompts.values() for a in args)
    assert prompts["debug_crashloop_pod"] == [["pod", True, True], ["namespace", False, True]]

    ok = out["ok"]
    assert ok.get("isError") is False and ok["texts"] == ["namespace/default\n"], ok
    assert ok["structured"]["exit_code"] == 0 and "stdout" not in ok["structured"]

    failing = out["failing"]
    assert failing.get("isError") is True and failing["structured"]["exit_code"] == 1, failing
    assert failing["texts"][0] == "" and "NotFound" in failing["texts"][1]
    assert failing["texts"][1].startswith("exit_code: 1\nstderr:\n")

    denied = _refused(out["denied"], "denied")
    assert "(rule read-only)" in denied and "use a command that only reads" in denied
    assert "not valid base64" in _refused(out["invalid_kubeconfig"], "invalid_kubeconfig")
    assert "check the quotes" in _refused(out["invalid_command"], "invalid_command")
    assert "not a valid Kubernetes namespace" in _refused(out["invalid_request"], "invalid_request")

    for step, expected in (
        ("unknown_argument", "bogus: unknown argument"),
        ("missing_argument", "command: required"),
    ):
        answer = out[step]
        text = _text(answer)
        _clean(text)
        if "thrown" in answer:  # the client checked the input schema itself: fine too
            continue
        assert _refused(answer, "invalid_request") and expected in text, text

    unknown = out["unknown_tool"]
    assert "thrown" in unknown and unknown["thrown"]["code"] == -32602, unknown
    _clean(_text(unknown))

    assert "web-1" in out["prompt_ok"]["text"]
    missing = out["prompt_missing"]["thrown"]
    assert missing is not None and missing["code"] == -32602 and "'pod'" in missing["message"]
    _clean(missing["message"])

    large = out["large"]
    assert large.get("isError") is False and large["structured"]["truncated"] is True, large
    assert "stdout" not in large["structured"] and large["texts"] == 1
    assert CAP <= large["length"] <= CAP + 200, large["length"]  # the cap, plus its note
    assert "truncated at 1048576 bytes" in large["tail"]

    cancel = out["progress_cancel"]
    assert cancel["progress"] >= 1 and cancel["firstMessage"].startswith("running for"), cancel
    assert cancel["childBefore"] >= 1, cancel
    assert cancel["goneMs"] is not None and cancel["goneMs"] <= 1000, cancel
    after = out["after_cancel"]
    assert after.get("isError") is False and after["texts"] == ["namespace/default\n"], after

    if transport == "http":
        text = _refused(out["missing_kubeconfig"], "missing_kubeconfig")
        assert "X-Kubeconfig header" in text and "argument" not in text
