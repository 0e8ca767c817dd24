"""Load the hostile-input corpus (corpus.yaml) with its placeholders filled in.

Both the policy unit test and the end-to-end run over REST and MCP HTTP read the corpus
through ``load()``, so a case means the same thing in both.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).with_name("corpus.yaml")
FILTER_CASES = Path(__file__).with_name("corpus_filters.yaml")  # pipe stages; same kubeconfigs
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile request, ready to send."""

    id: str
    attack: str
    tool: str
    command: str  # the arguments after the tool name, as a client sends them
    kubeconfig: str  # YAML text
    expected_rule: str
    stdin: str | None = None  # what the call sends on stdin, if anything

    @property
    def kubeconfig_b64(self) -> str:
        """The kubeconfig as the X-Kubeconfig header and the kubeconfig field carry it."""
        return base64.b64encode(self.kubeconfig.encode()).decode()

    def marker(self, marker_dir: str | Path) -> Path:
        """The file an exec or shell probe of this case would create."""
        return Path(marker_dir) / f"pwned-{self.id}"


def load(canary_port: int, marker_dir: str | Path, path: Path = CORPUS) -> list[Case]:
    """Every case of the corpus with ``{canary_port}`` and ``{marker_dir}`` substituted."""
    doc = yaml.safe_load(path.read_text())
    if path == CORPUS:
        doc["cases"] += yaml.safe_load(FILTER_CASES.read_text())["cases"]

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{canary_port}", str(canary_port)).replace(
                "{marker_dir}", str(marker_dir)
            )
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {fill(k): fill(v) for k, v in value.items()}
        return value

    bases = {name: fill(text) for name, text in doc["kubeconfigs"].items()}
    cases = []
    for raw in doc["cases"]:
        spec = raw["kubeconfig"]
        if "yaml" in spec:
            text = fill(spec["yaml"])
        else:
            data = yaml.safe_load(bases[spec["base"]])
            for where, value in (spec.get("set") or {}).items():
                _assign(data, where, fill(value))
            text = yaml.safe_dump(data, sort_keys=False)
        cases.append(
            Case(
                id=raw["id"],
                attack=raw["attack"],
                tool=raw["tool"],
                command=fill(raw["command"]),
                kubeconfig=text,
                expected_rule=raw["expected_rule"],
                stdin=fill(raw.get("stdin")),
            )
        )
    return cases


def _assign(data: Any, where: str, value: Any) -> None:
    steps: list[str | int] = [name if name else int(index) for name, index in _STEP.findall(where)]
    target = data
    for step, following in zip(steps, steps[1:], strict=False):
        if isinstance(step, int):
            if step == len(target):
                target.append({} if isinstance(following, str) else [])
            target = target[step]
        else:
            target = target.setdefault(step, {} if isinstance(following, str) else [])
    last = steps[-1]
    if isinstance(last, int) and last == len(target):
        target.append(value)
    else:
        target[last] = value
