"""The Dockerfile's pins: every version and checksum build arg is present, well-formed and
equal to tests/testbed/versions (the single versions file); the image label is
k8smcp.__version__; the image runs as uid 10001 on port 9096 with a health check.

hadolint (scripts/lint-docker) lints it; tests/image builds and runs the image it makes
(scripts/build-image), whose Go builds are the testbed's own (tests/testbed/build).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

import k8smcp

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VERSIONS = ROOT / "tests" / "testbed" / "versions"
GO_DIR = ROOT / "tests" / "testbed" / "go"

SEMVER = re.compile(r"^v\d+\.\d+\.\d+$")
GO_PSEUDO = re.compile(r"^v\d+\.\d+\.\d+-\d{14}-[0-9a-f]{12}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Dockerfile build arg -> (key in tests/testbed/versions, how to turn it into the arg)
PINNED: dict[str, tuple[str, Callable[[str], str]]] = {
    "KUBECTL_VERSION": ("KUBECTL", str),
    "HELM_VERSION": ("HELM", str),
    "ISTIO_VERSION": ("ISTIO", str),
    "ISTIO_VERSION_LABEL": ("ISTIO_VERSION_LABEL", str),
    "ARGOCD_VERSION": ("ARGOCD", str),
    "GO_VERSION": ("GO_TOOLCHAIN", lambda v: v.removeprefix("go")),
    "GO_VERSION_ARGOCD": ("GO_TOOLCHAIN_ARGOCD", lambda v: v.removeprefix("go")),
}
CHECKSUMS = ("KUBECTL_SHA256_AMD64", "KUBECTL_SHA256_ARM64")
# Args that are neither versions of a tool nor checksums.
OTHER_ARGS = {
    "PYTHON_VERSION",
    "DEBIAN_RELEASE",
    "K8SMCP_VERSION",
    "TARGETOS",
    "TARGETARCH",
    "GO_BINARIES",
    "JQ_VERSION",  # follows DEBIAN_RELEASE (Debian's jq), not the testbed
}
# module each Go consumer module must require, at the versions file's pin
GO_MODULES = {
    "helm": ("helm.sh/helm/v4", "HELM"),
    "istioctl": ("istio.io/istio", "ISTIO"),
    "argocd": ("github.com/argoproj/argo-cd/v3", "ARGOCD"),
}


def read_versions() -> dict[str, str]:
    pins = {}
    for line in VERSIONS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key] = value
    return pins


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        logical.append((word.upper(), rest.strip()))
        current = ""
    return logical


def build_args() -> dict[str, list[str | None]]:
    """Every ARG name -> the defaults it is declared with (None: no default)."""
    found: dict[str, list[str | None]] = {}
    for word, rest in instructions():
        if word == "ARG":
            name, eq, default = rest.partition("=")
            found.setdefault(name, []).append(default if eq else None)
    return found


def arg(name: str) -> str:
    defaults = build_args().get(name)
    assert defaults, f"the Dockerfile has no ARG {name}"
    assert len(set(defaults)) == 1, f"ARG {name} is declared with different defaults: {defaults}"
    value = defaults[0]
    assert value, f"ARG {name} has no default: the build would not be pinned"
    return value


def test_every_version_and_checksum_arg_is_known_to_this_test() -> None:
    names = set(build_args())
    assert names == set(PINNED) | set(CHECKSUMS) | OTHER_ARGS


@pytest.mark.parametrize("name", sorted(PINNED))
def test_version_arg_equals_the_testbed_pin(name: str) -> None:
    key, convert = PINNED[name]
    assert arg(name) == convert(read_versions()[key]), f"{name} != tests/testbed/versions {key}"


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("KUBECTL_VERSION", SEMVER),
        ("HELM_VERSION", SEMVER),
        ("ARGOCD_VERSION", SEMVER),
        ("ISTIO_VERSION", GO_PSEUDO),
        ("ISTIO_VERSION_LABEL", re.compile(r"^\d+\.\d+(-dev)?$")),
        ("GO_VERSION", re.compile(r"^\d+\.\d+\.\d+$")),
        ("GO_VERSION_ARGOCD", re.compile(r"^\d+\.\d+\.\d+$")),
        ("PYTHON_VERSION", re.compile(r"^3\.\d+$")),
        ("DEBIAN_RELEASE", re.compile(r"^[a-z]+$")),
    ],
)
def test_version_arg_is_well_formed(name: str, pattern: re.Pattern[str]) -> None:
    assert pattern.match(arg(name)), f"ARG {name}={arg(name)!r}"


@pytest.mark.parametrize("name", CHECKSUMS)
def test_checksums_are_sha256_for_each_architecture(name: str) -> None:
    assert SHA256.match(arg(name)), f"ARG {name} is not 64 lowercase hex digits"


def test_checksums_differ_between_architectures() -> None:
    assert arg("KUBECTL_SHA256_AMD64") != arg("KUBECTL_SHA256_ARM64")


def test_kubectl_is_installed_with_every_pinned_hash_required() -> None:
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert "--require-hashes" in runs
    assert runs.count("--hash=sha256:%s") == len(CHECKSUMS)
    for name in CHECKSUMS:
        assert f'"${name}"' in runs


@pytest.mark.parametrize("directory", sorted(GO_MODULES))
def test_go_builds_use_the_testbed_modules_at_the_pinned_version(directory: str) -> None:
    module, key = GO_MODULES[directory]
    go_mod = (GO_DIR / directory / "go.mod").read_text()
    assert f"require {module} {read_versions()[key]}\n" in go_mod
    assert (GO_DIR / directory / "go.sum").stat().st_size > 0
    copies = [rest for word, rest in instructions() if word == "COPY"]
    assert f"tests/testbed/go/{directory} /src/{directory}" in copies
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert f"!tests/testbed/go/{directory}/" in dockerignore


def test_go_builds_verify_modules_against_go_sum() -> None:
    envs = [rest for word, rest in instructions() if word == "ENV"]
    assert sum("GOFLAGS=-mod=readonly" in env for env in envs) == 2


def test_image_version_label_is_the_package_version() -> None:
    assert arg("K8SMCP_VERSION") == k8smcp.__version__
    labels = " ".join(rest for word, rest in instructions() if word == "LABEL")
    assert 'org.opencontainers.image.version="${K8SMCP_VERSION}"' in labels


def stages() -> list[tuple[str, str | None]]:
    """(base, stage name) of each FROM, in order."""
    found = []
    for word, rest in instructions():
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            found.append((parts[0], parts[2] if len(parts) == 3 else None))
    return found


def test_base_images_are_pinned_by_tag() -> None:
    earlier: set[str] = {"scratch"}
    for base, name in stages():
        if base.replace("${GO_BINARIES}", arg("GO_BINARIES")) not in earlier:
            assert ":" in base and not base.endswith(":latest"), base
        earlier.add(name or "")


def test_go_binaries_are_compiled_by_default_or_taken_from_the_prebuilt_context() -> None:
    bases = dict((name, base) for base, name in stages() if name)
    assert arg("GO_BINARIES") == "compile"
    assert bases["tools"] == "tools-${GO_BINARIES}"
    # "prebuilt" is an empty stage that the build context of that name replaces.
    assert bases["prebuilt"] == "scratch"
    copies = [rest for word, rest in instructions() if word == "COPY"]
    assert "--from=prebuilt /helm /istioctl /argocd /out/" in copies
    assert "--from=go-tools /out/helm /out/istioctl /out/" in copies
    assert "--from=go-argocd /out/argocd /out/" in copies
    assert "--from=tools /out/ /usr/local/bin/" in copies


def test_runtime_shape() -> None:
    final: list[tuple[str, str]] = []
    for word, rest in instructions():
        final = [] if word == "FROM" else [*final, (word, rest)]
    by_word: dict[str, list[str]] = {}
    for word, rest in final:
        by_word.setdefault(word, []).append(rest)
    assert by_word["USER"] == ["10001:10001"]
    assert by_word["EXPOSE"] == ["9096"]
    assert by_word["VOLUME"] == ['["/tmp"]']
    assert "http://127.0.0.1:9096/health" in by_word["HEALTHCHECK"][0]
    entrypoint = by_word["ENTRYPOINT"][0]
    assert shlex.split(entrypoint.strip("[]").replace(",", " ")) == [
        "k8smcp",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "9096",
    ]
    env = " ".join(by_word["ENV"])
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "TMPDIR=/tmp" in env
    assert "--uid 10001" in " ".join(by_word["RUN"])
