"""``envshim export k8s``: ``--split`` (ConfigMap + Secret), ``--sops`` and ``--kustomize``.

Oracles are the real tools: ``sops decrypt`` for the encrypted Secret,
``kubectl kustomize`` (kustomize v5 inside kubectl) for the kustomization, and
``kubernetes-validate`` (the Kubernetes OpenAPI schemas, offline) for every object.
Manifests are parsed with ruamel.yaml as YAML 1.2 and as YAML 1.1 (kubectl's reader),
which must agree.
"""

from __future__ import annotations

import base64
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim

# Team secrets as the real sops encrypts them: multi-line, binary-looking, YAML-ish.
TEAM = {
    "DB_PASSWORD": "p@ss w0rd $HOME #x 'q' \"d\"",
    "PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n",
    "BINARYISH": "\x01\x7f\x80\ufeff0755\t\r\n",
    "YES": "yes",
    "EMPTY": "",
}
DEFAULTS = {"APP_ENV": "staging", "MULTI_DEFAULT": "line1\nline2", "OCTAL": "0755"}
ALLOW = [*DEFAULTS, *TEAM, "REDACTED"]


def yaml_docs(text: str) -> list[dict]:
    from ruamel.yaml import YAML

    docs = [d for d in YAML(typ="safe", pure=True).load_all(io.StringIO(text)) if d is not None]
    docs11 = YAML(typ="safe", pure=True).load_all(io.StringIO("%YAML 1.1\n---\n" + text))
    assert [d for d in docs11 if d is not None] == docs
    return docs


