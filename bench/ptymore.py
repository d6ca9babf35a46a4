"""Real interactive elvish, nushell, tcsh and xonsh on a pseudo-terminal, for the hook
benchmarks (bash and zsh: ptyshell.py).

elvish's, nushell's and xonsh's line editors redraw the prompt at every key, so the
prompt alone cannot tell when a command has run: each timed line ends with a command
that prints a token, and the time runs from writing the line to the first prompt after
that token, which is drawn after every prompt hook ran.
"""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from ptyshell import ENVSHIM, PROMPT
from ptyshell import Shell as PtyShell

_TOKENS = itertools.count()
KINDS = ("elvish", "nu", "tcsh", "xonsh")
MISE_KINDS = ("elvish", "nu", "xonsh")  # mise activate has no tcsh


def envshim_hook(kind: str, wrapper: str | None) -> str:
    """``envshim hook KIND`` with envshim replaced by ``wrapper`` (a counter) when given."""
    text = subprocess.run(
        [*ENVSHIM, "hook", kind], check=True, capture_output=True, text=True
    ).stdout
    if wrapper is None or kind == "xonsh":
        return text
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from envshim.commands.hook import quote_word

    words = [os.path.abspath(w) if os.sep in w else w for w in ENVSHIM]  # as the hook has it
    target = " ".join(quote_word(kind, w) for w in words)
    if target not in text:
        raise SystemExit(f"cannot find {target} in the {kind} hook")
    return text.replace(target, quote_word(kind, wrapper))


class Shell(PtyShell):
    """One interactive shell with ``tool``'s hook (``bare``: none); the pty, the reading
    and closing are ``ptyshell.Shell``'s, the commands typed are each shell's own."""

    def __init__(
        self, kind: str, tool: str, env: dict[str, str], cwd: Path, wrapper: str | None = None
    ) -> None:
        self.kind = kind
        env = dict(env, TERM="dumb")
        home = Path(env["HOME"])
        n = next(_TOKENS)
        work = home / f"{kind}-{tool}-{n}"
        work.mkdir(parents=True)
        if kind == "elvish":
            hook = ""
            if tool == "envshim":
                (work / "hook.elv").write_text(envshim_hook(kind, wrapper))
                hook = f"eval (slurp < {work / 'hook.elv'})"
            elif tool == "mise":
                hook = (
                    "var mise: = (ns [&])\n"
                    "eval (mise activate elvish | slurp) &ns=$mise: &on-end={|ns| set mise: = $ns }\n"
                    "mise:activate"
                )
            (work / "rc.elv").write_text(
                f"set edit:prompt = {{ put '{PROMPT} ' }}\nset edit:rprompt = {{ }}\n{hook}\n"
            )
            argv = ["elvish", "-rc", str(work / "rc.elv")]
        elif kind == "nu":
            conf = work / "nushell"
            conf.mkdir()
            use = ""
            if tool == "envshim":  # what the autoload directory would hold, sourced
                (conf / "envshim.nu").write_text(envshim_hook(kind, wrapper))
                use = f"source {conf / 'envshim.nu'}"
            elif tool == "mise":
                mise = subprocess.run(["mise", "activate", "nu"], env=env, check=True,
                                      capture_output=True, text=True).stdout  # fmt: skip
                (conf / "mise.nu").write_text(mise)
                use = f"use {conf / 'mise.nu'}"
            (conf / "config.nu").write_text(
                "$env.config.show_banner = false\n"
                f"$env.PROMPT_COMMAND = {{|| '{PROMPT} ' }}\n$env.PROMPT_COMMAND_RIGHT = {{|| '' }}\n"
                "$env.PROMPT_INDICATOR = {|| '' }\n"
                f"$env.config.history.file_format = 'plaintext'\n{use}\n"
            )
            (conf / "env.nu").write_text("")
            argv = ["nu", "--config", str(conf / "config.nu"), "--env-config", str(conf / "env.nu")]
        elif kind == "tcsh":
            hook = ""
            if tool == "envshim":
                (work / "hook.tcsh").write_text(envshim_hook(kind, wrapper))
                hook = f'eval "`cat {shlex.quote(str(work / "hook.tcsh"))}`"'
            (work / ".tcshrc").write_text(
                f"set prompt = '{PROMPT} '\nunset edit\nset histfile = /dev/null\n{hook}\n"
            )
            env["HOME"] = str(work)
            argv = ["tcsh", "-i"]
        else:
            hook = ""
            if tool == "envshim":
                hook = "xontrib load envshim"
            elif tool == "mise":
                hook = "execx($(mise activate xonsh))"
            (work / "rc.xsh").write_text(
                f"$PROMPT = '{PROMPT} '\n$RIGHT_PROMPT = ''\n$XONSH_HISTORY_BACKEND = 'dummy'\n"
                f"{hook}\n"
            )
            xonsh = str(Path(sys.executable).parent / "xonsh")
            argv = [xonsh, "--rc", str(work / "rc.xsh"), "-st", "readline", "-i"]
        self._spawn(argv, env, cwd, 120)
        if kind == "tcsh":
            self.run("stty -echo")  # the terminal's echo is not what is timed

    def _line(self, command: str, token: str) -> str:
        head, tail = token[:3], token[3:]
        printed = {
            "elvish": f"echo '{head}'\"{tail}\"",
            "nu": f"print ('{head}' + '{tail}')",
            "tcsh": f"echo '{head}''{tail}'",
            "xonsh": f"print('{head}' + '{tail}')",
        }[self.kind]
        return f"{command}; {printed}" if command else printed

    def run(self, command: str, timeout: float = 300) -> str:
        """Run ``command``; what it printed (to the token) and the hook after it."""
        token = f"<@t{next(_TOKENS)}@>"
        self.buffer = b""
        os.write(self.master, self._line(command, token).encode() + b"\n")
        out = self._until(token.encode(), timeout)
        return (out + self._until(PROMPT.encode(), timeout)).decode(errors="replace")

    def timed(self, command: str, timeout: float = 120) -> float:
        """Seconds from writing ``command`` (and a token) to the next prompt."""
        token = f"<@t{next(_TOKENS)}@>"
        self.buffer = b""
        start = time.perf_counter()
        os.write(self.master, self._line(command, token).encode() + b"\n")
        self._until(token.encode(), timeout)
        self._until(PROMPT.encode(), timeout)
        return time.perf_counter() - start
