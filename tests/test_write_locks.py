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


def test_a_set_during_an_edit_waits_and_both_are_kept(project: dict) -> None:
    """`secrets edit` holds the file's lock from its read to its write: a `secrets set`
    meanwhile says it waits, then applies on top of the edit instead of being overwritten."""
    import time

    root, env, tmp = project["root"], project["env"], project["tmp"]
    run_envshim("secrets", "set", "FIRST", "-", env=env, cwd=root, input="one", check=True)
    started, go = tmp / "started", tmp / "go"
    editor = tmp / "editor.sh"
    editor.write_text(
        f"#!/bin/sh\ntouch {started}\n"
        f"i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n"
        'echo "EDITED=yes" >> "$1"\n'
    )
    editor.chmod(0o755)
    edit = subprocess.Popen(
        [sys.executable, "-m", "envshim", "secrets", "edit"],
        env={**env, "EDITOR": str(editor)},
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    setter = subprocess.Popen(
        [sys.executable, "-m", "envshim", "secrets", "set", "SECOND", "-"],
        env=env,
        cwd=root,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    setter.stdin.write("two")  # type: ignore[union-attr]
    setter.stdin.close()  # type: ignore[union-attr]
    time.sleep(1.5)
    assert setter.poll() is None  # waiting for the editor's lock
    go.write_text("")
    assert edit.wait(timeout=60) == 0, edit.stderr.read()  # type: ignore[union-attr]
    assert setter.wait(timeout=60) == 0
    assert "waiting for another envshim writing" in setter.stderr.read()  # type: ignore[union-attr]
    plain = subprocess.run(
        [need("sops"), "decrypt", "secrets.enc.env"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _dotenv(plain) == {"FIRST": "one", "EDITED": "yes", "SECOND": "two"}
