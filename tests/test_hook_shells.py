"""The hook in real interactive bash, zsh and fish, driven through a pseudo-terminal.

Each shell starts with an isolated HOME and rc file that evaluates
``envshim hook SHELL``. The prompt is the synchronisation point: the hook runs
before it is drawn, so once it appears the hook is done. Variables are read
back from a child process's environment (``env -0`` into a file), which is
exactly what a program started in that shell would get.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from conftest import need, run_envshim
from envshim.hook.state import State

PROMPT = "<@prompt@>"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")


def hook_command(shell: str) -> str:
    """The rc line that installs the hook, running envshim from this interpreter."""
    exe = f"{shlex.quote(sys.executable)} -m envshim"
    if shell == "fish":
        return f"{exe} hook fish | source"
    return f'eval "$({exe} hook {shell})"'


def _controlling_tty() -> None:
    # a session of its own with the pty as its terminal: fish refuses to run without one
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Shell:
    """One interactive shell on a pty."""

    def __init__(
        self,
        kind: str,
        home: Path,
        env: dict[str, str],
        cwd: Path,
        rc_extra: str = "",
        hook_file: Path | None = None,
    ):
        need(kind)
        self.kind = kind
        self.home = home
        self.out_file = home / "env.out"
        env = dict(env)
        env["TERM"] = "dumb"
        env.pop("PROMPT_COMMAND", None)
        install = (
            hook_command(kind) if hook_file is None else f"source {shlex.quote(str(hook_file))}"
        )
        if kind == "bash":
            rc = home / ".bashrc"
            rc.write_text(f"PS1='{PROMPT} '\nHISTFILE=/dev/null\n{rc_extra}\n{install}\n")
            argv = ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
        elif kind == "zsh":
            (home / ".zshrc").write_text(
                "unsetopt zle prompt_sp prompt_cr\nHISTFILE=/dev/null\n"
                f"PROMPT='{PROMPT} '\n{rc_extra}\n{install}\n"
            )
            env["ZDOTDIR"] = str(home)
            argv = ["zsh", "-i"]
        else:
            cfg = Path(env["XDG_CONFIG_HOME"]) / "fish"
            cfg.mkdir(parents=True, exist_ok=True)
            (cfg / "config.fish").write_text(
                "set -g fish_greeting ''\n"
                f"function fish_prompt; printf '%s ' '{PROMPT}'; end\n"
                f"{rc_extra}\n{install}\n"
            )
            argv = ["fish", "-i"]
        self.argv = argv
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.buffer = ""
        self.count = 0
        self.startup = self.wait_prompt()  # what the rc file and the first prompt printed

    def _read(self, timeout: float) -> str:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return ""
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def _wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.buffer:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.kind}: waited for {text!r}; got {self.buffer[-2000:]!r}"
                )
            self.buffer += self._read(0.2)
        out, _, self.buffer = self.buffer.partition(text)
        return _ANSI.sub("", out)

    def wait_prompt(self, timeout: float = 30) -> str:
        return self._wait_for(PROMPT, timeout)

    def run(self, command: str, timeout: float = 30) -> str:
        """Type ``command``; return what it and the hook printed before the next prompt.

        A token printed after the command (spelt so that the echoed command line does
        not contain it) tells where the command ended; the prompt after it, that the
        hook has run.
        """
        self.count += 1
        token = f"<@done-{self.count}@>"
        split = f"{token[:4]}' '{token[4:]}"  # printf '%s' '<@do' 'ne-1@>' prints the token
        if self.kind == "fish":  # keep the command's status for the next line to see
            keep = "set -g _t_rc $status; printf '%s%s\\n' " + f"'{split}'; test $_t_rc -eq 0"
        else:
            keep = "_t_rc=$?; printf '%s%s\\n' " + f"'{split}'; (exit $_t_rc)"
        os.write(self.master, f"{command}; {keep}\n".encode())
        self.buffer = ""
        before = self._wait_for(token, timeout)
        after = self._wait_for(PROMPT, timeout)
        return before + after

    def env(self) -> dict[str, str]:
        """The environment a child process started now would get."""
        self.out_file.unlink(missing_ok=True)
        self.run(f"env -0 > {shlex.quote(str(self.out_file))}")
        raw = self.out_file.read_bytes()
        pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if item]
        return {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in pairs}

    def capture(self, command: str) -> str:
        """The output of ``command`` alone (through a file: the terminal echoes too much)."""
        out = self.home / "cmd.out"
        out.unlink(missing_ok=True)
        self.run(f"{command} > {shlex.quote(str(out))} 2>&1")
        return out.read_text()

    def env_raw(self) -> bytes:
        self.out_file.unlink(missing_ok=True)
        self.run(f"env -0 > {shlex.quote(str(self.out_file))}")
        return self.out_file.read_bytes()

    def start_child(self, timeout: float = 60) -> str:
        """Start the same kind of interactive shell inside this one (it inherits the
        exported environment, not the shell variables); commands then go to the child."""
        self.buffer = ""
        os.write(self.master, (shlex.join(self.argv) + "\n").encode())
        # a command answered by the child: its first prompt has been drawn (a prompt seen
        # before may be the parent's, redrawn)
        return self.run("true", timeout)

    def exit_child(self, timeout: float = 30) -> str:
        self.buffer = ""
        os.write(self.master, b"exit\n")
        return self.wait_prompt(timeout)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        os.close(self.master)


SHELLS = ["bash", "zsh", "fish"]


def counting_hook(kind: str, base: Path) -> tuple[Path, Path]:
    """The hook script for ``kind`` with envshim replaced by a wrapper that appends a line
    to a counter file before it runs envshim: every process the hook starts is counted.
    Returns (hook file, counter file)."""
    from envshim.commands.hook import quote_word

    counter = base / "processes"
    counter.write_text("")
    wrapper = base / "envshim-counting"
    wrapper.write_text(
        f'#!/bin/sh\necho "$PWD" >> {shlex.quote(str(counter))}\n'
        f'exec {shlex.quote(sys.executable)} -m envshim "$@"\n'
    )
    wrapper.chmod(0o755)
    text = run_envshim("hook", kind, check=True).stdout
    words = " ".join(quote_word(kind, w) for w in [sys.executable, "-m", "envshim"])
    assert words in text
    hook_file = base / f"hook.{kind}"
    hook_file.write_text(text.replace(words, quote_word(kind, str(wrapper))))
    return hook_file, counter


def processes(counter: Path) -> int:
    """How many envshim processes the hook has started so far."""
    return len(counter.read_text().splitlines())


@pytest.fixture
def shell_env(clean_env: dict[str, str], home: Path) -> dict[str, str]:
    env = dict(clean_env)
    env["ORIGINAL"] = "before"
    env["TOUCHED_BY_HAND"] = "original"
    return env


def make_project(base: Path, name: str, env_lines: str) -> Path:
    project = base / name
    (project / "sub dir").mkdir(parents=True)
    (project / "mise.toml").write_text("[env]\n" + env_lines, encoding="utf-8")
    return project


def allow(project: Path, env: dict[str, str]) -> None:
    run_envshim("allow", str(project), env=env, check=True)


def cd(path: Path) -> str:
    return f"cd {shlex.quote(str(path))}"


SECRET = "s3cr3t 'q' \"dq\" `x` \\ %s\nline2 ✓"  # mise would expand a $: none here
MISE_ENV = (
    'API_KEY = """s3cr3t \'q\' "dq" `x` \\\\ %s\nline2 ✓"""\n'
    + 'ORIGINAL = "during"\n'
    + 'TOUCHED_BY_HAND = "project"\n'
    + "UNSET_ME = false\n"
)


