"""``envshim join``: prints the public key and the maintainer's command; creates the key if needed."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from conftest import need, run_envshim


def key_file(home: Path) -> Path:
    return home / ".config" / "sops" / "age" / "keys.txt"


def test_join_creates_a_private_key_that_age_accepts(clean_env, home, tmp_path):
    out = run_envshim("join", env=clean_env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    path = key_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "created your age identity" in out.stdout
    # the printed key is the real public key of the file: age-keygen -y derives it
    public = subprocess.run(
        [need("age-keygen"), "-y", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"envshim recipients add {public}\n" in out.stdout
    assert "AGE-SECRET-KEY" not in out.stdout + out.stderr
    # second run: the same key, nothing created
    again = run_envshim("join", "--quiet", env=clean_env, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == f"envshim recipients add {public}\n"


def test_join_uses_an_existing_key_from_sops_age_key_file(clean_env, tmp_path):
    keyfile = tmp_path / "mine.txt"
    subprocess.run([need("age-keygen"), "-o", str(keyfile)], capture_output=True, check=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(keyfile)], capture_output=True, text=True, check=True
    ).stdout.strip()
    out = run_envshim("join", env={**clean_env, "SOPS_AGE_KEY_FILE": str(keyfile)}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"  {public}\n" in out.stdout and "created" not in out.stdout
    assert not key_file(Path(clean_env["HOME"])).exists()


def test_join_refuses_a_key_readable_by_others_with_the_chmod(clean_env, home, tmp_path):
    path = key_file(home)
    path.parent.mkdir(parents=True)
    subprocess.run([need("age-keygen"), "-o", str(path)], capture_output=True, check=True)
    path.chmod(0o644)
    out = run_envshim("join", env=clean_env, cwd=tmp_path)
    assert out.returncode != 0 and out.stdout == ""
    assert f"chmod 600 {path}" in out.stderr


def test_join_inside_a_project_says_which_files_are_not_yet_yours(clean_env, home, tmp_path):
    need("git")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    maintainer = {**clean_env, "XDG_CONFIG_HOME": str(tmp_path / "alice")}
    assert run_envshim("init", env=maintainer, cwd=repo).returncode == 0
    out = run_envshim("join", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "not encrypted to you yet: secrets.enc.env" in out.stdout
    me = out.stdout.split("envshim recipients add ")[1].split()[0]
    assert run_envshim("recipients", "add", me, env=maintainer, cwd=repo).returncode == 0
    again = run_envshim("join", env=clean_env, cwd=repo)
    assert (
        "you are already a recipient of this project's secret files (secrets.enc.env)"
        in again.stdout
    )
