"""Fail safe, in real interactive bash, zsh and fish: when the next directory cannot be
loaded the previous project is unloaded all the same and one line says why; a forged
``ENVSHIM_STATE`` renders nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim
from envshim.hook.state import State
from test_hook_shells import SHELLS, Shell, allow, cd, make_project
from test_hook_shells import shell_env as _shell_env

shell_env = _shell_env  # the fixture, under the name the tests ask for


def forge(marker: Path) -> str:
    """A state in this version's layout whose names would run a command if rendered."""
    entries = [f"+X;touch {marker}", f"~PATH=/tmp;touch {marker}", f"!Y$(touch {marker})=1"]
    text = "\0".join(["", "", "", "0", *entries]).encode()
    raw = bytes((2, 2)) + b"\0\0" + bytes(8) + (2).to_bytes(4, "big") + bytes(4) + text
    return "E2." + base64.b64encode(zlib.compress(raw)).decode()


@pytest.mark.parametrize("kind", SHELLS)
def test_a_forged_state_renders_nothing(kind, shell_env, home, tmp_path):
    marker = tmp_path / "marker"
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    allow(project, shell_env)
    env = dict(shell_env, ENVSHIM_STATE=forge(marker))
    sh = Shell(kind, home, env, tmp_path)
    try:
        assert sh.startup.count("ENVSHIM_STATE is damaged") == 1  # at the first prompt
        out = sh.run(cd(project))
        assert "damaged" not in out
        got = sh.env()
        assert got["ONE"] == "1" and State.decode(got["ENVSHIM_STATE"]).root == str(project)
        assert "envshim:" not in sh.run("true")  # said once: the state written now is sound
        sh.run(cd(tmp_path))
        assert "ONE" not in sh.env()
        assert not marker.exists()
    finally:
        sh.close()


@pytest.fixture
def two_projects(shell_env, tmp_path):
    """``a`` with a mise variable; ``b`` with an age secret file, both allowed."""
    keys = Path(shell_env["XDG_CONFIG_HOME"]) / "sops" / "age" / "keys.txt"
    keys.parent.mkdir(parents=True)
    recipient = age_keygen(keys)
    a = make_project(tmp_path, "a", 'FROM_A = "secret of a"\n')
    b = make_project(tmp_path, "b", 'FROM_B = "b"\n')
    subprocess.run(
        [need("age"), "-r", recipient, "-o", str(b / "secrets.env.age")],
        input=b"TEAM_B=team secret\n",
        check=True,
    )
    allow(a, shell_env)
    allow(b, shell_env)
    return a, b


@pytest.mark.parametrize("kind", SHELLS)
def test_a_damaged_secret_file_next_door_unloads_the_previous_project(
    kind, shell_env, home, tmp_path, two_projects
):
    a, b = two_projects
    data = (b / "secrets.env.age").read_bytes()
    (b / "secrets.env.age").write_bytes(data[:-20] + bytes(20))  # the payload is damaged
    sh = Shell(kind, home, shell_env, tmp_path)
    try:
        sh.run(cd(a))
        assert sh.env()["FROM_A"] == "secret of a"
        out = sh.run(cd(b))
        reasons = [line for line in out.splitlines() if "nothing loaded here" in line]
        assert len(reasons) == 1 and "secrets.env.age" in reasons[0], out
        assert "envshim: -FROM_A" in out
        env = sh.env()
        for name in ("FROM_A", "FROM_B", "TEAM_B"):
            assert name not in env, name
        assert "secret of a" not in out and "team secret" not in out
        assert sh.capture("echo alive") == "alive\n"
        assert "envshim:" not in sh.run("true")  # not repeated at every prompt
    finally:
        sh.close()


def test_use_envshim_with_a_damaged_secret_file_loads_nothing(shell_env, tmp_path, two_projects):
    """Through direnv: one line, nothing of the project, and what the same .envrc loaded
    before is gone."""
    direnv = need("direnv")
    _a, b = two_projects
    env = dict(shell_env)
    env.pop("XDG_RUNTIME_DIR", None)
    (b / ".envrc").write_text("use envshim\n")
    run_envshim("direnv", "install", env=env, check=True)
    subprocess.run([direnv, "allow", str(b)], env=env, check=True)
    first = subprocess.run(
        [direnv, "export", "json"], cwd=b, env=env, capture_output=True, text=True, check=True
    )
    loaded = dict(env, **json.loads(first.stdout))
    assert loaded["TEAM_B"] == "team secret"
    time.sleep(1.1)  # direnv compares mtimes in seconds: an edit in the same second is missed
    data = (b / "secrets.env.age").read_bytes()
    (b / "secrets.env.age").write_bytes(data[:-20] + bytes(20))
    again = subprocess.run(
        [direnv, "export", "json"], cwd=b, env=loaded, capture_output=True, text=True
    )
    lines = [line for line in again.stderr.splitlines() if "nothing loaded here" in line]
    assert len(lines) == 1 and "secrets.env.age" in lines[0], again.stderr
    after = dict(loaded, **json.loads(again.stdout or "{}"))
    after = {k: v for k, v in after.items() if v is not None}
    assert "TEAM_B" not in after and "FROM_B" not in after
    assert "team secret" not in again.stderr


@pytest.mark.parametrize("kind", SHELLS)
def test_a_value_over_the_kernel_limit_is_refused_and_commands_still_run(
    kind, shell_env, home, tmp_path
):
    """One value (with its name) over 128 KiB would make every later command fail with
    "Argument list too long": nothing of the project is applied, one line says why, and
    the previous project is unloaded."""
    a = make_project(tmp_path, "a", 'FROM_A = "a"\n')
    huge = make_project(tmp_path, "huge", f'SMALL = "s"\nHUGE = "{"x" * (128 * 1024)}"\n')
    allow(a, shell_env)
    allow(huge, shell_env)
    sh = Shell(kind, home, shell_env, tmp_path)
    try:
        sh.run(cd(a))
        out = sh.run(cd(huge))
        reasons = [line for line in out.splitlines() if "nothing loaded here" in line]
        assert len(reasons) == 1 and "HUGE" in reasons[0] and "128 KiB" in reasons[0], out
        assert "xxxxxxxx" not in out
        assert sh.capture("/bin/true && echo ran") == "ran\n"
        env = sh.env()
        assert "HUGE" not in env and "SMALL" not in env and "FROM_A" not in env
    finally:
        sh.close()
