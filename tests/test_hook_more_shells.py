"""The hook in real interactive elvish, nushell and tcsh, driven through a pseudo-terminal
(the harness is hook_more_shells.py), with the protocol of bash, zsh and fish: entering
loads (one process), moving inside and leaving start none, leaving restores every
variable exactly (set, unset, changed by hand), an untrusted or broken project loads
nothing and unloads the previous one, and a prompt with nothing changed starts no
process. Every process the hook starts is counted by a wrapper around envshim.
"""

from __future__ import annotations

import time

import pytest

from conftest import run_envshim
from envshim.hook.state import State
from hook_more_shells import (
    MORE_SHELLS,
    MoreShell,
    counting_hook,
    hook_command,
    set_var,
    settle,
    unset_var,
)
from test_hook_everyday import SECRET
from test_hook_everyday import comparable as _comparable
from test_hook_everyday import init_project as _init_project
from test_hook_failsafe import forge
from test_hook_shells import allow, cd, make_project, processes
from test_hook_shells import shell_env as _shell_env

shell_env = _shell_env  # the fixtures, under the names the tests ask for
init_project = _init_project


def comparable(env: dict[str, str]) -> dict[str, str]:
    """What a child gets, less what the shell changes by itself (nushell: the last
    command's duration and status)."""
    return {
        k: v for k, v in _comparable(env).items() if k not in ("CMD_DURATION_MS", "LAST_EXIT_CODE")
    }