def set_var(shell: Shell, name: str, value: str) -> str:
    if shell.kind == "fish":
        return f"set -gx {name} {shlex.quote(value)}"
    return f"export {name}={shlex.quote(value)}"


@pytest.mark.parametrize("kind", SHELLS)
def test_enter_sub_directory_and_leave(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "my project", MISE_ENV)
    allow(project, shell_env)
    env = dict(shell_env, UNSET_ME="was set")
    sh = Shell(kind, home, env, tmp_path)
    try:
        out = sh.run(cd(project))
        assert "envshim: +API_KEY ~ORIGINAL ~TOUCHED_BY_HAND -UNSET_ME" in out
        raw = sh.env_raw()
        # a child holds the secret exactly once: no copy in ENVSHIM_STATE or elsewhere
        assert raw.count(SECRET.encode()) == 1
        loaded = sh.env()
        assert loaded["API_KEY"] == SECRET
        assert loaded["ORIGINAL"] == "during" and "UNSET_ME" not in loaded
        assert "ENVSHIM_STATE" in loaded

        out = sh.run("cd 'sub dir'")
        assert "envshim:" not in out
        assert sh.env()["API_KEY"] == SECRET

        sh.run(set_var(sh, "TOUCHED_BY_HAND", "mine"))
        out = sh.run(cd(tmp_path))
        assert "-API_KEY" in out and "~ORIGINAL" in out and "+UNSET_ME" in out
        left = sh.env()
        assert "API_KEY" not in left
        assert State.decode(left["ENVSHIM_STATE"]).empty()  # the hook is active, nothing loaded
        assert left["ORIGINAL"] == "before" and left["UNSET_ME"] == "was set"
        assert left["TOUCHED_BY_HAND"] == "mine"  # changed by hand: left alone
    finally:
        sh.close()


