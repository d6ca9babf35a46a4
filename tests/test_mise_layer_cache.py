"""The parsed-config cache of the mise layer: never stale, never a secret, never fatal."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

from conftest import VECTORS, need_vectors, run_envshim
from envshim.layers.mise_config import CACHE_NAME
from envshim.resolve import resolve


def _cache_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "envshim" / CACHE_NAME


def test_edit_is_seen_and_cache_is_private(tmp_path: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    proj.mkdir()
    config = proj / "mise.toml"
    config.write_text('[env]\nA = "one"\nWHEN = 1979-05-27\n')
    assert resolve(proj, environ=clean_env)["A"] == "one"
    cache = _cache_file(clean_env)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    # same size, same second: only mtime_ns/inode tell the versions apart
    config.write_text('[env]\nA = "two"\nWHEN = 1979-05-27\n')
    os.utime(config, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    again = resolve(proj, environ=clean_env)
    assert again["A"] == "two" and again["WHEN"] == "1979-05-27"
    assert again.vars["A"].origin.line == 2


def test_damaged_cache_is_ignored(tmp_path: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mise.toml").write_text('[env]\nA = "x"\n')
    cache = _cache_file(clean_env)
    cache.parent.mkdir(parents=True, mode=0o700)
    cache.write_bytes(b"\x00garbage\xff")
    assert resolve(proj, environ=clean_env)["A"] == "x"
    assert resolve(proj, environ=clean_env)["A"] == "x"


def test_cache_off(tmp_path: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mise.toml").write_text('[env]\nA = "x"\n')
    env = {**clean_env, "ENVSHIM_NO_CACHE": "1"}
    assert resolve(proj, environ=env)["A"] == "x"
    assert not _cache_file(env).exists()


def test_no_plaintext_secret_in_the_cache(tmp_path: Path, home: Path, clean_env: dict[str, str]):
    vectors = need_vectors()
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(VECTORS / "generated/mise-inline-age/mise.toml", proj / "mise.toml")
    key = home / ".config/mise/age.txt"
    key.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(vectors / "generated/alice.key", key)
    key.chmod(0o600)
    out = run_envshim("export", "--format", "json", env=clean_env, cwd=proj)
    assert out.returncode == 0, out.stderr
    assert "inline s3cret" in out.stdout
    cached = _cache_file(clean_env).read_bytes()
    assert b"inline s3cret" not in cached and "inline s3cret ✓".encode() not in cached
    assert resolve(proj, environ=clean_env).vars["INLINE_SECRET"].secret
