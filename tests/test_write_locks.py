"""Concurrent writers of one secret file lose nothing: each takes the file's lock before it reads.

50 real ``envshim secrets set`` processes, each with its own key, wait at a gate
(an flock the test holds) with envshim already imported, and are released
together. Afterwards the real ``sops decrypt`` (or ``age -d``) reads all 50.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need, run_envshim

N = 50

# Each writer: import envshim, wait at the gate, then run the real CLI in-process.
WRITER = """
import fcntl, os, sys
import envshim.cli, envshim.commands.secrets, envshim.formats.sops, envshim.formats.age_write
gate = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(gate, fcntl.LOCK_SH)  # blocks until the test lets go of its exclusive lock
os.close(gate)
sys.exit(envshim.cli.main(sys.argv[2:]))
"""


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> dict:
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    public = run_envshim("key", "new", env=clean_env, cwd=root, check=True).stdout.strip()
    run_envshim("recipients", "add", public, env=clean_env, cwd=root, check=True)
    return {"root": root, "env": clean_env, "tmp": tmp_path}


def _race(project: dict, *file_args: str) -> list[subprocess.CompletedProcess[str]]:
    """Start N writers of KEY_i=value-i behind the gate, release them, wait for all."""
    gate = project["tmp"] / "gate"
    gate.write_text("")
    writer = project["tmp"] / "writer.py"
    writer.write_text(WRITER)
    held = os.open(gate, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    procs = []
    try:
        for i in range(N):
            argv = [sys.executable, str(writer), str(gate), "secrets", *file_args]
            argv += ["set", f"KEY_{i}", "-"]
            value = project["tmp"] / f"value-{i}"
            value.write_text(f"value-{i}")
            with value.open() as stdin:
                proc = subprocess.Popen(
                    argv,
                    env=project["env"],
                    cwd=project["root"],
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            procs.append(proc)
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)  # all of them go at once
        os.close(held)
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def _expected() -> dict[str, str]:
    return {f"KEY_{i}": f"value-{i}" for i in range(N)}


def _dotenv(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and "=" in line)


def test_fifty_concurrent_sets_on_one_sops_file_keep_all(project: dict) -> None:
    root, env = project["root"], project["env"]
    run_envshim("secrets", "set", "FIRST", "-", env=env, cwd=root, input="one", check=True)
    results = _race(project)
    assert [r.returncode for r in results] == [0] * N, [r.stderr for r in results if r.returncode]
    plain = subprocess.run(
        [need("sops"), "decrypt", "secrets.enc.env"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _dotenv(plain) == {"FIRST": "one", **_expected()}
    assert not list(root.glob(".*.lock"))  # no lock file in the repository


def test_fifty_concurrent_sets_create_and_fill_one_age_file(project: dict) -> None:
    """The file does not exist yet: the first writer creates it, the others add to it."""
    root, env = project["root"], project["env"]
    results = _race(project, "--file", "secrets.env.age")
    assert [r.returncode for r in results] == [0] * N, [r.stderr for r in results if r.returncode]
    from envshim.keys import default_key_file

    plain = subprocess.run(
        [need("age"), "-d", "-i", str(default_key_file(env)), "secrets.env.age"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _dotenv(plain) == _expected()
