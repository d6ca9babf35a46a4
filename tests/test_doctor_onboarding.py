"""Issue 6's onboarding check: a project made by `init` on another key, a fresh home, doctor.

Two isolated homes (maintainer and newcomer), real git, the real sops to confirm
who can open the file at each step.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import git, need, run_envshim

VALUE = "staging-db-pa55word"


def home_env(base: dict[str, str], home: Path) -> dict[str, str]:
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        **base,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local/state"),
    }


def sops_can_decrypt(path: Path, env: dict[str, str]) -> bool:
    proc = subprocess.run(
        [need("sops"), "decrypt", str(path)], env=env, capture_output=True, text=True
    )
    return proc.returncode == 0 and proc.stdout == f"DB_PASSWORD={VALUE}\n"


def test_newcomer_doctor_names_the_missing_recipient_then_passes(tmp_path, clean_env):
    need("direnv")
    maintainer = home_env(clean_env, tmp_path / "alice")
    newcomer = home_env(clean_env, tmp_path / "bob")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "local.env").write_text(f"DB_PASSWORD={VALUE}\n")
    made = run_envshim("init", "--direnv", "--from-dotenv", "local.env", env=maintainer, cwd=repo)
    assert made.returncode == 0, made.stderr
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "envshim")

    # the newcomer has no key yet: doctor says to create one (join)
    first = run_envshim("doctor", "--shell", "bash", env=newcomer, cwd=repo)
    assert first.returncode == 1
    assert "✗ identity: no age identity found → `envshim join`" in first.stdout

    joined = run_envshim("join", "--quiet", env=newcomer, cwd=repo)
    assert joined.returncode == 0, joined.stderr
    command = joined.stdout.strip()
    bob = command.split()[-1]
    assert command == f"envshim recipients add {bob}" and bob.startswith("age1")

    out = run_envshim("doctor", "--json", "--shell", "bash", env=newcomer, cwd=repo)
    assert out.returncode == 1
    failed = [c for c in json.loads(out.stdout)["checks"] if c["status"] == "fail"]
    recipients = [c for c in failed if c["check"] == "recipients"]
    assert recipients == [
        {
            "check": "recipients",
            "status": "fail",
            "message": f"secrets.enc.env is not encrypted to your key {bob}",
            "next": f"send this line to a maintainer: `{command}`",
            "fixed": "",
        }
    ]
    # init wrote `.envrc` (--direnv): the newcomer also lacks use_envshim, a --fix
    assert {c["check"] for c in failed} == {"recipients", "decrypt", "direnv"}
    assert VALUE not in out.stdout + out.stderr
    assert not sops_can_decrypt(repo / "secrets.enc.env", newcomer)

    # the maintainer runs the line; the newcomer pulls (same tree here) and runs doctor --fix
    added = run_envshim(*command.split()[1:], env=maintainer, cwd=repo)
    assert added.returncode == 0, added.stderr
    fixed = run_envshim("doctor", "--fix", "--shell", "bash", env=newcomer, cwd=repo)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "(fixed: wrote ~/.config/direnv/lib/envshim.sh)" in fixed.stdout
    assert "✓ recipients: secrets.enc.env is encrypted to your key" in fixed.stdout
    assert "✓ decrypt: secrets.enc.env: 1 value, MAC verified" in fixed.stdout
    assert fixed.stdout.rstrip().endswith("all needed checks pass")
    assert sops_can_decrypt(repo / "secrets.enc.env", newcomer)
    assert sops_can_decrypt(repo / "secrets.enc.env", maintainer)
