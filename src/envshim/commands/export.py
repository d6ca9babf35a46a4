"""``envshim export [FORMAT] [DIR]``: the merged environment, all or nothing on stdout.

Everything is resolved, checked and rendered before the first byte is printed,
so ``eval "$(envshim export bash)"`` applies all or nothing. Exit codes: 0 ok,
1 runtime error (a bad file, a missing value), 2 usage error.
"""

from __future__ import annotations

import os
import sys

from ..shells import FORMATS
from .common import add_project_options, resolve_from_args

TYPE_CHECKING = False  # argparse only when the command line needs it (envshim.cli)
if TYPE_CHECKING:
    import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import argparse

    parser.add_argument(
        "target",
        nargs="*",
        metavar="[FORMAT] [DIR]",
        help=f"output format ({', '.join(FORMATS)}; default bash) and/or directory",
    )
    parser.add_argument(
        "--format", "-f", dest="format", help="output format (same as the positional)"
    )
    parser.add_argument("--hook", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--direnv", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--include-exec-only",
        action="store_true",
        help="also print values marked exec_only (kept out of shells; `envshim run` gets them)",
    )
    parser.add_argument(
        "--from-mise",
        action="store_true",
        help="leave out the mise layer (used by the mise plugin)",
    )
    k8s = parser.add_argument_group("--format k8s")
    k8s.add_argument("--allowlist", metavar="FILE",
                     help="the names the Secret may hold, one per line (required)")  # fmt: skip
    k8s.add_argument("--name", help="the Secret's name (default: the project directory's)")
    k8s.add_argument("--namespace", help="the Secret's namespace")
    add_project_options(parser, directory=False)


def _split_target(args: argparse.Namespace) -> None:
    from ..errors import UsageError

    fmt, directory = args.format, "."
    target = list(args.target)
    if len(target) > 2:
        raise UsageError("at most a format and a directory")
    if target and target[0] in FORMATS and (fmt is None or len(target) == 2):
        if fmt is not None:
            raise UsageError("the format is given twice")
        fmt = target.pop(0)
    if len(target) == 1 and not os.path.isdir(target[0]):
        # one word that is neither: most likely a mistyped format
        raise UsageError(f"{target[0]!r} is neither a format nor a directory",
                         hint=f"formats are {', '.join(FORMATS)}")  # fmt: skip
    if target:
        directory = target.pop(0)
    if target:
        raise UsageError(f"{target[0]!r}: at most one directory",
                         hint=f"formats are {', '.join(FORMATS)}")  # fmt: skip
    args.format, args.dir = fmt or "bash", directory
    if args.format not in FORMATS:
        raise UsageError(
            f"unknown format {args.format!r}", hint=f"choose one of {', '.join(FORMATS)}"
        )
    k8s_only = [f"--{o}" for o in ("allowlist", "name", "namespace") if getattr(args, o, None)]
    if k8s_only and args.format != "k8s":
        raise UsageError(f"{k8s_only[0]} applies only to --format k8s")


def run(args: argparse.Namespace) -> int:
    _split_target(args)
    if args.hook:
        from ..hook import hook_export

        return hook_export(args)
    if args.direnv:
        from ..direnv import direnv_export

        return direnv_export(args)
    text = render(args)
    sys.stdout.write(text)
    return 0


def render(args: argparse.Namespace) -> str:
    """Resolve, check and render completely (any side effect included) before printing."""
    from ..shells import get_renderer
    from ..shells.base import ExportContext, check

    renderer = get_renderer(args.format)
    include = getattr(args, "include_exec_only", False)
    withhold = None if include else "exec-only"
    resolution = resolve_from_args(args, from_mise=args.from_mise, withhold=withhold)
    if resolution.withheld:
        names = ", ".join(sorted(resolution.withheld))
        sys.stderr.write(
            f"envshim: exec-only, not exported: {names} (`envshim run -- CMD` gets them; "
            "--include-exec-only prints them)\n"
        )
    changes = resolution.changes()
    check(renderer, changes, {k: v.origin for k, v in resolution.vars.items()})
    ctx = ExportContext(
        secret=frozenset(resolution.secret_keys()),
        options={o: getattr(args, o, None) for o in ("allowlist", "name", "namespace")},
        environ=os.environ,
        root=str(resolution.root),
    )
    return renderer.emit(changes, ctx)
