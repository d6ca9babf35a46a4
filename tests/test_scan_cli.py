"""``envshim scan`` end to end: real team secrets (age), real git, the real pre-commit hook."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import need, run_envshim

SECRET = "Tr0ub4dor&3-staging-password"
OTHER = "sk_live_0123456789abcdef"


def git(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    need("git")
    full = {
        **(env or os.environ),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path, clean_env, home) -> Path:
    key = home / ".config" / "sops" / "age" / "keys.txt"
    key.parent.mkdir(parents=True, mode=0o700)
    subprocess.run([need("age-keygen"), "-o", str(key)], capture_output=True, check=True)
    me = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    p = tmp_path / "proj"
    p.mkdir()
    assert git(p, "init", "-q", "-b", "main").returncode == 0
    (p / "envshim.toml").write_text("")
    plain = f"DB_PASSWORD={SECRET}\nSTRIPE_KEY={OTHER}\nPIN=1234\n"
    subprocess.run(
        [need("age"), "-r", me, "-o", str(p / "secrets.env.age")], input=plain.encode(), check=True
    )
    return p


def notebook_with_traceback(value: str) -> str:
    tb = [
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mOperationalError\x1b[0m                          Traceback (most recent call last)",
        f'\x1b[0;32m----> 1\x1b[0m engine \x1b[38;5;241m=\x1b[39m create_engine(\x1b[38;5;124m"postgresql://app:{value}@db/app"\x1b[39m)',
    ]
    cells = [
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": ["import pandas\n"],
            "outputs": [],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "source": ["engine = connect()\n"],
            "outputs": [
                {
                    "output_type": "error",
                    "ename": "OperationalError",
                    "evalue": "no",
                    "traceback": tb,
                }
            ],
        },
    ]
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1
    )


def test_scan_finds_notebook_traceback_staged_and_base64_without_printing_values(
    project, clean_env
):
    (project / "explore.ipynb").write_text(notebook_with_traceback(SECRET))
    (project / "deploy.yaml").write_text(
        "kind: Secret\ndata:\n  stripe: " + base64.b64encode(OTHER.encode()).decode() + "\n"
    )
    (project / "settings.py").write_text(f"DEBUG = True\nPASSWORD = {SECRET!r}\n")
    (project / "README.md").write_text("pin is 1234\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [
        "deploy.yaml:3: STRIPE_KEY (base64)",
        "explore.ipynb:cell 2 output 1 (traceback) line 3: DB_PASSWORD (plain)",
        "settings.py:2: DB_PASSWORD (plain)",
    ]
    assert "shorter than 6 characters" in out.stderr and "PIN" in out.stderr
    for value in (SECRET, OTHER, base64.b64encode(OTHER.encode()).decode()):
        assert value not in out.stdout + out.stderr

    # staged: only what the commit would hold
    assert git(project, "add", "settings.py").returncode == 0
    staged = run_envshim("scan", "--staged", env=clean_env, cwd=project)
    assert staged.returncode == 1
    assert staged.stdout == "settings.py:2: DB_PASSWORD (plain)\n"
    assert SECRET not in staged.stdout + staged.stderr


def test_clean_tree_exits_zero(project, clean_env):
    (project / "app.py").write_text("import os\nPASSWORD = os.environ['DB_PASSWORD']\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 0 and out.stdout == ""
    assert "clean" in out.stderr


def test_pre_commit_hook_blocks_a_commit_with_a_secret(project, clean_env):
    inst = run_envshim("scan", "--install", env=clean_env, cwd=project)
    assert inst.returncode == 0, inst.stderr
    (project / ".gitignore").write_text(".env\n")
    (project / "ok.py").write_text("x = 1\n")
    assert git(project, "add", ".").returncode == 0
    first = git(project, "commit", "-q", "-m", "clean", env=clean_env)
    assert first.returncode == 0, first.stderr
    (project / "leak.py").write_text(f"token = '{OTHER}'\n")
    git(project, "add", "leak.py")
    blocked = git(project, "commit", "-q", "-m", "leak", env=clean_env)
    assert blocked.returncode != 0
    assert "leak.py:1: STRIPE_KEY (plain)" in blocked.stdout + blocked.stderr
    assert OTHER not in blocked.stdout + blocked.stderr
    assert git(project, "log", "--format=%s").stdout.split() == ["clean"]


def test_history_scan_finds_a_removed_leak(project, clean_env):
    (project / "old.txt").write_text(f"{SECRET}\n")
    git(project, "add", "old.txt")
    assert git(project, "commit", "-q", "-m", "leak", env=clean_env).returncode == 0
    git(project, "rm", "-q", "old.txt")
    assert git(project, "commit", "-q", "-m", "remove", env=clean_env).returncode == 0
    assert run_envshim("scan", env=clean_env, cwd=project).returncode == 0
    out = run_envshim("scan", "--history", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout.endswith(" old.txt:1: DB_PASSWORD (plain)\n") and out.stdout.startswith(
        "commit "
    )


def test_scan_without_a_key_fails_closed(project, clean_env, home):
    (home / ".config" / "sops" / "age" / "keys.txt").unlink()
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode != 0 and out.stdout == ""
    assert "secrets.env.age" in out.stderr


def test_a_missing_required_mise_key_does_not_stop_the_scan(project, clean_env):
    (project / "mise.toml").write_text('[env]\nTOKEN = { required = "ask the team" }\n')
    (project / "notes.txt").write_text(f"{SECRET}\n")
    assert run_envshim("export", "--format", "json", env=clean_env, cwd=project).returncode != 0
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout == "notes.txt:1: DB_PASSWORD (plain)\n"


def test_user_store_values_are_looked_for_too(project, clean_env):
    assert run_envshim("user", "init", env=clean_env, cwd=project).returncode == 0
    mine = "my-personal-api-key-77"
    assert (
        run_envshim(
            "user", "set", "MY_KEY", env=clean_env, cwd=project, input=mine + "\n"
        ).returncode
        == 0
    )
    (project / "debug.log").write_text(f"calling with key={mine}\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout == "debug.log:1: MY_KEY (plain)\n"
    assert mine not in out.stderr


def test_values_derived_from_secrets_are_looked_for(project, clean_env):
    (project / "mise.toml").write_text(
        '[env]\n_.envshim = {}\nDATABASE_URL = "postgres://app@db/app?password={{env.DB_PASSWORD}}"\n'
    )
    url = f"postgres://app@db/app?password={SECRET}"
    (project / "conn.txt").write_text(f"# conn\n{url}\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [
        "conn.txt:2: DATABASE_URL (plain)",
        "conn.txt:2: DB_PASSWORD (plain)",
    ]
    assert SECRET not in out.stdout + out.stderr


def test_history_scan_reads_notebooks_by_cell(project, clean_env):
    (project / "nb.ipynb").write_text(notebook_with_traceback(SECRET))
    git(project, "add", "nb.ipynb")
    assert git(project, "commit", "-q", "-m", "nb", env=clean_env).returncode == 0
    git(project, "rm", "-q", "nb.ipynb")
    assert git(project, "commit", "-q", "-m", "rm", env=clean_env).returncode == 0
    out = run_envshim("scan", "--history", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout.endswith(
        " nb.ipynb:cell 2 output 1 (traceback) line 3: DB_PASSWORD (plain)\n"
    )
