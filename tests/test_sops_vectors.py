"""Every sops vector in tests/vectors decrypts to its documented plaintext, MAC checked.

The oracle for the public vectors is the real ``sops decrypt`` (JSON output,
flattened here); the generated ones also have plaintext files next to them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import need, need_vectors
from envshim.errors import DecryptError
from envshim.formats import sops
from envshim.keys import load_identities

CASES = [
    ("generated/secrets.enc.env", "generated/alice.key"),
    ("generated/secrets.enc.env", "generated/bob.key"),
    ("generated/secrets.staging.enc.yaml", "generated/alice.key"),
    ("generated/secrets.staging.enc.yaml", "generated/bob.key"),
    ("generated/secrets.enc.json", "generated/alice.key"),
    ("public/getsops-sops/example.yaml", "public/getsops-sops/keys.txt"),
    ("public/getsops-sops/example.json", "public/getsops-sops/keys.txt"),
    ("public/getsops-sops/example.ini", "public/getsops-sops/keys.txt"),
    ("public/getsops-sops/example.txt", "public/getsops-sops/keys.txt"),
    (
        "public/fluxcd-kustomize-controller/envs_env.env",
        "public/fluxcd-kustomize-controller/keys_age.txt",
    ),
    (
        "public/fluxcd-kustomize-controller/component_env.env",
        "public/fluxcd-kustomize-controller/keys_age.txt",
    ),
    (
        "public/fluxcd-kustomize-controller/files_file.txt",
        "public/fluxcd-kustomize-controller/keys_age.txt",
    ),
    (
        "public/fluxcd-kustomize-controller/algorithms_age.yaml",
        "public/fluxcd-kustomize-controller/keys_age.txt",
    ),
    (
        "public/fluxcd-kustomize-controller/global_secret.yaml",
        "public/fluxcd-kustomize-controller/keys_age-global.txt",
    ),
    ("public/sops-nix/secrets.yaml", "public/sops-nix/age-keys.txt"),
]


def _ids(keyfile: Path):
    return load_identities({"SOPS_AGE_KEY": keyfile.read_text(), "HOME": "/nonexistent"}, [])


def _flatten(value, prefix: str = "") -> dict[str, str]:
    """The test's own flattening of sops' JSON output (DESIGN §4)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}__{k}" if prefix else k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}__{i}"))
    elif value is None:
        pass
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    else:
        out[prefix] = value if isinstance(value, str) else json.dumps(value)
    return out


def _sops_decrypt(path: Path, keyfile: Path, tmp: Path, *args: str) -> str:
    key = tmp / "key.txt"
    shutil.copy(keyfile, key)
    os.chmod(key, 0o600)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "SOPS_AGE_KEY_FILE": str(key)}
    proc = subprocess.run(
        [need("sops"), "decrypt", *args, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@pytest.mark.parametrize(("name", "key"), CASES)
def test_vector_matches_real_sops(name: str, key: str, tmp_path: Path) -> None:
    base = need_vectors()
    path, keyfile = base / name, base / key
    got = sops.decrypt_file(path, _ids(keyfile))
    store = sops.store_for(path, path.read_text())
    if store == "binary":
        assert sops.decrypt_plaintext(path, _ids(keyfile)) == _sops_decrypt(path, keyfile, tmp_path)
        return
    if store == "dotenv":
        expected = {}
        for line in _sops_decrypt(path, keyfile, tmp_path).split("\n"):
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                expected[k] = v.replace("\\n", "\n")
    else:
        out = json.loads(_sops_decrypt(path, keyfile, tmp_path, "--output-type", "json"))
        if store == "ini":
            out = {**out.pop("DEFAULT", {}), **out}
        expected = _flatten(out)
    assert {k: v for k, v, _line in got} == expected
    assert len(got) == len(expected)


def test_generated_env_byte_for_byte() -> None:
    base = need_vectors() / "generated"
    plain = (base / "secrets.plain.env").read_text()
    assert sops.decrypt_plaintext(base / "secrets.enc.env", _ids(base / "alice.key")) == plain
    values = dict(
        (k, v) for k, v, _ in sops.decrypt_file(base / "secrets.enc.env", _ids(base / "bob.key"))
    )
    assert values["WITH_SPACES"].startswith("  ") and values["WITH_SPACES"].endswith("  ")
    assert values["QUOTED"] == "\"double\" and 'single'"
    assert values["EMPTY"] == ""


def test_generated_yaml_and_json_match_plain_files() -> None:
    from ruamel.yaml import YAML

    base = need_vectors() / "generated"
    plain = YAML(typ="safe").load((base / "secrets.staging.plain.yaml").read_text())
    got = {
        k: v
        for k, v, _ in sops.decrypt_file(
            base / "secrets.staging.enc.yaml", _ids(base / "alice.key")
        )
    }
    assert got == _flatten(plain)
    assert got["app__debug"] == "false" and got["tokens__1"] == "tok-two"
    assert got["multiline"] == "line one\nline two\n"
    plain_json = json.loads((base / "secrets.plain.json").read_text())
    got = {k: v for k, v, _ in sops.decrypt_file(base / "secrets.enc.json", _ids(base / "bob.key"))}
    assert got == _flatten(plain_json)


def test_recipients_listed() -> None:
    base = need_vectors() / "generated"
    recips = sops.file_recipients(base / "secrets.enc.env")
    alice = _ids(base / "alice.key")[0].recipient
    bob = _ids(base / "bob.key")[0].recipient
    assert recips == [alice, bob]


def test_post_quantum_vector_is_a_clear_error() -> None:
    base = need_vectors() / "public/fluxcd-kustomize-controller"
    warnings: list[str] = []
    ids = load_identities(
        {"SOPS_AGE_KEY": (base / "keys_age-pq.txt").read_text(), "HOME": "/x"}, warnings
    )
    assert any("post-quantum" in w for w in warnings)
    with pytest.raises(DecryptError) as exc:
        sops.decrypt_file(base / "algorithms_age-pq.yaml", ids)
    msg = str(exc.value)
    assert "algorithms_age-pq.yaml" in msg and "post-quantum" in msg and "\n" not in msg


def test_wrong_key_names_identities_and_recipients() -> None:
    base = need_vectors()
    ids = _ids(base / "public/getsops-sops/keys.txt")
    with pytest.raises(DecryptError) as exc:
        sops.decrypt_file(base / "generated/secrets.enc.env", ids)
    msg = str(exc.value)
    assert ids[0].recipient in msg
    assert "age16d2ct3nd2hl59czcf0n2e3yw3elm0plmatflxjkm0m5f82fhe30qe7xh89" in msg
    assert "`envshim join`" in msg and "key show" not in msg
    with pytest.raises(DecryptError) as exc:
        sops.decrypt_file(base / "generated/secrets.enc.env", [])
    assert "no age identity" in str(exc.value)


def test_is_sops_file() -> None:
    base = need_vectors()
    for name, _ in CASES:
        assert sops.is_sops_file(base / name), name
    assert not sops.is_sops_file(base / "generated/secrets.plain.env")
    assert not sops.is_sops_file(base / "generated/team.env.age")
