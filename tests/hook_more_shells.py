"""The pseudo-terminal harness of test_hook_shells.py for elvish, nushell and tcsh.

Each shell starts with an isolated HOME and its own rc file that installs the hook
the way the README says (elvish: ``eval (envshim hook elvish | slurp)``; nushell: the
hook saved in its autoload directory; tcsh: ``eval "`envshim hook tcsh`"``), with a
plain prompt to synchronise on.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from conftest import need, run_envshim
from envshim.commands.hook import quote_word
from test_hook_shells import PROMPT, Shell, _controlling_tty

MORE_SHELLS = ["elvish", "nu", "tcsh"]
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def hook_command(kind: str) -> str:
    """The rc line that installs the hook (nushell: none, the hook file is autoloaded)."""
    exe = f"{shlex.quote(sys.executable)} -m envshim"
    if kind == "elvish":
        return f"eval ({exe} hook elvish | slurp)"
    if kind == "tcsh":
        return f'eval "`{exe} hook tcsh`"'
    return ""


def hook_text(kind: str, command: str | None = None) -> str:
    """``envshim hook KIND``, with envshim replaced by ``command`` when given."""
    text = run_envshim("hook", kind, check=True).stdout
    if command is not None:
        words = " ".join(quote_word(kind, w) for w in [sys.executable, "-m", "envshim"])
        assert words in text
        text = text.replace(words, quote_word(kind, command))
    return text


class MoreShell(Shell):
    """One interactive elvish, nushell or tcsh on a pty (the methods of ``Shell`` that
    type commands are written for each)."""

    def __init__(
        self,
        kind: str,
        home: Path,
        env: dict[str, str],
        cwd: Path,
        rc_extra: str = "",
        hook: str | None = None,
    ) -> None:
        """``hook``: the hook's text to install instead of ``envshim hook KIND``'s."""
        need(kind)
        self.kind = kind
        self.home = home
        self.out_file = home / "env.out"
        env = dict(env)
        env["TERM"] = "dumb"
        config = Path(env["XDG_CONFIG_HOME"])
        if kind == "elvish":
            rc = home / "rc.elv"
            install = hook_command(kind) if hook is None else self._saved(hook, "hook.elv")
            if hook is not None:
                install = f"eval (slurp < {_elv_quote(install)})"
            rc.write_text(
                f"set edit:prompt = {{ put '{PROMPT} ' }}\nset edit:rprompt = {{ }}\n"
                f"{rc_extra}\n{install}\n"
            )
            argv = ["elvish", "-rc", str(rc)]
        elif kind == "nu":
            autoload = config / "nushell" / "autoload"
            autoload.mkdir(parents=True, exist_ok=True)
            (autoload / "envshim.nu").write_text(hook if hook is not None else hook_text("nu"))
            cfg = config / "nushell" / "config.nu"
            cfg.write_text(
                "$env.config.show_banner = false\n"
                f"$env.PROMPT_COMMAND = {{|| '{PROMPT} ' }}\n"
                "$env.PROMPT_COMMAND_RIGHT = {|| '' }\n"
                "$env.PROMPT_INDICATOR = {|| '' }\n"
                "$env.config.history.file_format = 'plaintext'\n"
                "$env.config.history.max_size = 0\n"
                f"{rc_extra}\n"
            )
            (config / "nushell" / "env.nu").write_text("")
            argv = ["nu", "--config", str(cfg), "--env-config", str(config / "nushell" / "env.nu")]
        else:
            install = hook_command(kind)
            if hook is not None:
                saved = self._saved(hook, "hook.tcsh")
                install = f'eval "`cat {shlex.quote(saved)}`"'
            (home / ".tcshrc").write_text(
                f"set prompt = '{PROMPT} '\nunset edit\nset histfile = /dev/null\n"
                f"{rc_extra}\n{install}\n"
            )
            argv = ["tcsh", "-i"]
        self.argv = argv
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            preexec_fn=_controlling_tty, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.buffer = ""
        self.count = 0
        self.startup = self.wait_prompt(60)

    def _read(self, timeout: float) -> str:
        text = super()._read(timeout)
        # nushell's line editor asks where the cursor is and waits for the answer
        for _ in range(text.count("\x1b[6n")):
            os.write(self.master, b"\x1b[1;1R")
        return text

    def _wait_for(self, text: str, timeout: float) -> str:
        return _OSC.sub("", super()._wait_for(text, timeout))

    def _saved(self, text: str, name: str) -> str:
        path = self.home / name
        path.write_text(text)
        return str(path)

    def run(self, command: str, timeout: float = 30) -> str:
        self.count += 1
        token = f"<@done-{self.count}@>"
        head, tail = token[:4], token[4:]
        if self.kind == "elvish":
            line = f"try {{ {command} }} catch e {{ echo (repr $e) }}; echo '{head}'\"{tail}\""
        elif self.kind == "nu":
            line = f"try {{ {command} }} catch {{|e| print $e.msg }}; print ('{head}' + '{tail}')"
        else:  # keep the command's status for the next line to see
            line = f"{command}; set _t_rc = $status; echo '{head}''{tail}'; set status = $_t_rc"
        os.write(self.master, f"{line}\n".encode())
        self.buffer = ""
        before = self._wait_for(token, timeout)
        after = self._wait_for(PROMPT, timeout)
        # elvish's and nushell's line editors redraw the command line at every key: what
        # the hook printed is what came after the command (files hold what commands print)
        return after if self.kind in ("elvish", "nu") else before + after

    def start_child(self, timeout: float = 60) -> str:
        if self.kind != "nu":
            return super().start_child(timeout)
        # nushell's line editor drops what was typed before it started: wait for the
        # child to say it runs (-e runs after its config, before its first prompt)
        self.buffer = ""
        line = shlex.join([*self.argv, "-e", "print ('<@chi' + 'ld@>')"])
        os.write(self.master, (line + "\n").encode())
        self._wait_for("<@child@>", timeout)
        self._wait_for(PROMPT, timeout)
        return self.run("true", timeout)

    def _to_file(self, command: str, path: Path) -> str:
        q = shlex.quote(str(path))
        if self.kind == "elvish":
            return f"{command} > {q} 2>&1"
        if self.kind == "nu":
            return f"{command} o+e> {q}"
        return f"{command} >& {q}"

    def env_raw(self) -> bytes:
        self.out_file.unlink(missing_ok=True)
        env = "^env -0" if self.kind == "nu" else "env -0"
        self.run(self._to_file(env, self.out_file))
        return self.out_file.read_bytes()

    def env(self) -> dict[str, str]:
        pairs = [item.split(b"=", 1) for item in self.env_raw().split(b"\0") if item]
        return {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in pairs}

    def capture(self, command: str) -> str:
        out = self.home / "cmd.out"
        out.unlink(missing_ok=True)
        self.run(self._to_file(command, out))
        return out.read_text()


def _elv_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def set_var(kind: str, name: str, value: str) -> str:
    if kind == "elvish":
        return f"set-env {name} {_elv_quote(value)}"
    if kind == "nu":
        return f"$env.{name} = {_elv_quote(value)}"  # a nushell '…' string is raw
    return f"setenv {name} {shlex.quote(value)}"


def unset_var(kind: str, name: str) -> str:
    return {"elvish": "unset-env", "nu": "hide-env", "tcsh": "unsetenv"}[kind] + f" {name}"


def settle(kind: str) -> None:
    """tcsh reads file times in whole seconds: a watched path changed in the second of a
    load counts as changed until that second is over (each prompt loads again, silently).
    Wait for the next second, as a user who just edited a file would have."""
    if kind == "tcsh":
        time.sleep(1.05 - time.time() % 1)


def counting_hook(kind: str, base: Path) -> tuple[str, Path]:
    """The hook's text with envshim replaced by a wrapper that appends a line to a
    counter file before it runs envshim. Returns (hook text, counter file)."""
    counter = base / "processes"
    counter.write_text("")
    wrapper = base / "envshim-counting"
    wrapper.write_text(
        f'#!/bin/sh\necho "$PWD" >> {shlex.quote(str(counter))}\n'
        f'exec {shlex.quote(sys.executable)} -m envshim "$@"\n'
    )
    wrapper.chmod(0o755)
    return hook_text(kind, str(wrapper)), counter