def validate(path: Path, *, strict: bool = True) -> None:
    """The real kubernetes-validate, against Kubernetes 1.32's schemas."""
    need("kubernetes-validate")
    args = ["kubernetes-validate", "-k", "1.32.0", "--quiet", str(path)]
    out = subprocess.run(args[:3] + (["--strict"] if strict else []) + args[3:],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def _yaml_scalar(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


@pytest.fixture
def proj(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str], str]:
    """mise defaults (one of them redacted, so secret), team secrets in a file the real
    sops encrypted, a .sops.yaml whose rules cover the secrets and k8s/, an allowlist."""
    sops = need("sops")
    key = tmp_path / "alice.key"
    public = age_keygen(key)
    root = tmp_path / "shop api"
    root.mkdir()
    lines = [f"{k} = {_yaml_scalar(v)}" for k, v in DEFAULTS.items()]
    lines.append('REDACTED = { value = "hidden-default", redact = true }')
    (root / "mise.toml").write_text("[env]\n" + "\n".join(lines) + "\n")
    (root / ".sops.yaml").write_text(
        "creation_rules:\n"
        f"  - path_regex: secrets\\.enc\\.yaml$\n    age: {public}\n"
        f"  - path_regex: (^|/)k8s/.*\\.yaml$\n    age: {public}\n"
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text("".join(f"{k}: {_yaml_scalar(v)}\n" for k, v in TEAM.items()))
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}
    enc = subprocess.run([sops, "encrypt", "--filename-override", "secrets.enc.yaml", str(plain)],
                         cwd=root, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    (root / "secrets.enc.yaml").write_text(enc.stdout)
    plain.unlink()
    (root / "allow.txt").write_text("# what the pods get\n" + "\n".join(ALLOW) + "\n")
    return root, env, public


def export(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_envshim("export", "k8s", "--allowlist", "allow.txt", "-e", "staging", *args,
                       env=env, cwd=root)  # fmt: skip


def expected_split() -> tuple[dict[str, str], dict[str, str]]:
    return dict(DEFAULTS), {**TEAM, "REDACTED": "hidden-default"}


def test_split_configmap_for_committed_defaults_secret_for_the_rest(proj, tmp_path):
    root, env, _ = proj
    out = export(root, env, "--split", "--namespace", "shop")
    assert out.returncode == 0, out.stderr
    config_map, secret = yaml_docs(out.stdout)
    want_config, want_secret = expected_split()
    assert config_map["kind"] == "ConfigMap" and secret["kind"] == "Secret"
    assert config_map["data"] == want_config
    assert secret["stringData"] == want_secret  # multi-line and binary-looking values survive
    assert secret["type"] == "Opaque"
    for doc in (config_map, secret):
        meta = doc["metadata"]
        assert (meta["name"], meta["namespace"]) == ("shop-api", "shop")
        assert meta["labels"] == {
            "app.kubernetes.io/managed-by": "envshim",
            "app.kubernetes.io/name": "shop-api",
            "envshim/profile": "staging",
        }
        assert meta["annotations"] == {"envshim/project": "shop api", "envshim/profile": "staging"}
    manifest = tmp_path / "all.yaml"
    manifest.write_text(out.stdout)
    validate(manifest)


def test_validator_rejects_what_kubernetes_would(tmp_path):
    """The oracle can fail: a Secret whose stringData value is a number is refused."""
    need("kubernetes-validate")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  A: 1\n")
    out = subprocess.run(["kubernetes-validate", "-k", "1.32.0", "--strict", str(bad)],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode != 0


def test_allowlist_limits_both_objects(proj):
    root, env, _ = proj
    (root / "allow.txt").write_text("APP_ENV\nPEM\n")
    config_map, secret = yaml_docs(export(root, env, "--split").stdout)
    assert config_map["data"] == {"APP_ENV": "staging"}
    assert secret["stringData"] == {"PEM": TEAM["PEM"]}
    (root / "allow.txt").write_text("APP_ENV\nNOPE\n")
    missing = export(root, env, "--split")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "allow.txt:2: NOPE is in the allowlist" in missing.stderr


def test_sops_secret_decrypts_with_real_sops_to_the_plain_one(proj, tmp_path):
    root, env, public = proj
    plain = yaml_docs(export(root, env, "--split").stdout)
    out = export(root, env, "--split", "--sops", "--out", "k8s")
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    sealed = root / "k8s" / "secret.enc.yaml"
    text = sealed.read_text()
    for value in TEAM.values():  # no value in the clear (the empty one has nothing to hide)
        assert not value or value not in text
    assert "encrypted_regex: ^(data|stringData)$" in text
    assert public in text
    decrypted = subprocess.run([need("sops"), "decrypt", str(sealed)], env=env,
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert yaml_docs(decrypted) == [plain[1]]
    assert yaml_docs((root / "k8s" / "configmap.yaml").read_text()) == [plain[0]]
    doc = yaml_docs(text)[0]
    assert doc["metadata"] == plain[1]["metadata"]  # only data/stringData are encrypted
    assert all(
        v.startswith("ENC[AES256_GCM,") for k, v in doc["stringData"].items() if TEAM.get(k, 1)
    )
    assert not (root / "k8s" / "secret.yaml").exists()  # no plaintext copy
    # a plaintext Secret an earlier export wrote there is removed, someone else's file is not
    assert export(root, env, "--out", "k8s").returncode == 0
    assert (root / "k8s" / "secret.yaml").exists()
    again = export(root, env, "--split", "--sops", "--out", "k8s")
    assert again.returncode == 0 and "removed the plaintext" in again.stderr
    assert not (root / "k8s" / "secret.yaml").exists()
    (root / "k8s" / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\n# mine\n")
    assert export(root, env, "--split", "--sops", "--out", "k8s").returncode == 0
    assert (root / "k8s" / "secret.yaml").read_text().endswith("# mine\n")
    clear = tmp_path / "decrypted.yaml"
    clear.write_text(decrypted)
    validate(clear)
    validate(sealed, strict=False)  # the sops: block is the only field Kubernetes lacks


def test_sops_refuses_a_recipient_nobody_confirmed(proj, tmp_path):
    """A pulled .sops.yaml that gained a stranger's key must not get the Secret."""
    root, env, public = proj
    stranger = age_keygen(tmp_path / "mallory.key")
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: (^|/)k8s/.*\\.yaml$\n    age: {public},{stranger}\n"
        f"  - path_regex: secrets\\.enc\\.yaml$\n    age: {public}\n"
    )
    out = export(root, env, "--split", "--sops", "--out", "k8s")
    assert out.returncode == 1 and out.stdout == ""
    assert "not confirmed" in out.stderr and stranger[:12] in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (root / "k8s").exists()  # nothing written, not even the ConfigMap
    assert not any(v in out.stderr for v in TEAM.values() if len(v) > 3)


def test_sops_and_kustomize_need_out(proj):
    root, env, _ = proj
    for flag in ("--sops", "--kustomize"):
        out = export(root, env, "--split", flag)
        assert out.returncode == 2 and out.stdout == "" and "--out DIR" in out.stderr
    wrong = run_envshim("export", "bash", "--split", env=env, cwd=root)
    assert wrong.returncode == 2 and "--split applies only to --format k8s" in wrong.stderr


def kustomize_build(directory: Path) -> list[dict]:
    out = subprocess.run([need("kubectl"), "kustomize", str(directory)],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return yaml_docs(out.stdout)


def test_kustomize_form_builds_to_the_same_values(proj, tmp_path):
    root, env, _ = proj
    out = export(root, env, "--kustomize", "--out", "deploy/base")
    assert out.returncode == 0, out.stderr
    base = root / "deploy" / "base"
    built = {d["kind"]: d for d in kustomize_build(base)}
    want_config, want_secret = expected_split()
    assert built["ConfigMap"]["data"] == want_config
    secret = built["Secret"]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == want_secret
    assert secret["metadata"]["name"].startswith("shop-api-")  # kustomize's content hash
    assert secret["metadata"]["labels"]["envshim/profile"] == "staging"
    # plaintext files: 0600 in a 0700 directory, ignored by git
    assert stat.S_IMODE((base / "secret").stat().st_mode) == 0o700
    for f in (base / "secret").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert (base / ".gitignore").read_text() == "/secret/\n"
    manifest = tmp_path / "built.yaml"
    manifest.write_text(subprocess.run([need("kubectl"), "kustomize", str(base)],
                                       capture_output=True, text=True).stdout)  # fmt: skip
    validate(manifest)


def test_kustomize_rewrite_prunes_stale_files_and_refuses_a_foreign_directory(proj):
    root, env, _ = proj
    assert export(root, env, "--kustomize", "--out", "kz").returncode == 0
    (root / "allow.txt").write_text("APP_ENV\nPEM\n")
    assert export(root, env, "--kustomize", "--out", "kz").returncode == 0
    assert sorted(p.name for p in (root / "kz" / "secret").iterdir()) == ["PEM"]
    assert sorted(p.name for p in (root / "kz" / "config").iterdir()) == ["APP_ENV"]
    foreign = root / "theirs"
    foreign.mkdir()
    (foreign / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    out = export(root, env, "--kustomize", "--out", "theirs")
    assert out.returncode == 2 and "not written by envshim" in out.stderr
    assert (foreign / "kustomization.yaml").read_text() == "resources: [deploy.yaml]\n"
    assert not (foreign / "secret").exists()


def test_kustomize_with_sops_keeps_no_plaintext(proj):
    root, env, _ = proj
    out = export(root, env, "--kustomize", "--sops", "--out", "k8s/overlay")
    assert out.returncode == 0, out.stderr
    base = root / "k8s" / "overlay"
    assert not (base / "secret").exists()
    built = {d["kind"]: d for d in kustomize_build(base)}
    assert built["ConfigMap"]["data"] == expected_split()[0]
    assert "sops" in built["Secret"]  # kustomize passes it on; Flux decrypts it in the cluster
    decrypted = subprocess.run([need("sops"), "decrypt", str(base / "secret.enc.yaml")], env=env,
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert yaml_docs(decrypted)[0]["stringData"] == expected_split()[1]


def test_kustomize_refuses_names_that_differ_only_in_case(proj):
    root, env, _ = proj
    (root / "mise.toml").write_text('[env]\nApp_Env = "a"\nAPP_ENV = "b"\n')
    (root / "allow.txt").write_text("App_Env\nAPP_ENV\n")
    out = export(root, env, "--kustomize", "--out", "kz")
    assert out.returncode == 1 and "only in case" in out.stderr
    assert str(root / "mise.toml") in out.stderr  # names where it is written
    assert not (root / "kz").exists()


def test_objects_over_the_api_limit_are_refused(tmp_path):
    from envshim.errors import ConfigError
    from envshim.shells import get_renderer
    from envshim.shells.base import ExportContext

    (tmp_path / "allow").write_text("BIG\n")
    ctx = ExportContext(options={"allowlist": str(tmp_path / "allow")}, root=str(tmp_path))
    get_renderer("k8s").emit({"BIG": "x" * (1024 * 1024 - 3)}, ctx)
    with pytest.raises(ConfigError, match="at most 1048576"):
        get_renderer("k8s").emit({"BIG": "x" * (1024 * 1024)}, ctx)


def test_k8s_options_do_not_reach_the_fast_path():
    """--split and friends go through argparse; the usual lines stay on the fast path."""
    from envshim import cli

    assert cli.fast_export_args(["k8s", "--split"]) is None
    assert cli.fast_export_args(["bash"]) is not None
    code = "import sys; from envshim.cli import main; sys.exit(main(['export', 'k8s', '--help']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "100"})  # fmt: skip
    assert "--kustomize" in out.stdout and "--sops" in out.stdout
