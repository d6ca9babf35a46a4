"""The mise layer with the rest: its parsed-config cache (never stale, never a secret) and `_.envshim`."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

from conftest import VECTORS, need_vectors, run_envshim
from envshim.layers.mise_config import CACHE_NAMESPACE as CACHE_DIR
from envshim.resolve import resolve


def _cache_file(env: dict[str, str], config: Path) -> Path:
    name = str(config).replace("%", "%25").replace("/", "%2F")
    return Path(env["XDG_CACHE_HOME"]) / "envshim" / CACHE_DIR / name


def test_edit_is_seen_and_cache_is_private(tmp_path: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    proj.mkdir()
    config = proj / "mise.toml"
    config.write_text('[env]\nA = "one"\nWHEN = 1979-05-27\n')
    assert resolve(proj, environ=clean_env)["A"] == "one"
    cache = _cache_file(clean_env, config)
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
    cache = _cache_file(clean_env, proj / "mise.toml")
    cache.parent.mkdir(parents=True, mode=0o700)  # a damaged entry for this very config
    cache.write_bytes(b"\x00garbage\xff")
    assert resolve(proj, environ=clean_env)["A"] == "x"
    assert resolve(proj, environ=clean_env)["A"] == "x"


def test_cache_off(tmp_path: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mise.toml").write_text('[env]\nA = "x"\n')
    env = {**clean_env, "ENVSHIM_NO_CACHE": "1"}
    assert resolve(proj, environ=env)["A"] == "x"
    assert not _cache_file(env, proj / "mise.toml").parent.exists()


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
    cached = _cache_file(clean_env, proj / "mise.toml").read_bytes()
    assert b"inline s3cret" not in cached and "inline s3cret ✓".encode() not in cached
    assert resolve(proj, environ=clean_env).vars["INLINE_SECRET"].secret


def _team_project(tmp_path: Path, home: Path, mise_toml: str) -> Path:
    vectors = need_vectors()
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(vectors / "generated/team.env.age", proj / "secrets.env.age")
    key = home / ".config/sops/age/keys.txt"
    key.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(vectors / "generated/alice.key", key)
    key.chmod(0o600)
    (proj / "mise.toml").write_text(mise_toml)
    return proj


def test_entries_after_envshim_directive_see_secrets(tmp_path: Path, home: Path, clean_env):
    proj = _team_project(
        tmp_path,
        home,
        "[env]\n"
        'BEFORE = "${STRIPE_KEY:-not yet}"\n'
        "_.envshim = {}\n"
        'DERIVED = "key={{ env.STRIPE_KEY }}"\n'
        'EXPANDED = "$REDIS_URL/x"\n'
        'PLAIN = "p"\n',
    )
    res = resolve(proj, environ=clean_env)
    assert res["BEFORE"] == "not yet"
    assert res["DERIVED"] == "key=sk_test_123"
    assert res["EXPANDED"] == "redis://:pa ss@localhost:6379/0/x"
    assert res.vars["DERIVED"].secret and res.vars["EXPANDED"].secret
    assert not res.vars["PLAIN"].secret and not res.vars["BEFORE"].secret
    assert res.vars["STRIPE_KEY"].origin.layer == "team"


def test_required_satisfied_by_a_secret(tmp_path: Path, home: Path, clean_env):
    proj = _team_project(tmp_path, home, '[env]\nSTRIPE_KEY = { required = "ask the team" }\n')
    assert resolve(proj, environ=clean_env)["STRIPE_KEY"] == "sk_test_123"


def test_directive_with_unsupported_construct_is_not_half_applied(
    tmp_path: Path, home: Path, clean_env
):
    """With `_.envshim` present, the construct is found before any secret is applied."""
    proj = _team_project(
        tmp_path,
        home,
        "[env]\n_.envshim = {}\nLATER = \"{{ exec(command='echo x') }}\"\n",
    )
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp_path)}
    out = run_envshim("export", "--format", "json", env=env, cwd=proj)
    # mise itself fails on `_.envshim` without the plugin installed: one clean error
    assert out.returncode == 1 and out.stdout == ""
    assert f"{proj}/mise.toml:3" in out.stderr and "exec(" in out.stderr
    assert "sk_test_123" not in out.stderr


def test_files_read_and_paths_watched(tmp_path: Path, home: Path, clean_env: dict[str, str]):
    proj = tmp_path / "proj"
    (proj / "envs" / "deep").mkdir(parents=True)
    (proj / "envs" / "deep" / "a.env").write_text("A=1\n")
    (proj / ".env").write_text("B=2\n")
    (proj / "mise.toml").write_text('[env]\n_.file = [".env", "envs/*.env"]\n')
    sub = proj / "sub"
    sub.mkdir()
    res = resolve(sub, environ=clean_env)
    assert res["A"] == "1" and res["B"] == "2"
    assert proj / "mise.toml" in res.files and proj / ".env" in res.files
    assert proj / "envs" / "deep" / "a.env" in res.files
    watched = set(res.watch)
    # where a config could appear (this directory, each parent, the global config dir)
    assert {sub, proj, tmp_path, home / ".config" / "mise"} <= watched
    # where a glob could match a new file
    assert {proj / "envs", proj / "envs" / "deep"} <= watched
