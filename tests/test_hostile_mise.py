"""Hostile files through mise's ``_.file``: no other file's secret in any message, bounded work.

A ``mise.toml`` in a clone nobody has allowed points ``_.file`` at the user's own
age key file (directly, or through a committed symlink). Every command that reads
the project must fail or warn without printing a byte of that key; a bare token
line (a GitHub token) in a dotenv file is never quoted either; a YAML "billion
laughs" stops at once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import age_keygen, run_envshim

TOKEN = "ghp_SECRETVALUE1234567890abcdef"


@pytest.fixture
def key_file(clean_env: dict[str, str]) -> Path:
    keys = Path(clean_env["XDG_CONFIG_HOME"]) / "sops" / "age"
    keys.mkdir(parents=True)
    path = keys / "keys.txt"
    age_keygen(path)
    return path


def private_parts(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    secret = next(line for line in lines if line.startswith("AGE-SECRET-KEY-"))
    return [secret, secret[15:40], secret.split("-")[-1][:20]]


@pytest.mark.parametrize("via", ["path", "symlink"])
def test_another_files_secret_never_reaches_a_message(via, key_file, clean_env, tmp_path):
    project = tmp_path / "clone"
    project.mkdir()
    if via == "path":
        target = str(key_file)
    else:
        (project / "keys.env").symlink_to(key_file)
        target = "keys.env"
    (project / "mise.toml").write_text(f'[env]\nA = "1"\n_.file = "{target}"\n')
    (project / ".env.example").write_text("")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    secret = private_parts(key_file)
    commands = [
        ("status",), ("allow",), ("explain", "A"), ("example", "-"), ("scan",),
        ("export", "bash"), ("export", "json"), ("doctor", "--json"), ("secrets", "list"),
    ]  # fmt: skip
    for args in commands:
        started = time.monotonic()
        proc = run_envshim(*args, cwd=project, env=clean_env)
        assert time.monotonic() - started < 20, args
        for part in secret:
            assert part not in proc.stdout and part not in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_a_bare_token_line_is_never_quoted(clean_env, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "mise.toml").write_text('[env]\n_.file = ".env"\n')
    (project / ".env").write_text(f"OK=1\n{TOKEN}\n")
    proc = run_envshim("export", "bash", cwd=project, env=clean_env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"{project}/.env:2:" in proc.stderr
    assert TOKEN not in proc.stderr and "ghp_" not in proc.stderr


def test_billion_laughs_in_a_yaml_file_stops_at_once(clean_env, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for i, name in enumerate(names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{names[i]}"] * 9) + "]")
    (project / "v.yaml").write_text("\n".join(lines) + "\n")
    (project / "mise.toml").write_text('[env]\n_.file = "v.yaml"\n')
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "envshim", "export", "bash"],
        cwd=project, env=clean_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert proc.returncode == 1 and proc.stdout == ""
    assert "aliases" in proc.stderr and "lol" not in proc.stderr


def test_a_copied_repositorys_git_config_runs_nothing(clean_env, tmp_path):
    """A project copied with its .git (an archive, a shared directory) brings its own
    .git/config; git would run its core.fsmonitor program on ls-files and check-ignore."""
    project = tmp_path / "copied"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    marker = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "monitor.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    hook.chmod(0o755)
    (project / "mise.toml").write_text('[env]\nA = "1"\n')
    (project / ".env").write_text("PLAIN=1\n")
    subprocess.run(["git", "-C", str(project), "add", "mise.toml"], check=True)
    subprocess.run(["git", "-C", str(project), "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "-C", str(project), "config", "core.fsmonitor", str(hook)], check=True)
    # the control: plain git does run it
    subprocess.run(["git", "-C", str(project), "ls-files"], capture_output=True, check=False)
    assert marker.exists()
    marker.unlink()
    for args in (("doctor",), ("scan",), ("scan", "--staged"), ("example", "-"), ("user", "init")):
        run_envshim(*args, cwd=project, env=clean_env)
        assert not marker.exists(), args


def test_escape_sequences_in_a_directory_name_never_reach_the_terminal(clean_env, tmp_path):
    """OSC 52 (set the clipboard) and clear-screen in a project's directory name are shown
    escaped by every listing and message, never raw."""
    project = tmp_path / "evil\x1b]52;c;SGVsbG8=\x07\x1b[2Jdir"
    project.mkdir()
    (project / "mise.toml").write_text('[env]\nA = "1"\n')
    for args in (("status",), ("explain", "A"), ("doctor",), ("allow",), ("export", "bash"),
                 ("secrets", "list"), ("recipients", "list")):  # fmt: skip
        proc = run_envshim(*args, cwd=project, env=clean_env)
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout, args
        assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr, args
    (project / "mise.toml").write_text('[env]\nA = "1"\nB = {{\n')
    proc = run_envshim("export", "bash", cwd=project, env=clean_env)
    assert proc.returncode == 1 and "\\x1b]52" in proc.stderr and "\x1b" not in proc.stderr
