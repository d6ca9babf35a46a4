"""``envshim export [FORMAT] [DIR]``: the merged environment, all or nothing on stdout."""

from __future__ import annotations

import argparse
import sys

from ..shells import FORMATS
from .common import add_project_options, resolve_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="*", metavar="[FORMAT] [DIR]",
                        help=f"output format ({', '.join(FORMATS)}; default bash) and/or directory")
    parser.add_argument("--format", "-f", dest="format", help="output format (same as the positional)")
    parser.add_argument("--hook", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--direnv", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--from-mise", action="store_true",
                        help="leave out the mise layer (used by the mise plugin)")
    add_project_options(parser, directory=False)


def _split_target(args: argparse.Namespace, parser_error) -> None:  # noqa: ANN001
    fmt, directory = args.format, "."
    target = list(args.target)
    if len(target) > 2:
        parser_error("at most a format and a directory")
    if target and target[0] in FORMATS and (fmt is None or len(target) == 2):
        fmt = target.pop(0)
    if target:
        directory = target.pop(0)
    if target:
        parser_error("at most one directory")
    args.format, args.dir = fmt or "bash", directory


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    def error(msg: str) -> None:
        raise UsageError(msg)

    _split_target(args, error)
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
    """Resolve and render completely before anything is printed."""
    from ..shells import get_renderer
    from ..shells.base import check

    renderer = get_renderer(args.format)
    resolution = resolve_from_args(args, from_mise=args.from_mise)
    changes = resolution.changes()
    check(renderer, changes, {k: v.origin for k, v in resolution.vars.items()})
    return renderer.render(changes)
