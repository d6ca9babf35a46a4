"""``envshim run [--env P] [--missing-key …] -- CMD ARGS…``: exec with the merged environment.

No shell is involved: the command replaces envshim (``execvpe``), so its exit
code, signals and stdin are its own. The command is looked up on the merged
``PATH``, as it would be after ``eval "$(envshim export)"``. Like a shell, a
command that cannot be found exits 127 and one that cannot be executed 126.
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import add_project_options, resolve_from_args

NOT_FOUND = 127
NOT_EXECUTABLE = 126


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-C", "--dir", default=".", metavar="DIR",
                        help="project directory (default: the current one)")  # fmt: skip
    add_project_options(parser, directory=False)
    parser.add_argument("--redact", action="store_true",
                        help="pipe the command's stdout and stderr through `envshim redact`")  # fmt: skip
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                        help="the command to run and its arguments")  # fmt: skip


def merged_environ(base: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """The base environment with envshim's changes applied (unsets removed)."""
    env = dict(base)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..shells.base import check
    from ..shells.json import JsonRenderer

    command = list(args.command)
    if command and command[0] == "--":
        command.pop(0)
    if not command:
        raise UsageError("nothing to run", hint="write the command after --: envshim run -- CMD")
    if not command[0]:
        raise UsageError("the command is an empty word", hint="envshim run -- CMD ARGS")
    resolution = resolve_from_args(args)
    changes = resolution.changes()
    # a name or value no environment can hold is an error naming its source, as in export
    check(JsonRenderer(), changes, {k: v.origin for k, v in resolution.vars.items()})
    env = merged_environ(dict(os.environ), changes)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if args.redact:  # envshim stays, between the command and the terminal
            from ..errors import printable
            from ..redact.child import redactor_for, run_redacted

            what = f"the output of {printable(command[0])}"
            return run_redacted(command, env, redactor_for(resolution, what))
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        sys.stderr.write(f"envshim: {command[0]}: command not found\n")
        return NOT_FOUND
    except PermissionError:
        what = "is a directory" if os.path.isdir(command[0]) else "permission denied"
        sys.stderr.write(f"envshim: {command[0]}: {what}\n")
        return NOT_EXECUTABLE
    except OSError as exc:  # ENOEXEC, a directory, …: found but cannot be executed
        sys.stderr.write(f"envshim: {command[0]}: {exc.strerror or 'cannot execute'}\n")
        return NOT_EXECUTABLE
    return 0  # pragma: no cover - execvpe does not return
