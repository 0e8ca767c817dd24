"""The speed-ups: each a no-op when its precondition fails, all off with K8SMCP_NO_SPEEDUPS."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from k8smcp import speedups
from k8smcp.cli import app
from tests.conftest import k8smcp_env


def test_in_process_commands_leave_the_host_processes_collector_alone() -> None:
    assert not speedups._console_script
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["tools", "--json", "--helm-bin", "/nope/helm"])
    assert result.exit_code == 0, result.output
    assert {t["tool"] for t in json.loads(result.stdout)} >= {"kubectl", "helm"}
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # nothing of this process was frozen


@pytest.mark.parametrize("enabled", [True, False])
def test_in_process_run_works_and_freezes_nothing(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speedups, "ENABLED", enabled)
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["run", "--json", "kubectl", "version", "--client"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert gc.isenabled() and gc.get_freeze_count() == frozen


SCRIPT = """
import gc, json, sys
sys.argv = ["k8smcp", *sys.argv[1:]]
from k8smcp import speedups
from k8smcp.__main__ import main
seen = {}
real = speedups.work_begins
def spy():
    real()
    seen["gc_on_at_work"] = gc.isenabled()
speedups.work_begins = spy  # the commands call it through the module
try:
    main()
except SystemExit as exit:
    seen["exit"] = exit.code
seen.update(enabled=speedups.ENABLED, frozen=gc.get_freeze_count())
print(json.dumps(seen), file=sys.stderr)
"""


def _console(*args: str, off: bool) -> dict[str, object]:
    env = k8smcp_env(**({"K8SMCP_NO_SPEEDUPS": "1"} if off else {}))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_the_console_script_collects_once_its_command_begins_and_freezes_at_the_end() -> None:
    on = _console("run", "kubectl", "version", "--client", off=False)
    assert on["enabled"] is True and on["exit"] == 0
    assert on["gc_on_at_work"] is True and on["frozen"] > 0


def test_with_speedups_off_the_collector_is_never_touched() -> None:
    off = _console("run", "kubectl", "version", "--client", off=True)
    assert off["enabled"] is False and off["exit"] == 0
    assert off["gc_on_at_work"] is True and off["frozen"] == 0


def test_with_speedups_off_help_and_sse_are_left_as_they_are() -> None:
    script = """
import sys
from k8smcp import speedups
speedups.load_help_renderer([])
assert "typer.rich_utils" not in sys.modules
speedups.fast_sse_line_breaks()
from sse_starlette.event import ServerSentEvent
import re
assert isinstance(ServerSentEvent._LINE_SEP_EXPR, re.Pattern)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=k8smcp_env(K8SMCP_NO_SPEEDUPS="1"),
    )
    assert done.stdout.strip() == "ok", done.stderr
    help_off = subprocess.run(
        [sys.executable, "-m", "k8smcp", "--help"],
        capture_output=True,
        text=True,
        env=k8smcp_env(K8SMCP_NO_SPEEDUPS="1"),
    )
    assert help_off.returncode == 0 and "serve" in help_off.stdout


YAML_PROBE = """
import json, re, sys
real_compile = re.compile
from k8smcp import kubeconfig  # the first import of PyYAML
import yaml, yaml.reader
pattern = yaml.reader.Reader.NON_PRINTABLE
seen = {"lazy": type(pattern).__name__ == "LazyPattern", "restored": re.compile is real_compile}
real = re.compile(pattern.pattern)
texts = ["plain", "tab\\tnew\\nline", "bell\\x07", "\\ufffe", "\\U0001f600 ok", "\\x85\\xa0", ""]
seen["same"] = all(
    (pattern.search(t) and pattern.search(t).span()) == (real.search(t) and real.search(t).span())
    for t in texts
)
try:  # the pure-Python reader, the pattern's one user, still refuses a control character
    yaml.load("a: \\x07", Loader=yaml.SafeLoader)
    seen["refused"] = False
except yaml.reader.ReaderError:
    seen["refused"] = True
print(json.dumps(seen))
"""


@pytest.mark.parametrize("off", [False, True])
def test_yamls_reader_pattern_compiles_on_first_use_and_matches_the_same(off: bool) -> None:
    env = k8smcp_env()
    if off:
        env["K8SMCP_NO_SPEEDUPS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", YAML_PROBE], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {"lazy": not off, "restored": True, "same": True, "refused": True}


RESOLVER_PROBE = """
import json, sys
from k8smcp import kubeconfig  # the first import of PyYAML
import yaml
lazy = [type(p).__name__ == "LazyPattern" for ps in
        yaml.resolver.Resolver.yaml_implicit_resolvers.values() for _, p in ps]
doc = '''
yes: [yes, No, true, off, ~, null, Null, "", 0x1F, 0o17, 017, 1_000, -12, +3, 0b101]
floats: [1.5, -.inf, .NaN, 6.8523015e+5, 1e3, 190:20:30.15, 1_000.5]
ints: [190:20:30, 0, -0]
stamps: [2001-12-14t21:59:43.10-05:00, 2002-12-14, 2001-12-14 21:59:43.10 -5]
merge: {<<: {a: 1}, b: 2}
text: [v1, Config, https://10.0.0.1:6443, "quoted", 'single']
'''
print(json.dumps({"lazy": all(lazy) and bool(lazy),
                  "loaded": repr(yaml.load(doc, Loader=yaml.CSafeLoader))}))
"""


def test_yamls_resolver_patterns_compile_on_first_use_and_resolve_the_same() -> None:
    seen = {}
    for off in (False, True):
        env = k8smcp_env(**({"K8SMCP_NO_SPEEDUPS": "1"} if off else {}))
        done = subprocess.run(
            [sys.executable, "-c", RESOLVER_PROBE], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        seen[off] = json.loads(done.stdout)
    assert seen[False]["lazy"] and not seen[True]["lazy"]
    assert seen[False]["loaded"] == seen[True]["loaded"]
    assert "datetime.date(2002, 12, 14)" in seen[False]["loaded"]  # the timestamp pattern ran
