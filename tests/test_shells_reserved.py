"""The reserved-name lists, measured against the real shells.

A name is *broken* in a shell when ``export NAME='text'`` (as the renderer writes
it) does not leave that text both in the shell (``"$NAME"``) and in a child's
environment after a couple of further commands: read-only, integer-typed,
dynamic (``SECONDS``, ``LINENO``), tied arrays (zsh's ``path``) and the like.
Every broken name must be reserved (never emitted), and every reserved name must
be broken, except the few reserved on the shell's documentation alone.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import need
from envshim.errors import ConfigError
from envshim.model import Origin
from envshim.shells import get_renderer
from envshim.shells.base import COMMON_RESERVED, check

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PROBE = "envshim probe:x"  # not a number, not a path list: every special shows itself

# zsh modules a zshrc commonly loads, each adding special parameters.
ZSH_MODULES = (
    "zsh/datetime zsh/mapfile zsh/system zsh/langinfo zsh/terminfo zsh/termcap "
    "zsh/zleparameter zsh/parameter zsh/sched zsh/watch zsh/curses"
)

# Documented special variables that a shell does not list until they are set.
_DOCUMENTED = """
BASH_XTRACEFD BASH_ENV BASH_COMPAT BASH_LOADABLES_PATH CDPATH CHILD_MAX COMP_CWORD COMP_KEY
COMP_LINE COMP_POINT COMP_TYPE COMP_WORDBREAKS COMP_WORDS COMPREPLY COPROC EMACS ENV EXECIGNORE
FCEDIT FIGNORE GLOBIGNORE HISTCONTROL HISTFILE HISTFILESIZE HISTIGNORE HISTSIZE HISTTIMEFORMAT
HOSTFILE IGNOREEOF INPUTRC INSIDE_EMACS LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES LC_NUMERIC
LC_TIME LINES COLUMNS MAIL MAILCHECK MAILPATH MAPFILE OPTERR OPTARG POSIXLY_CORRECT
PROMPT_COMMAND PROMPT_DIRTRIM PS0 PS1 PS2 PS3 PS4 READLINE_ARGUMENT READLINE_LINE READLINE_MARK
READLINE_POINT REPLY TIMEFORMAT TMOUT TMPDIR auto_resume histchars BASH_REMATCH BASH_ARGV0
PIPESTATUS FUNCNAME GLOBSORT BASH_MONOSECONDS BASH_TRAPSIG
KEYTIMEOUT LISTMAX LOGCHECK NULLCMD READNULLCMD REPORTTIME REPORTMEMORY RPROMPT RPS1 RPROMPT2
RPS2 SPROMPT STTY TIMEFMT TMPPREFIX WORDCHARS ZBEEP ZDOTDIR ZLE_LINE_ABORTED ZLE_REMOVE_SUFFIX_CHARS
ZLE_RPROMPT_INDENT ZLE_SPACE_SUFFIX_CHARS ZSH_ARGZERO ZSH_EXECUTION_STRING ZSH_NAME ZSH_PATCHLEVEL
ZSH_SCRIPT ZSH_VERSION TTY VENDOR MACHTYPE OSTYPE CPUTYPE HOST LOGNAME USERNAME ERRNO EGID GID
match MATCH MBEGIN MEND mbegin mend reply prompt
CMD_DURATION FISH_VERSION fish_pid hostname history last_pid pipestatus status status_generation
version argv fish_kill_signal umask fish_private_mode fish_greeting fish_complete_path
fish_user_paths fish_function_path fish_trace fish_emoji_width fish_ambiguous_width
fish_handle_reflow fish_features fish_history fish_killring fish_bind_mode fish_key_bindings
fish_escape_delay_ms fish_sequence_key_delay_ms fish_cursor_selection_mode SHELL_PID
IFS LINENO OPTIND PPID PWD OLDPWD HOME PATH SHLVL SHELL TERM USER LANG
"""
DOCUMENTED = _DOCUMENTED.split()

_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "TERM": "dumb"}


def _listed(argv: list[str], command: str) -> set[str]:
    out = subprocess.run([*argv, "-c", command], capture_output=True, env=_ENV, timeout=30)
    return {n for n in out.stdout.decode().split() if NAME_RE.match(n)}


SHELLS = {
    # format: [(label, argv, prelude, command listing the shell's own names)]
    "bash": [("bash", ["bash", "--norc", "--noprofile"], "", "compgen -v")],
    "zsh": [
        (
            "zsh",
            ["zsh", "-f"],
            f"zmodload {ZSH_MODULES} 2>/dev/null\n",
            f"zmodload {ZSH_MODULES} 2>/dev/null; print -l ${{(k)parameters}}",
        )
    ],
    "fish": [("fish", ["fish", "--no-config"], "", "set -n")],
    # sh output must hold in dash and in bash as /bin/sh (posix mode)
    "posix": [
        ("dash", ["dash"], "", "set | cut -d= -f1"),
        ("bash", ["bash", "--posix", "--norc", "--noprofile"], "", "compgen -v"),
    ],
}


def _broken(
    fmt: str, argv: list[str], prelude: str, names: list[str], tmp: Path, interactive: bool
) -> set[str]:
    renderer = get_renderer(fmt)
    env = {**_ENV, "HOME": str(tmp)}
    flags = ["-i"] if interactive else []

    def body(name: str) -> str:
        return (
            f"{renderer.export(name, PROBE)}\n:; /bin/true\n"
            f"printf '%s' \"${name}\" > {tmp}/{name}.in; /usr/bin/env -0 > {tmp}/{name}.env\n"
        )

    if fmt == "fish":  # no subshells in fish: one process per name (a few ms each)
        for name in names:
            subprocess.run(
                [*argv, *flags],
                input=(prelude + body(name)).encode(),
                capture_output=True,
                env=env,
                timeout=30,
            )
    else:  # one process, each name in its own subshell
        script = prelude + "".join(f"(\n{body(n)})\n" for n in names)
        subprocess.run(
            [*argv, *flags], input=script.encode(), capture_output=True, env=env, timeout=120
        )
    broken = set()
    for name in names:
        inside = tmp / f"{name}.in"
        child = tmp / f"{name}.env"
        environ = dict(
            item.split(b"=", 1)
            for item in (child.read_bytes() if child.exists() else b"").split(b"\0")
            if b"=" in item
        )
        if not (
            inside.exists()
            and inside.read_bytes() == PROBE.encode()
            and environ.get(name.encode()) == PROBE.encode()
        ):
            broken.add(name)
        inside.unlink(missing_ok=True)
        child.unlink(missing_ok=True)
    return broken


def measure(fmt: str, tmp: Path) -> tuple[set[str], set[str]]:
    """(names broken in any of the format's shells, names tried)."""
    renderer = get_renderer(fmt)
    broken: set[str] = set()
    tried: set[str] = set()
    for label, argv, prelude, listing in SHELLS[fmt]:
        need(label)
        names = sorted(
            _listed(argv, listing) | set(DOCUMENTED) | renderer.reserved | COMMON_RESERVED
        )
        tried |= set(names)
        # interactive shells differ (bash resets MAILCHECK); fish reading stdin does not
        for interactive in (False, True) if fmt != "fish" else (False,):
            broken |= _broken(fmt, argv, prelude, names, tmp, interactive)
    return broken, tried


@pytest.mark.parametrize("fmt", sorted(SHELLS))
def test_reserved_list_matches_the_real_shell(fmt, tmp_path):
    renderer = get_renderer(fmt)
    broken, tried = measure(fmt, tmp_path)
    assert "PATH" not in broken and "HOME" not in broken  # the probe itself works
    # every name the shell breaks is refused before anything is printed
    assert broken - renderer.reserved - COMMON_RESERVED == set()
    # every reserved name is broken, or reserved on the documentation alone
    documented_only = getattr(renderer, "reserved_documented", frozenset())
    assert renderer.reserved - broken == documented_only
    assert documented_only <= tried


@pytest.mark.parametrize("fmt", ["bash", "zsh", "fish", "posix"])
def test_reserved_name_is_an_error_naming_the_source(fmt):
    renderer = get_renderer(fmt)
    name = sorted(renderer.reserved)[0]
    origin = Origin("mise", "/p/mise.toml", 7)
    with pytest.raises(ConfigError) as err:
        check(renderer, {"A": "1", name: "x"}, {name: origin})
    assert str(err.value).startswith(f"/p/mise.toml:7: {name} is reserved by ")
