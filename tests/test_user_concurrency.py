"""Many real `envshim user set` processes at once: every value lands, nothing else changes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_user_support import age_decrypt, envshim, make_key, snapshot, store_dirs, user_env


def _parallel_sets(env: dict[str, str], project: Path, keys: list[str]) -> list[tuple[int, str]]:
    procs = []
    for key in keys:
        p = subprocess.Popen(
            [sys.executable, "-m", "envshim", "user", "set", key],
            env=env,
            cwd=project,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
    # every process blocks reading its value from stdin, then all get theirs at once,
    # so their read-modify-write cycles overlap
    time.sleep(1.0)
    for key, p in zip(keys, procs, strict=True):
        assert p.stdin is not None
        p.stdin.write(f"value of {key}\n")
        p.stdin.close()
    results = []
    for p in procs:
        assert p.stderr is not None
        p.wait(timeout=180)
        results.append((p.returncode, p.stderr.read()))
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()
    return results


@pytest.mark.slow
def test_fifty_concurrent_sets(clean_env: dict[str, str], home: Path, tmp_path: Path) -> None:
    keyfile = make_key(home)
    env = user_env(clean_env, tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    assert envshim("user", "init", env=env, cwd=project).returncode == 0
    assert envshim("user", "set", "EXISTING", env=env, cwd=project, input="kept").returncode == 0
    [store] = store_dirs(home)
    before = snapshot(tmp_path)

    keys = [f"KEY_{i:02d}" for i in range(50)]
    results = _parallel_sets(env, project, keys)
    assert [rc for rc, _ in results] == [0] * 50, [err for rc, err in results if rc]

    expected = {"EXISTING": "kept", **{k: f"value of {k}" for k in keys}}
    assert age_decrypt(store / "values.age", keyfile) == expected  # the real age reads it
    after = snapshot(tmp_path)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed == {str(store / "values.age")}  # no temp file left, meta and project untouched
    assert sorted(os.listdir(store)) == [".store.lock", "meta.json", "values.age"]


@pytest.mark.slow
def test_concurrent_first_sets_create_one_store(
    clean_env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    """No init: the id is committed and ten processes race to create the store."""
    make_key(home)
    env = user_env(clean_env, tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "envshim.toml").write_text('user_store = "5d0c3c52-98f4-4b3e-8a64-0d7f3f0c1e22"\n')
    keys = [f"K{i}" for i in range(10)]
    results = _parallel_sets(env, project, keys)
    assert [rc for rc, _ in results] == [0] * 10, [err for rc, err in results if rc]
    proc = envshim("user", "list", "--json", env=env, cwd=project)
    assert sorted(__import__("json").loads(proc.stdout)) == sorted(keys)
    assert len(store_dirs(home)) == 1
