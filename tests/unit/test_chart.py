"""The Helm chart agrees with the package: appVersion is k8smcp.__version__, and every
K8SMCP_* variable `k8smcp serve` reads can be set from values (tests/integration/test_chart.py
renders and installs the chart against the testbed)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
import yaml

import k8smcp
from k8smcp.cli import app

CHART = Path(__file__).resolve().parents[2] / "charts" / "k8smcp"
# Fixed by the image's entrypoint flags (0.0.0.0:9096): flags win over variables.
FIXED_BY_IMAGE = {"K8SMCP_HOST", "K8SMCP_PORT"}
# The security settings (issue 4), whether or not `serve` has the flag for them yet.
SECURITY = {
    "K8SMCP_READ_ONLY",
    "K8SMCP_ALLOWED_EXEC_PLUGINS",
    "K8SMCP_ALLOWED_SERVERS",
    "K8SMCP_DENIED_SERVERS",
    "K8SMCP_ALLOWED_HOSTS",
    "K8SMCP_ALLOWED_ORIGINS",
    "K8SMCP_AUTH_TOKEN",
}


def serve_variables() -> set[str]:
    command = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    names: set[str] = set()
    for param in command.params:
        envvar = param.envvar
        if envvar:
            names.update([envvar] if isinstance(envvar, str) else envvar)
    return names


def settings_map() -> dict[str, str]:
    """The chart's config key -> variable table (the "k8smcp.settings" template)."""
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    body = re.search(r'define "k8smcp.settings" -}}\n(.*?)\{\{- end', helpers, re.S)
    assert body, "no k8smcp.settings template in _helpers.tpl"
    table: dict[str, str] = yaml.safe_load(body.group(1))
    return table


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == k8smcp.__version__
    assert chart["apiVersion"] == "v2"


def test_every_serve_variable_can_be_set_from_values() -> None:
    templates = "".join(p.read_text() for p in (CHART / "templates").iterdir())
    wanted = (serve_variables() - FIXED_BY_IMAGE) | SECURITY
    missing = sorted(name for name in wanted if name not in templates)
    assert not missing, f"the chart sets no value for {missing}: add them to k8smcp.settings"


def test_values_config_keys_are_exactly_the_settings() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values["config"]) == set(settings_map())
    assert all(v.startswith("K8SMCP_") for v in settings_map().values())


def test_secure_defaults() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["automountServiceAccountToken"] is False
    assert values["auth"]["enabled"] is True
    container = values["securityContext"]
    assert container["runAsNonRoot"] and container["runAsUser"] == 10001
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    assert container["seccompProfile"]["type"] == "RuntimeDefault"
    assert values["podSecurityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert values["livenessProbe"]["httpGet"]["path"] == "/health"
    assert values["readinessProbe"]["httpGet"]["path"] == "/health"
