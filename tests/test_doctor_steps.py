"""`envshim doctor`'s next steps, taken literally: every command it prints is pasted into
bash in the project directory and must work, and `--fix` links the mise plugin inside a
project whose mise.toml already has `_.envshim` (where a plain `mise plugins link` fails).
Real bash, git, mise and direnv; an isolated home."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

from conftest import git, need


def checks(project: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict]]:
    # `envshim` as the user types it: the direnv library it writes names that executable
    argv = [need("envshim"), "doctor", "--json", "--shell", "bash", *args]
    out = subprocess.run(argv, env=env, cwd=project, capture_output=True, text=True, timeout=300)
    assert out.stderr == "" and "Traceback" not in out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)["checks"]


def commands(next_step: str) -> list[str]:
    """The commands in a next step: everything between backticks."""
    return re.findall(r"`([^`]+)`", next_step)


def paste(command: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("bash"), "--norc", "--noprofile", "-c", command],
        cwd=project,
        env=env,
        input="a-value-from-stdin\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_printed_command_works_pasted_in_the_project(tmp_path, clean_env):
    for tool in ("mise", "direnv", "git", "age"):
        need(tool)
    project = tmp_path / "proj"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / "mise.toml").write_text('[env]\nAPP_ENV = "local"\n_.envshim = {}\n')
    (project / "envshim.toml").write_text('required = ["TOKEN"]\n')
    (project / ".envrc").write_text("use envshim\n")
    (project / ".env.keys").write_text("DOTENV_PRIVATE_KEY=not-a-real-key\n")
    git(project, "add", "-f", "mise.toml", "envshim.toml", ".envrc", ".env.keys")
    git(project, "commit", "-q", "-m", "a project someone else set up")

    code, first = checks(project, clean_env)
    assert code == 1
    failing = {c["check"] for c in first if c["status"] == "fail"}
    assert {"mise", "direnv", "identity", "required", "gitignore", "tracked plaintext"} <= failing

    pasted: list[str] = []
    for _round in range(4):  # a step can reveal the next (a key, then the user store)
        code, results = checks(project, clean_env)
        todo = [c for c in results if c["status"] in ("fail", "warn")]
        if not todo:
            break
        for check in todo:
            steps = commands(check["next"])
            assert steps, check  # every problem names at least one command
            for command in steps:
                proc = paste(command, project, clean_env)
                # doctor --fix does what it can and still exits 1 while other steps remain
                allowed = (0, 1) if command == "envshim doctor --fix" else (0,)
                assert proc.returncode in allowed, (check, command, proc.stdout, proc.stderr)
                assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
                pasted.append(command)
    code, results = checks(project, clean_env)
    assert code == 0, [c for c in results if c["status"] != "ok"]
    assert all(c["status"] in ("ok", "skip") for c in results), results
    # the steps that were taken, literally
    assert any(c.startswith("mise -C / plugins link envshim ") for c in pasted)
    assert "mise trust mise.toml" in pasted
    assert "envshim join" in pasted and "envshim user set TOKEN" in pasted
    assert "git rm -q --cached .env.keys" in pasted
    # and mise itself now loads the project through the plugin
    mise = subprocess.run(
        ["mise", "env", "--json"], cwd=project, env=clean_env, capture_output=True, text=True
    )
    assert mise.returncode == 0, mise.stderr
    assert json.loads(mise.stdout)["TOKEN"] == "a-value-from-stdin"


def test_fix_links_the_mise_plugin_where_a_plain_link_fails(tmp_path, clean_env):
    need("mise")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "mise.toml").write_text('[env]\nAPP_ENV = "local"\n_.envshim = {}\n')
    plain = subprocess.run(
        ["mise", "plugins", "link", "envshim", str(tmp_path)],
        cwd=project,
        # without MISE_YES, as a user runs it (with it, mise would trust the project first)
        env={k: v for k, v in clean_env.items() if k != "MISE_YES"},
        capture_output=True,
        text=True,
    )
    assert plain.returncode != 0  # why doctor runs mise from / (see doctor/mise.py)

    code, before = checks(project, clean_env)
    [mise] = [c for c in before if c["check"] == "mise"]
    assert code == 1 and mise["status"] == "fail"
    code, after = checks(project, clean_env, "--fix")
    [mise] = [c for c in after if c["check"] == "mise"]
    assert mise["fixed"].startswith("linked the envshim plugin (")
    listed = subprocess.run(
        ["mise", "-C", "/", "plugins", "ls"], env=clean_env, capture_output=True, text=True
    )
    assert "envshim" in listed.stdout.split()
    # mise's own trust is the user's call: doctor names it, --fix does not do it
    assert mise["status"] == "warn" and mise["next"] == "review it, then `mise trust mise.toml`"


def test_the_maintainers_steps_work_pasted_too(tmp_path, clean_env, home):
    """A key file and a user store others can read, a tracked .env.local holding a team
    secret: each printed command, pasted, fixes its problem."""
    need("sops")
    project = tmp_path / "proj"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    secret = "tracked-by-mistake-0123456789"
    (project / "v.env").write_text(f"DB_PASSWORD={secret}\n")
    made = subprocess.run(
        [need("envshim"), "init", "--from-dotenv", "v.env"],
        cwd=project, env=clean_env, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    for step in ("allow", "user init"):
        assert paste(f"envshim {step}", project, clean_env).returncode == 0
    assert paste("envshim user set MINE", project, clean_env).returncode == 0
    (project / ".env.local").write_text(f"DB_PASSWORD={secret}\n")
    git(project, "add", "-f", ".env.local")
    key = home / ".config" / "sops" / "age" / "keys.txt"
    key.chmod(0o644)
    values = next((home / ".local" / "share" / "envshim" / "users").glob("*/values.age"))
    values.chmod(0o644)
    failing: set[str] = set()
    for _round in range(3):  # with the key readable again, the scan knows the values
        code, results = checks(project, clean_env)
        todo = [c for c in results if c["status"] in ("fail", "warn") and c["check"] != "shell"]
        failing |= {c["check"] for c in todo if c["status"] == "fail"}
        for check in todo:
            for command in commands(check["next"]):
                proc = paste(command, project, clean_env)
                assert proc.returncode == 0, (check, command, proc.stderr)
    assert {"identity", "user store", "tracked plaintext"} <= failing
    code, results = checks(project, clean_env)
    left = [c for c in results if c["status"] in ("fail", "warn") and c["check"] != "shell"]
    assert code == 0 and not left, left
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert ".env.local" not in git(project, "ls-files")
    rotated = subprocess.run(
        [need("envshim"), "secrets", "get", "DB_PASSWORD"],
        cwd=project, env=clean_env, capture_output=True, text=True,
    )  # fmt: skip
    assert rotated.stdout == "a-value-from-stdin\n"  # the pasted rotation took the new value
