"""Every way a kubeconfig can be unusable has its own message, and no message quotes it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from k8smcp import kubeconfig as kc
from k8smcp.errors import KubeconfigError, KubeconfigTooLargeError
from tests.conftest import SECRET_TOKEN, b64, make_kubeconfig

MAX = 256 * 1024


def test_valid_base64_kubeconfig_parses_with_its_current_context() -> None:
    config = kc.from_b64(b64(make_kubeconfig("https://10.0.0.1:6443")), max_bytes=MAX)
    assert config.context == "test"
    assert config.server == "https://10.0.0.1:6443"


def test_base64_wrapped_at_76_columns_is_accepted() -> None:
    wrapped = base64.encodebytes(json.dumps(make_kubeconfig()).encode()).decode()
    assert "\n" in wrapped
    assert kc.from_b64(wrapped, max_bytes=MAX).context == "test"


def test_yaml_kubeconfig_is_accepted() -> None:
    text = yaml.safe_dump(make_kubeconfig())
    assert kc.from_b64(b64(text), max_bytes=MAX).server == "https://127.0.0.1:1"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not base64 at all!", "not valid base64"),
        ("   \n ", "kubeconfig is empty"),
        (b64("clusters: [unclosed"), "not valid YAML (line"),
        (b64(b"kind: \x80\x81"), "not valid YAML"),
        (b64("- a\n- b\n"), "expected a YAML mapping, got a list"),
        (b64("# only a comment\n"), "expected a YAML mapping, got empty"),
        (b64("kind: Config\nusers: []\ncontexts: []\n"), "'clusters' is missing"),
        (b64("clusters: {}\nusers: []\ncontexts: []\n"), "'clusters' must be a list"),
        (b64("clusters: [{}]\nusers: []\ncontexts: []\n"), "clusters[0] has no name"),
    ],
)
def test_each_malformed_kubeconfig_has_its_own_message(payload: str, message: str) -> None:
    with pytest.raises(KubeconfigError) as caught:
        kc.from_b64(payload, max_bytes=MAX)
    assert message in caught.value.message


def test_no_current_context_is_named() -> None:
    config = make_kubeconfig()
    del config["current-context"]
    with pytest.raises(KubeconfigError, match="no current context"):
        kc.from_b64(b64(config), max_bytes=MAX)


def test_explicit_context_replaces_a_missing_current_context() -> None:
    config = make_kubeconfig(extra_contexts={"other": "https://10.9.9.9"})
    del config["current-context"]
    assert kc.from_b64(b64(config), context="other", max_bytes=MAX).server == "https://10.9.9.9"


def test_unknown_context_lists_the_contexts_there_are() -> None:
    with pytest.raises(
        KubeconfigError, match=r"'nope' is not in the kubeconfig \(contexts: test\)"
    ):
        kc.from_b64(b64(make_kubeconfig()), context="nope", max_bytes=MAX)


def test_context_pointing_at_a_missing_cluster_is_refused() -> None:
    config = make_kubeconfig()
    config["contexts"][0]["context"]["cluster"] = "ghost"
    with pytest.raises(KubeconfigError, match="names no cluster"):
        kc.from_b64(b64(config), max_bytes=MAX)


def test_too_large_is_refused_before_decoding() -> None:
    huge = "A" * (3 * MAX)  # valid base64 characters, far over the cap
    with pytest.raises(KubeconfigTooLargeError, match="larger than 262144 bytes"):
        kc.from_b64(huge, max_bytes=MAX)


def test_just_over_the_cap_after_decoding_is_refused() -> None:
    config = make_kubeconfig()
    config["padding"] = "x" * 2000
    with pytest.raises(KubeconfigTooLargeError):
        kc.from_b64(b64(config), max_bytes=1000)


def test_errors_never_quote_the_content() -> None:
    broken = f"users: [{{name: u, user: {{token: {SECRET_TOKEN}}}}}]\nclusters: [oops"
    with pytest.raises(KubeconfigError) as caught:
        kc.from_b64(b64(broken), max_bytes=MAX)
    assert SECRET_TOKEN not in str(caught.value)


def test_render_writes_the_validated_data_with_context_and_namespace() -> None:
    config = kc.from_b64(
        b64(make_kubeconfig(extra_contexts={"other": "https://10.9.9.9"})),
        context="other",
        max_bytes=MAX,
    )
    rendered = json.loads(config.render(namespace="web"))
    assert rendered["current-context"] == "other"
    other = next(c for c in rendered["contexts"] if c["name"] == "other")
    assert other["context"]["namespace"] == "web"
    assert "namespace" not in rendered["contexts"][0]["context"]


def test_with_context_validates_the_new_context() -> None:
    config = kc.from_b64(b64(make_kubeconfig()), max_bytes=MAX)
    assert config.with_context(None) is config
    with pytest.raises(KubeconfigError):
        config.with_context("missing")


def test_local_order_b64_then_path_then_env_then_home(tmp_path: Path) -> None:
    path = tmp_path / "explicit"
    path.write_text(yaml.safe_dump(make_kubeconfig("https://from-path")))
    env = tmp_path / "env"
    env.write_text(yaml.safe_dump(make_kubeconfig("https://from-env")))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(yaml.safe_dump(make_kubeconfig("https://home")))

    def load(**kwargs: object) -> str | None:
        args: dict[str, object] = dict(b64=None, path=None, env_kubeconfig=None)
        args.update(kwargs)
        found = kc.load_local(**args, home=tmp_path, max_bytes=MAX)  # type: ignore[arg-type]
        return found.server if found else None

    assert load(b64=b64(make_kubeconfig("https://b64")), path=str(path)) == "https://b64"
    assert load(path=str(path), env_kubeconfig=str(env)) == "https://from-path"
    assert load(env_kubeconfig=str(env)) == "https://from-env"
    assert load() == "https://home"
    assert (
        kc.load_local(
            b64=None, path=None, env_kubeconfig=None, home=tmp_path / "none", max_bytes=MAX
        )
        is None
    )


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="does not exist"):
        kc.load_local(
            b64=None, path=str(tmp_path / "nope"), env_kubeconfig=None, home=tmp_path, max_bytes=MAX
        )


def test_kubeconfig_path_list_merges_first_wins(tmp_path: Path) -> None:
    first = make_kubeconfig("https://first")
    second = make_kubeconfig("https://second", context="second")
    second["clusters"][0]["name"] = "c2"
    second["contexts"][0]["context"]["cluster"] = "c2"
    (tmp_path / "a").write_text(yaml.safe_dump(first))
    (tmp_path / "b").write_text(yaml.safe_dump(second))
    merged = kc.load_local(
        b64=None,
        path=None,
        env_kubeconfig=f"{tmp_path}/a:{tmp_path}/b",
        home=tmp_path,
        max_bytes=MAX,
    )
    assert merged is not None
    assert merged.context == "test"  # the first file's current-context wins
    assert merged.with_context("second").server == "https://second"


def test_relative_file_references_become_absolute(tmp_path: Path) -> None:
    config = make_kubeconfig()
    config["clusters"][0]["cluster"]["certificate-authority"] = "certs/ca.crt"
    config["users"][0]["user"] = {"client-certificate": "/abs/c.crt", "client-key": "k.key"}
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    loaded = kc.load_local(
        b64=None, path=str(tmp_path / "config"), env_kubeconfig=None, home=tmp_path, max_bytes=MAX
    )
    assert loaded is not None
    cluster = loaded.data["clusters"][0]["cluster"]
    user = loaded.data["users"][0]["user"]
    assert cluster["certificate-authority"] == str(tmp_path.resolve() / "certs/ca.crt")
    assert user["client-certificate"] == "/abs/c.crt"
    assert user["client-key"] == str(tmp_path.resolve() / "k.key")


def test_cluster_identity_is_the_server_and_its_trust() -> None:
    def identity(**cluster: object) -> str | None:
        config = make_kubeconfig()
        config["clusters"][0]["cluster"].update(cluster)
        return kc.from_b64(b64(config), max_bytes=MAX).cluster_identity()

    base = identity()
    assert base is not None and base == identity()
    assert identity(**{"certificate-authority-data": "Q0E="}) != base
    assert identity(server="https://127.0.0.9:1") != base
    assert identity(**{"insecure-skip-tls-verify": True}) is None
    # credentials are not part of it: two users of one cluster share its discovery cache
    other_user = make_kubeconfig(token="another-token")
    assert kc.from_b64(b64(other_user), max_bytes=MAX).cluster_identity() == base
