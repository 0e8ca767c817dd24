"""Every setting the CLI reads from the environment is documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_k8smcp_variable_is_in_the_readme() -> None:
    source = (ROOT / "k8smcp" / "cli.py").read_text()
    variables = set(re.findall(r'envvar="(K8SMCP_\w+)"', source))
    assert len(variables) >= 15
    readme = (ROOT / "README.md").read_text()
    assert sorted(v for v in variables if f"`{v}`" not in readme) == []
