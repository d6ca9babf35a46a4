"""Options shared by several commands."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    import argparse

    from ..merge import Resolution


def add_project_options(parser: argparse.ArgumentParser, *, directory: bool = True) -> None:
    parser.add_argument(
        "--env",
        "-e",
        metavar="PROFILE",
        help="profile(s), comma separated (default: $ENVSHIM_ENV, then $MISE_ENV)",
    )
    parser.add_argument(
        "--missing-key",
        choices=("error", "warn", "skip"),
        help="when no identity can decrypt a secret file (default: $ENVSHIM_MISSING_KEY or error)",
    )
    if directory:
        parser.add_argument(
            "dir",
            nargs="?",
            default=".",
            metavar="DIR",
            help="project directory (default: the current one)",
        )


def resolve_from_args(
    args: argparse.Namespace, *, from_mise: bool = False, withhold: str | None = None
) -> Resolution:
    from ..resolve import resolve

    resolution = resolve(
        args.dir, args.env, missing_key=args.missing_key, from_mise=from_mise, withhold=withhold
    )
    for warning in resolution.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    return resolution


def mask(value: str | None) -> str:
    """What listings show instead of a value: its length, never its content."""
    if value is None:
        return "(unset)"
    return f"•••• ({plural(len(value), 'char')})"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 key``, ``2 keys``: a count with its noun in the right number."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def write_lines(lines: list[str]) -> None:
    """Print a listing's lines with control characters escaped: a file, directory or
    key name cannot clear the screen or set the clipboard (OSC 52) through envshim."""
    from ..errors import printable

    sys.stdout.write("".join(printable(line) + "\n" for line in lines))
