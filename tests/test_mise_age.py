"""mise's inline age values (``{ age = "…" }``, ``format = "zstd"``), written by the real mise."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from conftest import age_keygen as _keygen
from conftest import key_copy as _key_copy
from conftest import need, need_vectors, run_envshim
from envshim.errors import DecryptError
from envshim.formats.age import NoMatchingKey
from envshim.formats.mise_age import decrypt_inline
from envshim.layers.base import LayerContext


def _ctx(root: Path, environ: dict[str, str], missing_key: str = "error") -> LayerContext:
    return LayerContext(
        cwd=root, root=root, profiles=[], environ=environ, options={}, missing_key=missing_key
    )


def _age_entry(entry: object) -> tuple[str, str | None]:
    """``{ age = "…" }`` or ``{ age = { value = "…", format = "…" } }`` → (value, format)."""
    assert isinstance(entry, dict)
    age = entry["age"]
    if isinstance(age, str):
        return age, None
    return age["value"], age.get("format")


def test_vector(clean_env, tmp_path):
    vec = need_vectors() / "generated"
    table = tomllib.loads((vec / "mise-inline-age" / "mise.toml").read_text())["env"]
    assert table["PLAIN"] == "x"
    value, fmt = _age_entry(table["INLINE_SECRET"])
    alice = _key_copy(vec / "alice.key", tmp_path / "alice.txt")
    ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(alice)})
    assert decrypt_inline(value, fmt, ctx) == "inline s3cret ✓"
    bob = _key_copy(vec / "bob.key", tmp_path / "bob.txt")
    ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(bob)})
    with pytest.raises(NoMatchingKey) as info:
        decrypt_inline(value, fmt, ctx, key="INLINE_SECRET", path="mise.toml", line=3)
    assert str(info.value).startswith("mise.toml:3: INLINE_SECRET: ")


def _mise_set(proj: Path, env: dict[str, str], key: str, value: str, *recipient: str) -> None:
    subprocess.run(
        [
            need("mise"),
            "set",
            "--file",
            str(proj / "mise.toml"),
            "--age-encrypt",
            *recipient,
            f"{key}={value}",
        ],
        cwd=proj,
        env={**env, "MISE_EXPERIMENTAL": "1"},
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def _fresh_files(tmp_path_factory):
    """Made once per module: mise is slow to start, and the files are only read."""
    base = tmp_path_factory.mktemp("fresh")
    home = base / "home"
    (home / ".config").mkdir(parents=True)
    env = {k: os.environ[k] for k in ("PATH", "LANG", "TMPDIR") if k in os.environ}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), MISE_YES="1")
    pub = _keygen(base / "key.txt")
    proj = base / "proj"
    proj.mkdir()
    small = "small " + secrets.token_hex(8) + " ✓ $HOME"
    big = "-----BEGIN CERT-----\n" + "\n".join(secrets.token_hex(32) for _ in range(40))
    _mise_set(proj, env, "SMALL", small, "--age-recipient", pub)
    _mise_set(proj, env, "BIG", big, "--age-recipient", pub)
    table = tomllib.loads((proj / "mise.toml").read_text())["env"]
    return table, base / "key.txt", {"SMALL": small, "BIG": big}, proj


@pytest.fixture
def fresh(clean_env, _fresh_files):
    """A mise.toml with a small (raw) and a large (zstd) value, written by the real mise."""
    table, key, expected, proj = _fresh_files
    return table, {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}, expected, proj


def test_fresh_raw_value(fresh):
    table, env, expected, proj = fresh
    value, fmt = _age_entry(table["SMALL"])
    assert fmt in (None, "raw")
    assert decrypt_inline(value, fmt, _ctx(proj, env), key="SMALL") == expected["SMALL"]


def test_fresh_zstd_value(fresh):
    need("zstd")
    table, env, expected, proj = fresh
    value, fmt = _age_entry(table["BIG"])
    assert fmt == "zstd"  # mise compresses ciphertext over 1 KiB
    assert decrypt_inline(value, fmt, _ctx(proj, env), key="BIG") == expected["BIG"]


@pytest.mark.skipif(
    importlib.util.find_spec("zstandard") is not None,
    reason="the zstandard package is installed, so no zstd program is needed",
)
def test_zstd_without_a_decompressor_names_the_key(fresh):
    table, env, expected, proj = fresh
    value, fmt = _age_entry(table["BIG"])
    ctx = _ctx(proj, {**env, "PATH": str(proj / "no-such-bin")})
    with pytest.raises(DecryptError) as info:
        decrypt_inline(value, fmt, ctx, key="BIG", path=proj / "mise.toml", line=2)
    text = str(info.value)
    assert "mise.toml:2: BIG is zstd-compressed" in text
    assert "zstandard" in text and "zstd" in text
    assert expected["BIG"][:30] not in text


def test_fresh_ssh_recipient(clean_env, home, tmp_path):
    from test_age_files import _ssh_keypair

    _ssh_keypair(home)
    proj = tmp_path / "proj"
    proj.mkdir()
    value = "via ssh " + secrets.token_hex(8)
    _mise_set(
        proj,
        clean_env,
        "SSH_SECRET",
        value,
        "--age-ssh-recipient",
        str(home / ".ssh" / "id_ed25519.pub"),
    )
    table = tomllib.loads((proj / "mise.toml").read_text())["env"]
    enc, fmt = _age_entry(table["SSH_SECRET"])
    assert decrypt_inline(enc, fmt, _ctx(proj, clean_env), key="SSH_SECRET") == value


def test_missing_key_modes(fresh, clean_env):
    table, _env, _expected, proj = fresh
    value, fmt = _age_entry(table["SMALL"])
    for mode in ("error", "warn", "skip"):
        ctx = _ctx(proj, clean_env, mode)  # no identity at all
        with pytest.raises(NoMatchingKey):
            decrypt_inline(value, fmt, ctx, key="SMALL")
        assert len(ctx.warnings) == (1 if mode == "warn" else 0)
        if mode == "warn":
            assert "SMALL" in ctx.warnings[0] and "left out" in ctx.warnings[0]


def test_damaged_values(fresh):
    table, env, _expected, proj = fresh
    value, fmt = _age_entry(table["SMALL"])
    ctx = _ctx(proj, env)
    with pytest.raises(DecryptError, match="not base64"):
        decrypt_inline(value[:-3] + "!!!", fmt, ctx, key="SMALL")
    with pytest.raises(DecryptError) as info:
        decrypt_inline(value[:40], fmt, ctx, key="SMALL")
    assert not isinstance(info.value, NoMatchingKey)
    with pytest.raises(DecryptError, match="unknown age format"):
        decrypt_inline(value, "brotli", ctx, key="SMALL")


def test_legacy_prefix(fresh):
    """``age64:v1:`` strings (older mise) carry the format in the prefix."""
    table, env, expected, proj = fresh
    value, _fmt = _age_entry(table["SMALL"])
    assert decrypt_inline("age64:v1:" + value, None, _ctx(proj, env)) == expected["SMALL"]


def test_vector_through_envshim_export(clean_env, tmp_path):
    vec = need_vectors() / "generated"
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mise.toml").write_bytes((vec / "mise-inline-age" / "mise.toml").read_bytes())
    alice = _key_copy(vec / "alice.key", tmp_path / "alice.txt")
    proc = run_envshim(
        "export", "--format", "json", str(proj), env={**clean_env, "SOPS_AGE_KEY_FILE": str(alice)}
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"PLAIN": "x", "INLINE_SECRET": "inline s3cret ✓"}
    nokey = run_envshim("export", "--format", "json", str(proj), env=clean_env)
    assert nokey.returncode == 1 and nokey.stdout == ""
    assert "mise.toml:3: INLINE_SECRET" in nokey.stderr
    skip = run_envshim(
        "export",
        "--format",
        "json",
        "--missing-key=skip",
        str(proj),
        env={**clean_env, "INLINE_SECRET": "from-ci"},
    )
    assert skip.returncode == 0 and skip.stderr == ""
    assert json.loads(skip.stdout) == {"PLAIN": "x"}  # the CI value is left as it is


def test_zstd_bomb_is_cut_at_the_file_limit(fresh):
    """A few KiB of zstd that expand to 256 MiB: refused at the size limit, at once."""
    zstd = need("zstd")
    table, env, _expected, proj = fresh
    bomb = subprocess.run(
        [zstd, "-q", "-c", "-19"], input=bytes(256 << 20), capture_output=True, check=True
    ).stdout
    assert len(bomb) < 64 << 10
    value = base64.b64encode(bomb).decode().rstrip("=")
    env = {**env, "ENVSHIM_MAX_FILE_BYTES": str(1 << 20)}
    start = time.monotonic()
    with pytest.raises(DecryptError) as info:
        decrypt_inline(value, "zstd", _ctx(proj, env), key="BOMB", path=proj / "mise.toml", line=3)
    assert time.monotonic() - start < 10
    assert "mise.toml:3: BOMB: the zstd data expands to more than the 1048576-byte limit" in str(
        info.value
    )
    # a real value still decrypts under the same limit
    value, fmt = _age_entry(table["BIG"])
    assert decrypt_inline(value, fmt, _ctx(proj, env), key="BIG") == _expected["BIG"]
