"""The hook beside direnv, in real interactive bash, zsh and fish with the real direnv.

The hook yields a directory only when direnv's own hook is active in the same
shell and the nearest ``.envrc`` says ``use envshim``; ``status`` says who loads
the directory and why. Without direnv's hook, an ``.envrc`` changes nothing.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need, run_envshim
from envshim.hook.state import State
from test_hook_shells import SHELLS, Shell, allow, cd, counting_hook, make_project, processes
from test_hook_shells import shell_env as _shell_env

shell_env = _shell_env  # the fixture, under the name the tests ask for

STATUS = f"{shlex.quote(sys.executable)} -m envshim status"


def direnv_rc(kind: str) -> str:
    direnv = need("direnv")
    if kind == "fish":
        return f"{direnv} hook fish | source\n"
    return f'eval "$({direnv} hook {kind})"\n'


@pytest.fixture
def direnv_projects(shell_env, tmp_path):
    """``envshim`` loaded by the hook in ``a``; ``b`` has an .envrc of `use envshim`."""
    direnv = need("direnv")
    a = make_project(tmp_path, "a", 'FROM_A = "a"\nSHARED = "from a"\n')
    b = make_project(tmp_path, "b", 'FROM_B = "b"\nSHARED = "from b"\n')
    (b / ".envrc").write_text("use envshim\n")
    run_envshim("direnv", "install", env=shell_env, check=True)
    allow(a, shell_env)
    allow(b, shell_env)
    subprocess.run([direnv, "allow", str(b)], env=shell_env, check=True)
    return a, b


@pytest.mark.parametrize("kind", SHELLS)
def test_direnv_hooked_loads_and_the_hook_stands_aside(
    kind, shell_env, home, tmp_path, direnv_projects
):
    a, b = direnv_projects
    hook_file, counter = counting_hook(kind, tmp_path)
    # direnv's hook installed *after* envshim's: envshim still runs first from the first load
    sh = Shell(kind, home, shell_env, tmp_path, rc_extra="", hook_file=hook_file)
    try:
        sh.run(direnv_rc(kind).strip())
        sh.run(cd(a))
        assert sh.env()["FROM_A"] == "a"
        # from a project of the hook straight into one of direnv's: ours is gone before
        # direnv records what to restore
        sh.run(cd(b))
        env = sh.env()
        assert env["FROM_B"] == "b" and env["SHARED"] == "from b" and "FROM_A" not in env
        assert env.get("DIRENV_FILE") == str(b / ".envrc")
        state = State.decode(env["ENVSHIM_STATE"])
        assert state.aside == str(b) and not state.prev and state.root is None
        status = sh.capture(STATUS)
        assert "direnv's hook is active in this shell" in status
        assert "the envshim hook stands aside" in status
        # moving inside: no envshim process
        before = processes(counter)
        sh.run("cd 'sub dir'")
        sh.run("cd ..")
        assert processes(counter) == before
        # leaving: direnv unloads, nothing of either project is left behind
        sh.run(cd(tmp_path))
        sh.run("true")
        left = sh.env()
        for name in ("FROM_A", "FROM_B", "SHARED", "DIRENV_FILE"):
            assert name not in left, name
        assert State.decode(left["ENVSHIM_STATE"]).empty()
    finally:
        sh.close()


@pytest.mark.parametrize("kind", SHELLS)
def test_removing_the_envrc_hands_the_directory_back(
    kind, shell_env, home, tmp_path, direnv_projects
):
    _a, b = direnv_projects
    sh = Shell(kind, home, shell_env, b, rc_extra=direnv_rc(kind))
    try:
        sh.run("true")
        assert sh.env()["FROM_B"] == "b" and State.decode(sh.env()["ENVSHIM_STATE"]).aside
        (b / ".envrc").unlink()
        sh.run("true")  # direnv unloads; the hook loads once direnv's values are gone
        sh.run("true")
        env = sh.env()
        assert env["FROM_B"] == "b" and "DIRENV_FILE" not in env
        state = State.decode(env["ENVSHIM_STATE"])
        assert state.root == str(b) and "FROM_B" in state.prev
        assert "the envshim hook loaded this project" in sh.capture(STATUS)
        sh.run(cd(Path("/")))
        left = sh.env()
        assert "FROM_B" not in left and "SHARED" not in left
    finally:
        sh.close()


@pytest.mark.parametrize("kind", SHELLS)
def test_an_envrc_without_direnv_hooked_is_loaded_by_the_hook(kind, shell_env, home, tmp_path):
    """direnv installed but not hooked into the shell: the .envrc does not make the hook
    stand aside (it used to, and the project silently loaded nothing)."""
    need("direnv")
    project = make_project(tmp_path, "proj", 'FROM_MISE = "m"\n')
    (project / ".envrc").write_text("use envshim\n")
    allow(project, shell_env)
    sh = Shell(kind, home, shell_env, tmp_path)
    try:
        assert "envshim: +FROM_MISE" in sh.run(cd(project))
        assert sh.env()["FROM_MISE"] == "m"
        status = sh.capture(STATUS)
        assert "the envshim hook loaded this project" in status
        assert "direnv's hook is not active in this shell" in status
    finally:
        sh.close()
