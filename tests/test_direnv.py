"""``use envshim`` with the real direnv: same values as ``envshim export``, reload on edit."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import need, run_envshim


def direnv(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("direnv"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def direnv_project(clean_env: dict[str, str], tmp_path: Path):
    env = dict(clean_env)
    env.pop("XDG_RUNTIME_DIR", None)
    project = tmp_path / "proj with space"
    project.mkdir()
    (project / "mise.toml").write_text('[env]\nA = "1 2"\nQUOTED = "it\'s \\"x\\"\\nline"\n')
    (project / ".envrc").write_text("use envshim\n")
    out = run_envshim("direnv", "install", env=env, check=True)
    lib = Path(env["XDG_CONFIG_HOME"]) / "direnv" / "lib" / "envshim.sh"
    assert str(lib) in out.stdout and "use_envshim()" in lib.read_text()
    run_envshim("user", "init", "--plaintext", cwd=project, env=env, check=True)
    run_envshim("user", "set", "MY_TOKEN", cwd=project, env=env, input="tok-1\n", check=True)
    assert direnv(env, project, "allow", ".").returncode == 0
    return env, project


def apply(env: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    out = dict(env)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def export_json(env: dict[str, str], cwd: Path) -> dict[str, str | None]:
    proc = direnv(env, cwd, "export", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_use_envshim_loads_what_export_prints_and_reloads(direnv_project):
    env, project = direnv_project
    # not allowed by envshim yet: direnv loads nothing of ours, and says why once
    first = direnv(env, project, "export", "json")
    assert "is not allowed; run `envshim allow`" in first.stderr
    assert "MY_TOKEN" not in (json.loads(first.stdout) if first.stdout.strip() else {})

    run_envshim("allow", str(project), env=env, check=True)
    expected = json.loads(run_envshim("export", "json", str(project), env=env, check=True).stdout)
    assert expected["MY_TOKEN"] == "tok-1" and expected["QUOTED"] == 'it\'s "x"\nline'
    loaded = apply(env, export_json(env, project))
    for key, value in expected.items():
        assert loaded[key] == value
    # nothing changed: direnv does not reload
    assert export_json(loaded, project) == {}

    # the user store is watched: a new value reloads at the next prompt
    time.sleep(1.1)  # seen here: direnv missed an edit made in the same second as the load
    run_envshim("user", "set", "MY_TOKEN", cwd=project, env=env, input="tok-2\n", check=True)
    assert export_json(loaded, project)["MY_TOKEN"] == "tok-2"

    # editing mise.toml: direnv reloads; envshim loads nothing until `envshim allow`
    time.sleep(1.1)  # seen here: direnv missed an edit made in the same second as the load
    (project / "mise.toml").write_text('[env]\nA = "changed"\n')
    proc = direnv(loaded, project, "export", "json")
    assert "changed since `envshim allow` (mise.toml was edited)" in proc.stderr
    after_edit = apply(loaded, json.loads(proc.stdout))
    assert "A" not in after_edit and "MY_TOKEN" not in after_edit
    run_envshim("allow", str(project), env=env, check=True)
    assert export_json(after_edit, project)["A"] == "changed"


def test_a_failing_export_applies_nothing(direnv_project):
    env, project = direnv_project
    run_envshim("allow", str(project), env=env, check=True)
    # trusted, but the user store cannot be read now: one line, nothing applied
    store = next((Path(env["XDG_DATA_HOME"]) / "envshim" / "users").iterdir())
    for path in store.iterdir():
        if path.name.startswith("values"):
            path.write_text("{ not json")
    proc = direnv(env, project, "export", "json")
    assert "envshim:" in proc.stderr
    got = json.loads(proc.stdout) if proc.stdout.strip() else {}
    assert "A" not in got and "MY_TOKEN" not in got


def test_hook_direnv_prints_the_library(clean_env):
    out = run_envshim("hook", "direnv", env=clean_env, check=True).stdout
    assert out.startswith("# envshim for direnv") and "use_envshim()" in out
    assert "@ENVSHIM@" not in out and "export bash --direnv" in out
