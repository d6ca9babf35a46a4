"""Running one mise corpus case: the real ``mise env --json`` beside the real
``envshim export --format json`` on the same tree, envshim with no mise on its ``PATH``
(so nothing can be handed to mise). The expected side is always what mise printed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import need, run_envshim
from test_mise_layer import _normalize, mise_env, write_tree

# name -> (files, cwd relative to the tree, extra environment; "{tree}" is replaced)
Corpus = dict[str, tuple[dict[str, str], str, dict[str, str]]]


def trusted(clean_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``clean_env`` with the test's directory trusted by mise."""
    return {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp_path)}


def without_mise(env: dict[str, str]) -> dict[str, str]:
    """The same environment with a PATH on which there is no mise."""
    mise_dir = os.path.dirname(need("mise"))
    path = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != mise_dir)
    return {**env, "PATH": path}


def compare_native(cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """``mise env --json`` == ``envshim export --format json`` (PATH compared by what is added)."""
    theirs = mise_env(cwd, env)
    assert theirs.returncode == 0, f"mise failed: {theirs.stderr}"
    ours_env = without_mise(env)
    ours = run_envshim("export", "--format", "json", env=ours_env, cwd=cwd)
    assert ours.returncode == 0, f"envshim failed: {ours.stderr}"
    expected = _normalize(json.loads(theirs.stdout), env["PATH"])
    got = _normalize(json.loads(ours.stdout), ours_env["PATH"])
    assert got == expected
    return expected


def build(corpus: Corpus, name: str, tmp_path: Path, home: Path, env: dict[str, str]):
    """Write the case's tree; return (the directory to run in, the environment)."""
    files, cwd, extra = corpus[name]
    tree = tmp_path / "tree"
    tree.mkdir()
    write_tree(tree, home, {k: v.replace("{tree}", str(tree)) for k, v in files.items()})
    env = {**env, **{k: v.replace("{tree}", str(tree)) for k, v in extra.items()}}
    where = home / cwd[2:] if cwd.startswith("~/") else tree / cwd
    where.mkdir(parents=True, exist_ok=True)
    return where, env


def run_case(corpus: Corpus, name: str, tmp_path: Path, home: Path, env: dict[str, str]):
    where, env = build(corpus, name, tmp_path, home, env)
    return compare_native(where, env)