@pytest.mark.parametrize("kind", SHELLS)
def test_edit_unloads_until_allow_and_untrusted_unloads_previous(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    other = make_project(tmp_path, "other", 'FROM_OTHER = "x"\n')
    allow(project, shell_env)
    sh = Shell(kind, home, shell_env, project)
    try:
        assert sh.env()["ONE"] == "1"
        time.sleep(0.05)
        (project / "mise.toml").write_text('[env]\nONE = "2"\n')
        out = sh.run("true")
        assert "changed since `envshim allow` (mise.toml was edited)" in out
        assert "ONE" not in sh.env()
        out = sh.run("true")
        assert "envshim:" not in out  # one notice per directory
        out = sh.run(f"{hook_command_word()} allow")
        assert "envshim: +ONE" in out
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


def hook_command_word() -> str:
    return f"{shlex.quote(sys.executable)} -m envshim"


@pytest.mark.parametrize("kind", SHELLS)
def test_broken_config_keeps_the_shell_usable(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    allow(project, shell_env)
    sh = Shell(kind, home, shell_env, project)
    try:
        assert sh.env()["ONE"] == "1"
        time.sleep(0.05)
        (project / "mise.toml").write_text('[env]\nONE = "unterminated\n')
        allow_out = run_envshim("allow", str(project), env=shell_env)
        assert allow_out.returncode != 0 and "mise.toml" in allow_out.stderr
        out = sh.run("true")
        assert "changed since" in out  # the broken file is not trusted: unloaded
        assert "ONE" not in sh.env()
        (project / "mise.toml").write_text('[env]\nONE = "3"\n')
        allow(project, shell_env)
        sh.run("true")
        assert sh.env()["ONE"] == "3"
        # the project directory is deleted under the shell: the shell stays usable and
        # the next load (here: `prune` forgets the project's trust) reverts cleanly
        sh.run(cd(project / "sub dir"))
        shutil.rmtree(project)
        assert sh.capture("echo alive") == "alive\n"
        run_envshim("prune", env=shell_env, check=True)
        out = sh.run("true")
        assert "envshim: -ONE" in out and "error" not in out
        assert "ONE" not in sh.env()
    finally:
        sh.close()


RC_EXTRA = {
    "bash": (
        "set -u\n"
        "user_prompt() { USER_PROMPT_RAN=$((${USER_PROMPT_RAN:-0} + 1)); }\n"
        "PROMPT_COMMAND=(user_prompt)\n"
        "trap 'echo user-int-trap' INT\n"
        "export __envshim_out=mine __envshim_rc=keep __envshim_f=also\n"
    ),
    "zsh": (
        "set -u\n"
        "trap 'echo user-int-trap' INT\n"
        "export __envshim_out=mine __envshim_rc=keep __envshim_f=also\n"
    ),
    "fish": "set -gx __envshim_out mine; set -gx __envshim_rc keep; set -gx __envshim_f also\n",
}


@pytest.mark.parametrize("kind", SHELLS)
def test_shell_state_is_respected(kind, shell_env, home, tmp_path):
    """$? survives the hook; the user's trap, PROMPT_COMMAND array and same-named
    variables are untouched; installing twice adds nothing twice; set -u is safe."""
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    allow(project, shell_env)
    extra = RC_EXTRA[kind] + hook_command(kind) + "\n"  # the hook installed twice
    sh = Shell(kind, home, shell_env, tmp_path, rc_extra=extra)
    try:
        status = "$status" if kind == "fish" else "$?"
        out = sh.run(f"{cd(project)}; false")
        assert "envshim: +ONE" in out
        # the slow path ran at that prompt; the status is still false's
        assert sh.capture(f"echo rc={status}") == "rc=1\n"
        assert sh.capture(f"true; echo rc={status}") == "rc=0\n"
        env = sh.env()
        assert env["ONE"] == "1"
        assert (env["__envshim_out"], env["__envshim_rc"], env["__envshim_f"]) == (
            "mine",
            "keep",
            "also",
        )
        if kind == "bash":
            listed = sh.capture("declare -p PROMPT_COMMAND")
            assert listed.count("_envshim_hook") == 1 and "user_prompt" in listed
            before = int(sh.capture("echo $USER_PROMPT_RAN"))
            after = int(sh.capture("echo $USER_PROMPT_RAN"))
            assert after == before + 1  # the user's prompt command still runs
        if kind == "zsh":
            listed = sh.capture("print -l $precmd_functions $chpwd_functions")
            assert listed.count("_envshim_hook") == 2  # once in each list
        if kind == "fish":
            listed = sh.capture("functions --handlers | string match -e _envshim_hook")
            assert listed.count("_envshim_hook") == 2  # fish_prompt and PWD, once each
        if kind != "fish":
            assert "user-int-trap" in sh.capture("trap -p INT" if kind == "bash" else "trap")
        assert "-ONE" in sh.run(cd(tmp_path))
        assert "ONE" not in sh.env()
        sh.run(set_var(sh, "ENVSHIM_QUIET", "1"))
        assert "envshim:" not in sh.run(cd(project))  # the summary is silenced
        assert sh.env()["ONE"] == "1"
    finally:
        sh.close()


@pytest.mark.parametrize("kind", ["bash", "zsh"])
def test_set_e_and_a_failing_export_leave_the_shell_alive(kind, shell_env, home, tmp_path):
    project = make_project(tmp_path, "proj", 'ONE = "1"\n')
    broken = make_project(tmp_path, "broken", 'TWO = "{{ env.NOT_SET_ANYWHERE }}"\n')
    allow(project, shell_env)
    allow(broken, dict(shell_env, NOT_SET_ANYWHERE="at allow time"))  # trusted, fails here
    sh = Shell(kind, home, shell_env, project, rc_extra="set -eu\n")
    try:
        assert sh.env()["ONE"] == "1"
        out = sh.run(cd(broken))
        errors = [line for line in out.splitlines() if "nothing loaded here" in line]
        assert len(errors) == 1 and "mise.toml" in errors[0]  # one line, naming the file
        assert "envshim: -ONE" in out  # the previous project is unloaded all the same
        assert sh.capture("echo alive") == "alive\n"
        env = sh.env()
        assert "ONE" not in env and "TWO" not in env  # nothing of either project
        assert "envshim:" not in sh.run("true")  # not repeated on every prompt
        assert "envshim:" not in sh.run(cd(tmp_path))  # nothing left to unload
    finally:
        sh.close()


def age_encrypt(text: str, recipient: str, out: Path) -> None:
    subprocess.run([need("age"), "-r", recipient, "-o", str(out)], input=text.encode(), check=True)


@pytest.mark.parametrize("kind", SHELLS)
def test_secret_file_and_user_store_edits_reload_without_allow(kind, shell_env, home, tmp_path):
    keys = Path(shell_env["XDG_CONFIG_HOME"]) / "sops" / "age" / "keys.txt"
    keys.parent.mkdir(parents=True)
    subprocess.run([need("age-keygen"), "-o", str(keys)], check=True, capture_output=True)
    keys.chmod(0o600)
    recipient = next(
        line.split(": ", 1)[1] for line in keys.read_text().splitlines() if "public key" in line
    )
    project = make_project(tmp_path, "proj", 'PLAIN = "p"\n')
    age_encrypt("TEAM_SECRET=team-1\n", recipient, project / "secrets.env.age")
    run_envshim("user", "init", "--plaintext", cwd=project, env=shell_env, check=True)
    run_envshim("user", "set", "MINE", cwd=project, env=shell_env, input="u-1\n", check=True)
    allow(project, shell_env)
    sh = Shell(kind, home, shell_env, project)
    try:
        env = sh.env()
        assert (env["TEAM_SECRET"], env["MINE"], env["PLAIN"]) == ("team-1", "u-1", "p")
        time.sleep(0.05)
        age_encrypt("TEAM_SECRET=team-2\n", recipient, project / "secrets.env.age")
        out = sh.run("true")
        assert "envshim: ~TEAM_SECRET" in out and "not allowed" not in out
        assert sh.env()["TEAM_SECRET"] == "team-2"
        run_envshim("user", "set", "MINE", cwd=project, env=shell_env, input="u-2\n", check=True)
        assert "envshim: ~MINE" in sh.run("true")
        assert sh.env()["MINE"] == "u-2"
    finally:
        sh.close()
