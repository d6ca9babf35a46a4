"""The shell hook's slow path: one script that reverts the previous load and applies the next.

The shell functions in ``shell/`` run ``envshim export <shell> --hook`` only when
something that decides the result may have changed (DESIGN.md §6); leaving a
project and moving inside one happen in pure shell. The pieces:

* ``state.py``: ``ENVSHIM_STATE``, compressed and checked, and reverting from it alone;
* ``plan.py``: what to revert, load, watch, and the scope of the result (fail safe);
* ``render.py``: the script, and the revert script the shell keeps unexported
  (``dialects.py``: what differs between the shells around the renderers' lines);
* ``stamp.py``: the stamp files the prompt compares mtimes against;
* ``who.py``: who manages a directory (the hook, direnv, the mise plugin) and why.
"""

from __future__ import annotations

import os
import sys
import time

from .plan import Plan, place_environ, plan_hook
from .render import render_script, revert_commands, revert_definition
from .stamp import STAMP_SLACK_NS, touch_stamps
from .state import HELPER_PREFIXES, STATE_VAR, State, StateError, hash_key, revert, value_hash

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

SHELLS = ("bash", "zsh", "fish", "elvish", "tcsh", "nu")

__all__ = [
    "HELPER_PREFIXES",
    "SHELLS",
    "STATE_VAR",
    "Plan",
    "State",
    "StateError",
    "hash_key",
    "hook_export",
    "place_environ",
    "plan_hook",
    "render_script",
    "revert",
    "revert_commands",
    "revert_definition",
    "value_hash",
]


def _cwd(environ: Mapping[str, str], directory: str) -> str:
    """The shell's logical ``$PWD`` when it names the directory we are in (symlinks kept)."""
    try:
        here = os.path.abspath(directory)
    except FileNotFoundError:  # the shell's directory was deleted
        return environ.get("PWD") or "/nonexistent"
    pwd = environ.get("PWD", "")
    if directory in (".", "") and os.path.isabs(pwd):
        try:
            if os.path.samefile(pwd, here):
                return pwd
        except OSError:
            pass
    return here


def hook_export(args: argparse.Namespace) -> int:
    """``envshim export SHELL --hook``: print the revert-and-apply script.

    ``--format json --from-mise --hook`` is the mise plugin's call (plugin_export).
    A directory that cannot be loaded still gets a script (it unloads the previous
    project) and one line on stderr; only a usage error prints nothing.
    """
    shell = "nu" if args.format == "nushell" else args.format
    if shell == "json":
        from ..plugin import plugin_export

        return plugin_export(args)
    if shell not in SHELLS:
        from ..errors import UsageError

        raise UsageError(f"--hook supports {', '.join(SHELLS)}, not {shell!r}")
    environ = dict(os.environ)
    started = time.time_ns() - STAMP_SLACK_NS
    plan = plan_hook(environ, _cwd(environ, args.dir), shell, args.env, args.missing_key)
    stamps = _stamps(environ, plan, started)
    text = render_script(shell, plan, *stamps, started=started)
    for warning in plan.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    sys.stdout.write(text)
    return 0


def _stamps(environ: Mapping[str, str], plan: Plan, started: int) -> tuple[str, str]:
    """The stamp files, or two empty paths when they cannot be made (then the prompt
    starts envshim until they can: a watched path is always newer than no file)."""
    try:
        return touch_stamps(plan.places or environ, started, environ.get("ENVSHIM_HOOK_PID", ""))
    except OSError as exc:
        if not plan.error:
            plan.error = f"envshim: cannot write the hook's stamp file ({exc.strerror})"
        return "", ""
