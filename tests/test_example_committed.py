"""Issue 10: ``envshim example`` writes only committed defaults. Every other way a value
can reach a variable (a gitignored .env through ``_.file``, a committed link to an
ignored file, ``get_env()``, ``{{env.X}}``, ``$VAR``, ``[vars]`` reading the environment,
a file git does not track, a team secret, the user store, a value built from either) is an
empty line with a comment naming where it comes from, and no path under the home
directory is written. Through the real CLI in a real git repository; the pre-commit
scan is run on the staged file and the file itself is read back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import git, need, need_vectors, run_envshim
from envshim.formats.dotenv import parse, parse_sops

ENV_SECRET = "env-secret-XYZ-4242"
IGNORED_SECRET = "local-secret-123"
LINKED_SECRET = "linked-secret-77"
MINE = "my-own-value-42"
TRACKED_DOLLAR = "tracked-dollar-9"

MISE_TOML = """\
[vars]
who = "{{ env.SECRET_TOKEN }}"

[env]
APP_ENV = "dev"
GREETING = "hello there # not a comment"
_.file = [".env", ".env.defaults", ".env.linked"]
_.envshim = {}
HOME_CACHE = "{{ get_env(name='HOME') }}/cache"
TOKEN_COPY = "{{ env.SECRET_TOKEN }}"
EXPANDED = "prefix-$SECRET_TOKEN"
FROM_IGNORED = "x-{{ env.LOCAL_TOKEN }}"
FROM_DEFAULT = "{{ env.APP_ENV }}-suffix"
VIA_VARS = "{{ vars.who }}"
FROM_TEAM = "postgres://app:{{ env.API_KEY }}@db/app"
FROM_MINE = "tok-{{ env.MY_TOKEN }}"
"""


def team_values() -> dict[str, str]:
    text = (need_vectors() / "generated" / "secrets.plain.env").read_text(encoding="utf-8")
    return {b.key: b.value for b in parse_sops(text)}


def entries(text: str) -> dict[str, tuple[str, str]]:
    """key -> (value, the comment line right above it, or "")."""
    values = {b.key: b.value for b in parse(text, ".env.example")}
    lines = text.splitlines()
    out = {}
    for i, line in enumerate(lines):
        key = line.split("=", 1)[0]
        if key in values and "=" in line and not line.startswith("#"):
            above = lines[i - 1] if i and lines[i - 1].startswith("# ") else ""
            out[key] = (values[key], above)
    return out


@pytest.fixture
def repo(tmp_path: Path, clean_env: dict[str, str], home: Path) -> tuple[Path, dict[str, str]]:
    need("git")
    vectors = need_vectors() / "generated"
    root = tmp_path / "proj"
    root.mkdir()
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key), "SECRET_TOKEN": ENV_SECRET}
    (root / "mise.toml").write_text(MISE_TOML, encoding="utf-8")
    (root / ".env").write_text(f"LOCAL_TOKEN={IGNORED_SECRET}\n", encoding="utf-8")
    (root / ".env.defaults").write_text("LOG_LEVEL=info\n", encoding="utf-8")
    (root / "local").mkdir()
    (root / "local" / "real.env").write_text(f"LINKED={LINKED_SECRET}\n", encoding="utf-8")
    (root / ".env.linked").symlink_to("local/real.env")  # committed: the link, not its target
    (root / "mise.local.toml").write_text('[env]\nLOCAL_ONLY = "mine"\n', encoding="utf-8")
    (root / ".gitignore").write_text(".env\nlocal/\n", encoding="utf-8")
    shutil.copy(vectors / "secrets.enc.env", root / "secrets.enc.env")
    git(root, "init", "-q")
    run_envshim("user", "init", env=env, cwd=root, check=True)  # writes user_store
    run_envshim("user", "set", "MY_TOKEN", env=env, cwd=root, input=MINE + "\n", check=True)
    git(root, "add", "mise.toml", ".env.defaults", ".env.linked", ".gitignore")
    git(root, "add", "secrets.enc.env")  # user init wrote user_store into `_.envshim`
    assert "user_store" in (root / "mise.toml").read_text(encoding="utf-8")
    git(root, "commit", "-q", "-m", "project")
    return root, env


def test_only_committed_defaults_are_written_and_the_staged_scan_is_clean(repo, home):
    root, env = repo
    # control: every leak path really puts its value into the environment envshim builds
    loaded = run_envshim("run", "--", "env", env=env, cwd=root)
    assert loaded.returncode == 0, loaded.stderr
    assert f"TOKEN_COPY={ENV_SECRET}\n" in loaded.stdout
    assert f"EXPANDED=prefix-{ENV_SECRET}\n" in loaded.stdout
    assert f"VIA_VARS={ENV_SECRET}\n" in loaded.stdout
    assert f"HOME_CACHE={home}/cache\n" in loaded.stdout
    assert f"LOCAL_TOKEN={IGNORED_SECRET}\n" in loaded.stdout
    assert f"FROM_IGNORED=x-{IGNORED_SECRET}\n" in loaded.stdout
    assert f"LINKED={LINKED_SECRET}\n" in loaded.stdout
    assert f"FROM_MINE=tok-{MINE}\n" in loaded.stdout
    assert "LOCAL_ONLY=mine\n" in loaded.stdout

    out = run_envshim("example", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    text = (root / ".env.example").read_text(encoding="utf-8")

    # the file holds none of it: not a value, not the home directory (store path included)
    for leaked in (ENV_SECRET, IGNORED_SECRET, LINKED_SECRET, MINE, "mine", str(home)):
        assert leaked not in text, leaked
    assert os.path.realpath(home) not in text
    for value in team_values().values():
        if len(value) >= 4:
            assert value not in text

    got = entries(text)
    assert got["APP_ENV"] == ("dev", "")
    assert got["GREETING"] == ("hello there # not a comment", "")
    assert got["LOG_LEVEL"] == ("info", "")  # a tracked _.file
    assert got["FROM_DEFAULT"] == ("dev-suffix", "")  # a template over a committed value
    expected = {
        "HOME_CACHE": "# from your environment ($HOME)",
        "TOKEN_COPY": "# from your environment ($SECRET_TOKEN)",
        "EXPANDED": "# from your environment ($SECRET_TOKEN)",
        "VIA_VARS": "# from your environment ($SECRET_TOKEN)",
        "LOCAL_TOKEN": "# from .env, which is not committed (git ignores it)",
        "FROM_IGNORED": "# from .env, which is not committed (git ignores it)",
        "LINKED": "# from local/real.env, which is not committed (git ignores it)",
        "LOCAL_ONLY": "# from mise.local.toml, which is not committed (git does not track it)",
        "API_KEY": "# secret (team: secrets.enc.env)",
        "DATABASE_URL": "# secret (team: secrets.enc.env)",
        "MY_TOKEN": "# secret (your own value, in your user store)",
        "FROM_TEAM": "# secret (mise: mise.toml)",
        "FROM_MINE": "# secret (mise: mise.toml)",
    }
    for key, comment in expected.items():
        assert got[key] == ("", comment), key

    git(root, "add", ".env.example")
    scan = run_envshim("scan", "--staged", env=env, cwd=root)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    # and the same scan finds a team secret staged in the same place (it can fail)
    (root / ".env.example").write_text(f"API_KEY={team_values()['API_KEY']}\n", encoding="utf-8")
    git(root, "add", ".env.example")
    assert run_envshim("scan", "--staged", env=env, cwd=root).returncode != 0


def test_a_tracked_file_that_reads_the_environment_or_is_skip_worktree(repo):
    root, env = repo
    (root / ".env.defaults").write_text(
        "LOG_LEVEL=info\nTRACKED=${SECRET_TOKEN}\n", encoding="utf-8"
    )
    git(root, "commit", "-q", "-am", "a default that reads the environment")
    got = entries(run_envshim("example", "-", env=env, cwd=root, check=True).stdout)
    assert got["TRACKED"] == ("", "# from your environment ($SECRET_TOKEN)")
    # its local copy is no longer what is committed once git is told to ignore its changes
    (root / ".env.defaults").write_text(f"LOG_LEVEL={TRACKED_DOLLAR}\n", encoding="utf-8")
    git(root, "update-index", "--skip-worktree", ".env.defaults")
    out = run_envshim("example", "-", env=env, cwd=root, check=True).stdout
    assert TRACKED_DOLLAR not in out
    assert entries(out)["LOG_LEVEL"] == (
        "",
        "# from .env.defaults, which is not committed (git is told to ignore its changes)",
    )


def test_a_project_under_home_writes_no_path_of_it(tmp_path, clean_env, home):
    need("git")
    root = home / "src" / "app"
    root.mkdir(parents=True)
    (root / "mise.toml").write_text(
        '[env]\nDATA_DIR = "{{config_root}}/data"\nAPP_ENV = "dev"\n_.path = ["bin"]\n',
        encoding="utf-8",
    )
    git(root, "init", "-q")
    git(root, "add", "mise.toml")
    out = run_envshim("example", "-", env=clean_env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert str(home) not in out.stdout
    got = entries(out.stdout)
    assert got["APP_ENV"] == ("dev", "")
    assert got["DATA_DIR"] == ("", "# a path on your machine (under your home directory)")
    assert "# PATH is extended by mise.toml (not written: yours is kept)\n\n" in out.stdout


def test_a_value_mise_computes_is_left_empty(tmp_path, clean_env):
    """`_.source` runs code: the mise layer comes from `mise env --json`; a literal is still
    written, what the script set is not."""
    need("git")
    mise = need("mise")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "env.sh").write_text(f"export SOURCED={ENV_SECRET}\n", encoding="utf-8")
    (root / "mise.toml").write_text(
        '[env]\nAPP_ENV = "dev"\nPORT = 8080\n_.source = "env.sh"\n', encoding="utf-8"
    )
    git(root, "init", "-q")
    git(root, "add", "mise.toml", "env.sh")
    env = {
        **clean_env,
        "PATH": os.path.dirname(mise) + os.pathsep + clean_env["PATH"],
        "MISE_TRUSTED_CONFIG_PATHS": str(root),
    }
    trusted = run_envshim("run", "--", "env", env=env, cwd=root)
    assert f"SOURCED={ENV_SECRET}\n" in trusted.stdout, trusted.stderr  # control
    out = run_envshim("example", "-", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert ENV_SECRET not in out.stdout
    got = entries(out.stdout)
    assert got["APP_ENV"] == ("dev", "")
    assert got["PORT"] == ("8080", "")
    assert got["SOURCED"][0] == "" and got["SOURCED"][1].startswith("# computed by mise (")


def test_outside_a_git_repository_every_value_is_left_empty(tmp_path, clean_env):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nAPP_ENV = "dev"\n', encoding="utf-8")
    out = run_envshim("example", env=clean_env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert "not in a git repository" in out.stderr
    got = entries((root / ".env.example").read_text(encoding="utf-8"))
    assert got["APP_ENV"] == (
        "",
        "# from mise.toml, which is not committed (not in a git repository)",
    )


def test_outside_any_project_nothing_is_written(tmp_path, clean_env):
    empty = tmp_path / "nowhere"
    empty.mkdir()
    out = run_envshim("example", env=clean_env, cwd=empty)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "envshim init" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert list(empty.iterdir()) == []
    dash = run_envshim("example", "-", env=clean_env, cwd=empty)
    assert dash.returncode == 1 and dash.stdout == "" and "envshim init" in dash.stderr


def test_the_repository_own_git_config_runs_nothing(tmp_path, clean_env):
    """A repository's .git/config can name a command (core.fsmonitor) that `git ls-files`
    runs; a copied repository is not the user's to trust, so envshim turns it off."""
    need("git")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nAPP_ENV = "dev"\n', encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "mise.toml")
    marker = tmp_path / "ran"
    git(root, "config", "core.fsmonitor", f"touch '{marker}'; false")
    subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, check=False)
    assert marker.exists()  # control: plain git runs it
    marker.unlink()
    out = run_envshim("example", "-", env=clean_env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert entries(out.stdout)["APP_ENV"] == ("dev", "")
    assert not marker.exists()
