"""The everyday loop in real interactive bash, zsh and fish (a pseudo-terminal): every
process the hook starts is counted by a wrapper around envshim.

On a project set up by ``envshim init`` on a machine where direnv is installed but
not hooked: entering loads (one process), moving inside and leaving start none,
a config file created in a sub-directory is picked up on entering it, leaving
restores every variable exactly (set, unset, changed by hand), a child shell
started inside the project can still leave it, and 20,000 variables load and
unload with commands still running.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from conftest import git, need, run_envshim
from envshim.hook.state import State
from test_hook_shells import SHELLS, Shell, cd, counting_hook, processes, set_var
from test_hook_shells import shell_env as _shell_env

shell_env = _shell_env  # the fixture, under the name the tests ask for

SECRET = "s3cr3t 'q' $HOME `x` \\ ✓"
MISE = (
    '[env]\nORIGINAL = "during"\nTOUCHED_BY_HAND = "project"\nUNSET_ME = false\nNEW_VAR = "new"\n'
)
# what a shell sets or changes by itself, whatever the hook does
VOLATILE = {"PWD", "OLDPWD", "_", "SHLVL", "ENVSHIM_STATE"}


@pytest.fixture
def init_project(shell_env, tmp_path):
    """A repository set up by `envshim init` with direnv installed but not hooked."""
    need("direnv")
    repo = tmp_path / "proj"
    (repo / "sub dir" / "deeper").mkdir(parents=True)
    git(repo, "init", "-q")
    made = run_envshim("init", cwd=repo, env=shell_env)
    assert made.returncode == 0, made.stderr
    assert not (repo / ".envrc").exists()  # nobody would run it: the hook loads the project
    assert "created .envrc" not in made.stdout
    (repo / "mise.toml").write_text(MISE)
    run_envshim("secrets", "set", "API_KEY", "-", cwd=repo, env=shell_env, input=SECRET, check=True)
    run_envshim("allow", cwd=repo, env=shell_env, check=True)
    return repo


def comparable(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in VOLATILE}


def unset_var(shell: Shell, name: str) -> str:
    return f"set -e {name}" if shell.kind == "fish" else f"unset {name}"


@pytest.mark.parametrize("kind", SHELLS)
def test_the_everyday_loop_starts_a_process_only_to_enter(
    kind, shell_env, home, tmp_path, init_project
):
    repo = init_project
    env = dict(shell_env, UNSET_ME="was set")
    hook_file, counter = counting_hook(kind, tmp_path)
    sh = Shell(kind, home, env, tmp_path, hook_file=hook_file)
    try:
        start = sh.env()
        assert processes(counter) == 1  # the shell's first prompt
        out = sh.run(cd(repo))
        assert "envshim: +API_KEY +NEW_VAR ~ORIGINAL ~TOUCHED_BY_HAND -UNSET_ME" in out
        assert processes(counter) == 2
        loaded = sh.env()
        assert loaded["API_KEY"] == SECRET and loaded["ORIGINAL"] == "during"
        assert "UNSET_ME" not in loaded

        # moving inside: values kept, no process
        for step in ("cd 'sub dir'", "cd deeper", "cd ../..", "cd 'sub dir'", cd(repo)):
            assert "envshim:" not in sh.run(step)
        assert processes(counter) == 2
        assert comparable(sh.env()) == comparable(loaded)

        # a config file created in a sub-directory is picked up when the user enters it
        (repo / "sub2").mkdir()
        (repo / "sub2" / "mise.toml").write_text('[env]\nSUB = "1"\n')
        out = sh.run("cd sub2")
        assert processes(counter) == 3
        assert "sub2/mise.toml is new" in out and "envshim allow" in out
        assert "SUB" not in sh.env()
        run_envshim("allow", cwd=repo / "sub2", env=env, check=True)
        assert "+SUB" in sh.run("true")  # with the rest, unloaded until this allow
        assert sh.env()["SUB"] == "1" and sh.env()["API_KEY"] == SECRET
        assert processes(counter) == 4

        # changed by hand: one changed, one unset, one envshim had unset set again
        sh.run(set_var(sh, "TOUCHED_BY_HAND", "mine"))
        sh.run(unset_var(sh, "NEW_VAR"))
        sh.run(set_var(sh, "UNSET_ME", "mine too"))
        before = processes(counter)
        out = sh.run(cd(tmp_path))
        assert processes(counter) == before  # leaving: no process
        assert "-API_KEY" in out and "~ORIGINAL" in out and "-SUB" in out
        assert "TOUCHED_BY_HAND" not in out and "UNSET_ME" not in out
        left = sh.env()
        expected = dict(comparable(start), TOUCHED_BY_HAND="mine", UNSET_ME="mine too")
        assert comparable(left) == expected
        assert State.decode(left["ENVSHIM_STATE"]).empty()
        # and back in: one process
        sh.run(cd(repo / "sub dir"))
        assert processes(counter) == before + 1 and sh.env()["API_KEY"] == SECRET
    finally:
        sh.close()


@pytest.mark.parametrize("kind", SHELLS)
def test_a_child_shell_started_inside_can_leave(kind, shell_env, home, tmp_path, init_project):
    repo = init_project
    hook_file, counter = counting_hook(kind, tmp_path)
    sh = Shell(kind, home, shell_env, tmp_path, hook_file=hook_file)
    try:
        start = comparable(sh.env())
        sh.run(cd(repo))
        assert sh.env()["API_KEY"] == SECRET
        before = processes(counter)
        sh.start_child()  # inherits ENVSHIM_STATE, not the revert script
        assert processes(counter) == before + 1  # its first prompt: one process
        assert sh.env()["API_KEY"] == SECRET
        out = sh.run(cd(tmp_path))
        assert "-API_KEY" in out and processes(counter) == before + 1
        assert comparable(sh.env()) == start
        sh.exit_child()
        assert sh.env()["API_KEY"] == SECRET  # the parent still has it
        sh.run(cd(tmp_path))
        assert comparable(sh.env()) == start and processes(counter) == before + 1
    finally:
        sh.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHELLS)
def test_twenty_thousand_variables_load_run_and_unload(kind, shell_env, home, tmp_path):
    project = tmp_path / "big"
    project.mkdir()
    lines = "".join(f'VAR_{i:05d} = "value {i} of the big project"\n' for i in range(20_000))
    (project / "mise.toml").write_text("[env]\nORIGINAL = 'changed'\n" + lines)
    run_envshim("allow", str(project), env=shell_env, check=True)
    sh = Shell(kind, home, shell_env, tmp_path)
    try:
        start = comparable(sh.env())
        out = sh.run(cd(project), timeout=300)
        assert "envshim: +20000 ~1 variables" in out
        state = sh.env()["ENVSHIM_STATE"]
        assert len(state) < 128 * 1024 and len(State.decode(state).prev) == 20_001
        assert sh.capture("/bin/true && echo ran") == "ran\n"
        assert sh.capture("env | grep -c '^VAR_'") == "20000\n"
        assert sh.capture(f"{shlex.quote(sys.executable)} -c 'print(1)'") == "1\n"
        out = sh.run(cd(tmp_path), timeout=300)
        assert "envshim: ~1 -20000 variables" in out
        assert comparable(sh.env()) == start
    finally:
        sh.close()


def test_init_writes_an_envrc_when_asked(shell_env, tmp_path):
    need("direnv")
    repo = tmp_path / "asked"
    repo.mkdir()
    git(repo, "init", "-q")
    made = run_envshim("init", "--direnv", cwd=repo, env=shell_env)
    assert made.returncode == 0, made.stderr
    assert (repo / ".envrc").read_text() == "use envshim\n"
    assert "created .envrc with `use envshim` (--direnv)" in made.stdout
    assert ".gitignore and .envrc;" in made.stdout  # among the files to commit
    # direnv hooked in the calling shell (it has loaded something there): no flag needed
    other = tmp_path / "hooked"
    other.mkdir()
    git(other, "init", "-q")
    env = dict(shell_env, DIRENV_DIR=f"-{Path('/')}")
    made = run_envshim("init", cwd=other, env=env)
    assert "created .envrc with `use envshim` (direnv's hook is active in your shell)" in (
        made.stdout
    )
