"""Issue 10's list of first-hour fixes, through the real CLI: outside a project the next
step is `envshim init`; a missing required name is in the commands the hint prints (and
they work pasted); counts of one are singular."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen, git, need, run_envshim

VALUE = "a-value-from-stdin-42"


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [n for n in dirnames if n not in (".git", ".cache")]
        for name in filenames:
            p = Path(dirpath, name)
            out[str(p)] = (p.read_bytes(), stat.S_IMODE(p.lstat().st_mode))
    return out


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and proc.stdout == "", (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.strip()


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    return empty


def test_recipients_list_outside_a_project_names_init(nowhere, clean_env):
    out = run_envshim("recipients", "list", env=clean_env, cwd=nowhere)
    line = one_line(out)
    assert "`envshim init`" in line and "recipients add" not in line, line
    assert list(nowhere.iterdir()) == []
    # inside a project with no .sops.yaml yet, `recipients add` is still the step
    (nowhere / "mise.toml").write_text('[env]\nA = "1"\n', encoding="utf-8")
    inside = one_line(run_envshim("recipients", "list", env=clean_env, cwd=nowhere))
    assert "`envshim recipients add <age1…>`" in inside, inside


@pytest.mark.parametrize("make_project", [False, True], ids=["no project", "no .sops.yaml"])
def test_secrets_set_without_sops_config_names_init(nowhere, clean_env, make_project):
    need("sops")
    if make_project:
        (nowhere / "mise.toml").write_text('[env]\nA = "1"\n', encoding="utf-8")
    before = snapshot(nowhere)
    out = run_envshim("secrets", "set", "DB_PASSWORD", env=clean_env, cwd=nowhere, input=VALUE)
    assert out.returncode == 1
    line = one_line(out)
    assert "no .sops.yaml" in line and "`envshim init`" in line, line
    assert "recipients add" not in line and VALUE not in line
    assert snapshot(nowhere) == before  # no secret file, nothing else


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A project with a key, a .sops.yaml to it (made by `envshim init`), and git."""
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "mise.toml").write_text('[env]\nAPP_ENV = "dev"\n', encoding="utf-8")
    made = run_envshim("init", env=clean_env, cwd=root)
    assert made.returncode == 0, made.stderr
    return root, clean_env


def paste(command: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("bash"), "--norc", "--noprofile", "-c", command],
        cwd=root,
        env=env,
        input=VALUE + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_required_name_is_in_the_commands_and_they_work_pasted(project):
    root, env = project
    (root / "envshim.toml").write_text('required = ["DATABASE_URL"]\n', encoding="utf-8")
    failed = run_envshim("export", "bash", env=env, cwd=root)
    assert failed.returncode != 0
    line = one_line(failed)
    commands = re.findall(r"`(envshim [^`]+)`", line)
    assert commands == ["envshim secrets set DATABASE_URL", "envshim user set DATABASE_URL"]
    pasted = paste(commands[0], root, env)
    assert pasted.returncode == 0, pasted.stderr
    done = run_envshim("export", "json", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert f'"DATABASE_URL": "{VALUE}"' in done.stdout.replace('":"', '": "')


def test_several_missing_names_the_first_and_says_for_each(project):
    root, env = project
    (root / "envshim.toml").write_text('required = ["DATABASE_URL", "API_TOKEN"]\n')
    line = one_line(run_envshim("export", "bash", env=env, cwd=root))
    assert "DATABASE_URL" in line and "API_TOKEN" in line
    assert "for each name" in line, line
    assert re.findall(r"`(envshim [^`]+)`", line) == [
        "envshim secrets set DATABASE_URL",
        "envshim user set DATABASE_URL",
    ]


def test_counts_of_one_are_singular(project, tmp_path):
    root, env = project
    run_envshim("secrets", "set", "ONLY", env=env, cwd=root, input=VALUE, check=True)
    notes = root / "notes.txt"
    notes.write_text("nothing here\n", encoding="utf-8")
    clean = run_envshim("scan", "notes.txt", env=env, cwd=root)
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr.endswith("envshim scan: clean: 1 secret value, 1 file scanned\n")
    notes.write_text(f"oops {VALUE}\n", encoding="utf-8")
    found = run_envshim("scan", "notes.txt", env=env, cwd=root)
    assert found.returncode == 1
    assert "envshim scan: 1 finding of 1 secret value in 1 file scanned;" in found.stderr
    # a second member and back: the sops file's counts said "2 recipients", "1 recipients"
    other = age_keygen(tmp_path / "bob.key")
    added = run_envshim("recipients", "add", other, env=env, cwd=root)
    assert added.returncode == 0, added.stderr
    assert "data key wrapped for 2 recipients\n" in added.stderr
    removed = run_envshim("recipients", "rm", other, env=env, cwd=root)
    assert removed.returncode == 0, removed.stderr
    assert "re-wrapped for 1 recipient with a new data key\n" in removed.stderr