HOSTILE = (
    "s3cr3t 'q' \"dq\" `x` \\ %s ! ✓ {} (a) &|"  # tcsh cannot hold a line break; mise expands a $
)
HOSTILE_TOML = 'API_KEY = """s3cr3t \'q\' "dq" `x` \\\\ %s ! ✓ {} (a) &|"""\n'


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_enter_sub_directory_and_leave(kind, shell_env, home, tmp_path):
    project = make_project(
        tmp_path,
        "my project",
        HOSTILE_TOML + 'ORIGINAL = "during"\nTOUCHED_BY_HAND = "project"\nUNSET_ME = false\n',
    )
    allow(project, shell_env)
    env = dict(shell_env, UNSET_ME="was set")
    settle(kind)
    sh = MoreShell(kind, home, env, tmp_path)
    try:
        out = sh.run(cd(project))
        assert "envshim: +API_KEY ~ORIGINAL ~TOUCHED_BY_HAND -UNSET_ME" in out
        raw = sh.env_raw()
        # a child holds the secret exactly once: no copy in ENVSHIM_STATE or in the hook's
        # own state (nushell keeps it in a record, which no child gets)
        assert raw.count(HOSTILE.encode()) == 1
        loaded = sh.env()
        assert loaded["API_KEY"] == HOSTILE
        assert loaded["ORIGINAL"] == "during" and "UNSET_ME" not in loaded
        assert "ENVSHIM_STATE" in loaded

        out = sh.run("cd 'sub dir'")
        assert "envshim:" not in out
        assert sh.env()["API_KEY"] == HOSTILE

        sh.run(set_var(kind, "TOUCHED_BY_HAND", "mine"))
        out = sh.run(cd(tmp_path))
        assert "-API_KEY" in out and "~ORIGINAL" in out and "+UNSET_ME" in out
        assert "TOUCHED_BY_HAND" not in out  # changed by hand: not in the summary
        left = sh.env()
        assert "API_KEY" not in left
        assert State.decode(left["ENVSHIM_STATE"]).empty()  # the hook is active, nothing loaded
        assert left["ORIGINAL"] == "before" and left["UNSET_ME"] == "was set"
        assert left["TOUCHED_BY_HAND"] == "mine"  # changed by hand: left alone
    finally:
        sh.close()


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_the_everyday_loop_starts_a_process_only_to_enter(
    kind, shell_env, home, tmp_path, init_project
):
    repo = init_project
    env = dict(shell_env, UNSET_ME="was set")
    hook, counter = counting_hook(kind, tmp_path)
    settle(kind)
    sh = MoreShell(kind, home, env, tmp_path, hook=hook)
    try:
        start = sh.env()
        assert processes(counter) == 1  # the shell's first prompt
        for _ in range(3):
            sh.run("true")  # nothing changed: no process
        assert processes(counter) == 1
        out = sh.run(cd(repo))
        assert "envshim: +API_KEY +NEW_VAR ~ORIGINAL ~TOUCHED_BY_HAND -UNSET_ME" in out
        assert processes(counter) == 2
        loaded = sh.env()
        assert loaded["API_KEY"] == SECRET and loaded["ORIGINAL"] == "during"
        assert "UNSET_ME" not in loaded

        # moving inside: values kept, no process
        for step in ("cd 'sub dir'", "cd deeper", "cd ../..", "cd 'sub dir'", cd(repo), "true"):
            assert "envshim:" not in sh.run(step)
        assert processes(counter) == 2
        assert comparable(sh.env()) == comparable(loaded)

        # a config file created in a sub-directory is picked up when the user enters it
        (repo / "sub2").mkdir()
        (repo / "sub2" / "mise.toml").write_text('[env]\nSUB = "1"\n')
        settle(kind)
        out = sh.run("cd sub2")
        assert processes(counter) == 3
        assert "sub2/mise.toml is new" in out and "envshim allow" in out
        assert "SUB" not in sh.env()
        run_envshim("allow", cwd=repo / "sub2", env=env, check=True)
        settle(kind)
        assert "+SUB" in sh.run("true")  # with the rest, unloaded until this allow
        assert sh.env()["SUB"] == "1" and sh.env()["API_KEY"] == SECRET
        assert processes(counter) == 4

        # changed by hand: one changed, one unset, one envshim had unset set again
        sh.run(set_var(kind, "TOUCHED_BY_HAND", "mine"))
        sh.run(unset_var(kind, "NEW_VAR"))
        sh.run(set_var(kind, "UNSET_ME", "mine too"))
        before = processes(counter)
        assert before == 4
        out = sh.run(cd(tmp_path))
        assert processes(counter) == before  # leaving: no process
        assert "-API_KEY" in out and "~ORIGINAL" in out and "-SUB" in out
        assert "TOUCHED_BY_HAND" not in out and "UNSET_ME" not in out
        left = sh.env()
        expected = dict(comparable(start), TOUCHED_BY_HAND="mine", UNSET_ME="mine too")
        assert comparable(left) == expected
        assert State.decode(left["ENVSHIM_STATE"]).empty()
        sh.run("true")
        assert processes(counter) == before
        # and back in: one process
        sh.run(cd(repo / "sub dir"))
        assert processes(counter) == before + 1 and sh.env()["API_KEY"] == SECRET
    finally:
        sh.close()


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_edit_unloads_until_allow_and_untrusted_unloads_previous(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    other = make_project(tmp_path, "other", 'FROM_OTHER = "x"\n')
    allow(project, shell_env)
    settle(kind)
    sh = MoreShell(kind, home, shell_env, project)
    try:
        assert sh.env()["ONE"] == "1"
        time.sleep(0.05)
        (project / "mise.toml").write_text('[env]\nONE = "2"\n')
        out = sh.run("true")
        assert "changed since `envshim allow` (mise.toml was edited)" in out
        assert "ONE" not in sh.env()
        out = sh.run("true")
        assert "envshim:" not in out  # one notice per directory
        run_envshim("allow", str(project), env=shell_env, check=True)
        assert "envshim: +ONE" in sh.run("true")
        assert sh.env()["ONE"] == "2"
        # a revoked trust unloads at the next prompt
        run_envshim("deny", str(project), env=shell_env, check=True)
        out = sh.run("true")
        assert "envshim: -ONE" in out and "is not allowed" in out
        run_envshim("allow", str(project), env=shell_env, check=True)
        assert "envshim: +ONE" in sh.run("true")

        out = sh.run(cd(other))
        assert f"envshim: {other} is not allowed; run `envshim allow` to trust mise.toml" in out
        env = sh.env()
        assert "ONE" not in env and "FROM_OTHER" not in env
        assert sh.run(cd(other / "sub dir")).count("not allowed") == 0
    finally:
        sh.close()


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_a_broken_project_next_door_unloads_the_previous_one(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    broken = make_project(tmp_path, "broken", 'TWO = "{{ env.NOT_SET_ANYWHERE }}"\n')
    allow(project, shell_env)
    allow(broken, dict(shell_env, NOT_SET_ANYWHERE="at allow time"))  # trusted, fails here
    settle(kind)
    sh = MoreShell(kind, home, shell_env, project)
    try:
        assert sh.env()["ONE"] == "1"
        out = sh.run(cd(broken))
        errors = [line for line in out.splitlines() if "nothing loaded here" in line]
        assert len(errors) == 1 and "mise.toml" in errors[0]  # one line, naming the file
        assert "envshim: -ONE" in out  # the previous project is unloaded all the same
        assert sh.capture("/bin/echo alive") == "alive\n"
        env = sh.env()
        assert "ONE" not in env and "TWO" not in env  # nothing of either project
        assert "envshim:" not in sh.run("true")  # not repeated on every prompt
        assert "envshim:" not in sh.run(cd(tmp_path))  # nothing left to unload
    finally:
        sh.close()


def test_tcsh_refuses_a_line_break_in_one_line_and_unloads_the_previous(shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    multi = make_project(tmp_path, "multi", 'SAFE = "s"\nMULTI = """first\nsecond"""\n')
    allow(project, shell_env)
    allow(multi, shell_env)
    settle("tcsh")
    sh = MoreShell("tcsh", home, shell_env, project)
    try:
        assert sh.env()["ONE"] == "1"
        out = sh.run(cd(multi))
        errors = [line for line in out.splitlines() if "nothing loaded here" in line]
        assert len(errors) == 1, out
        assert "MULTI has a line break, which tcsh cannot hold" in errors[0]
        assert "mise.toml" in errors[0] and "second" not in out  # the file named, no value
        assert "envshim: -ONE" in out
        env = sh.env()
        assert "ONE" not in env and "SAFE" not in env and "MULTI" not in env
        # a previous value with a line break (inherited) cannot be restored by tcsh either
    finally:
        sh.close()


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_a_child_shell_started_inside_can_leave(kind, shell_env, home, tmp_path, init_project):
    repo = init_project
    hook, counter = counting_hook(kind, tmp_path)
    settle(kind)
    sh = MoreShell(kind, home, shell_env, tmp_path, hook=hook)
    try:
        start = comparable(sh.env())
        sh.run(cd(repo))
        assert sh.env()["API_KEY"] == SECRET
        settle(kind)
        before = processes(counter)
        sh.start_child()  # inherits ENVSHIM_STATE, not the revert data
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


RC_EXTRA = {
    "elvish": "set-env __envshim_out mine\nset edit:before-readline = [{|| set-env USER_HOOK_RAN x }]\n",
    "nu": (
        "$env.__envshim_out = 'mine'\n"
        "$env.config.hooks.pre_prompt = [{|| $env.USER_HOOK_RAN = 'x' }]\n"
    ),
    "tcsh": "setenv __envshim_out mine\nalias precmd 'setenv USER_HOOK_RAN x'\n",
}


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_shell_state_is_respected(kind, shell_env, home, tmp_path):
    """The user's own prompt hook still runs, installing twice adds nothing twice, a
    same-named variable is untouched (tcsh: $status survives the hook)."""
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    allow(project, shell_env)
    hook, counter = counting_hook(kind, tmp_path)
    saved = tmp_path / f"again.{kind}"
    saved.write_text(hook)
    again = {
        "elvish": f"eval (slurp < '{saved}')",
        "nu": f"source '{saved}'",
        "tcsh": f'eval "`cat {saved}`"',
    }[kind]
    settle(kind)
    sh = MoreShell(kind, home, shell_env, tmp_path, rc_extra=RC_EXTRA[kind] + again, hook=hook)
    try:
        assert processes(counter) == 1  # installed twice, run once
        out = sh.run(cd(project))
        assert "envshim: +ONE" in out and processes(counter) == 2
        env = sh.env()
        assert env["ONE"] == "1" and env["__envshim_out"] == "mine"
        assert env["USER_HOOK_RAN"] == "x"
        if kind == "tcsh":
            assert sh.capture("false; echo rc=$status") == "rc=1\n"
            sh.run("false")
            assert sh.capture("echo rc=$status") == "rc=1\n"  # the hook ran in between
        assert "-ONE" in sh.run(cd(tmp_path))
        assert "ONE" not in sh.env()
        sh.run(set_var(kind, "ENVSHIM_QUIET", "1"))
        assert "envshim:" not in sh.run(cd(project))  # the summary is silenced
        assert sh.env()["ONE"] == "1"
    finally:
        sh.close()


def test_hook_lines_are_what_the_readme_says(shell_env):
    assert hook_command("elvish").endswith("hook elvish | slurp)")
    assert "hook tcsh`" in hook_command("tcsh")
    assert run_envshim("hook", "xonsh", env=shell_env, check=True).stdout == (
        "xontrib load envshim\n"
    )


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_a_forged_state_renders_nothing(kind, shell_env, home, tmp_path):
    marker = tmp_path / "marker"
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    allow(project, shell_env)
    env = dict(shell_env, ENVSHIM_STATE=forge(marker))
    settle(kind)
    sh = MoreShell(kind, home, env, tmp_path)
    try:
        assert sh.startup.count("ENVSHIM_STATE is damaged") == 1  # at the first prompt
        out = sh.run(cd(project))
        assert "damaged" not in out
        got = sh.env()
        assert got["ONE"] == "1" and State.decode(got["ENVSHIM_STATE"]).root == str(project)
        sh.run(cd(tmp_path))
        assert "ONE" not in sh.env()
        assert not marker.exists()
    finally:
        sh.close()


SCALE = {"elvish": 20_000, "nu": 20_000, "tcsh": 1_000}  # tcsh's setenv: time in n squared


@pytest.mark.slow
@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_many_variables_load_run_and_unload(kind, shell_env, home, tmp_path):
    n = SCALE[kind]
    project = tmp_path / "big"
    project.mkdir()
    lines = "".join(f'VAR_{i:05d} = "value {i} of the big project"\n' for i in range(n))
    (project / "mise.toml").write_text("[env]\nORIGINAL = 'changed'\n" + lines)
    run_envshim("allow", str(project), env=shell_env, check=True)
    settle(kind)
    sh = MoreShell(kind, home, shell_env, tmp_path)
    try:
        start = comparable(sh.env())
        out = sh.run(cd(project), timeout=300)
        assert f"envshim: +{n} ~1 variables" in out
        env = sh.env()
        assert sum(1 for k in env if k.startswith("VAR_")) == n
        assert len(State.decode(env["ENVSHIM_STATE"]).prev) == n + 1
        assert sh.capture("/bin/echo ran") == "ran\n"
        out = sh.run(cd(tmp_path), timeout=300)
        assert f"envshim: ~1 -{n} variables" in out
        assert comparable(sh.env()) == start
    finally:
        sh.close()
