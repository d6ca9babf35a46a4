"""``envshim example [FILE|-]``: write ``.env.example`` with every variable envshim sets.

Only committed defaults are written as they resolve (:mod:`envshim.example` says
which): a secret, a value from the user store, from a file git does not track or
ignores, or from the caller's environment has an empty value and a comment
saying where it comes from. The file is dotenv as
:func:`envshim.formats.dotenv.parse` reads it. An existing file is kept unless
``--force``; outside any project nothing is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .common import add_project_options, plural, resolve_from_args

DEFAULT_NAME = ".env.example"
HEADER = (
    "# Every variable envshim sets for this project (made by `envshim example`).\n"
    "# Only defaults committed to git are written; every other value is left empty,\n"
    "# with a comment saying where envshim gets it (`envshim doctor` says what is missing).\n\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", nargs="?", metavar="FILE",
                        help=f"where to write ('-' for stdout; default: {DEFAULT_NAME} "
                        "at the project root)")  # fmt: skip
    parser.add_argument("-C", "--dir", default=".", metavar="DIR",
                        help="project directory (default: the current one)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    add_project_options(parser, directory=False)


def example_text(resolution, environ: dict[str, str] | None = None) -> tuple[str, int]:
    """The file's text, and how many values it leaves empty."""
    from ..example import Example

    example = Example(resolution, dict(os.environ if environ is None else environ))
    text = example.text(HEADER)
    if example.committed.top is None and example.left_empty:
        sys.stderr.write(
            f"envshim: warning: {example.committed.no_repo}, so no file is known to be "
            "committed: every value is left empty\n"
        )
    return text, example.left_empty


def run(args: argparse.Namespace) -> int:
    from ..errors import EnvshimError
    from ..project import find_root
    from ..trust import is_project

    here = Path(os.path.abspath(args.dir))
    if here.is_dir() and not is_project(find_root(here)):
        raise EnvshimError(
            f"no envshim or mise config in {here} or above, so there is nothing to describe",
            hint="`envshim init` sets one up",
        )
    resolution = resolve_from_args(args)
    text, empty = example_text(resolution)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.output) if args.output else resolution.root / DEFAULT_NAME
    if target.exists() and not args.force:
        raise EnvshimError(
            "exists already; envshim example does not overwrite it",
            path=target,
            hint="pass --force to replace it, or '-' to print instead",
        )
    _write(target, text)
    count = plural(len(resolution), "variable")
    sys.stderr.write(f"envshim: wrote {target} ({count}, {empty} left empty)\n")
    return 0


def _write(target: Path, text: str) -> None:
    """Atomically: a temp file in the same directory, fsync, rename (a committed file: 0644)."""
    import tempfile

    from ..errors import EnvshimError

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise EnvshimError(f"cannot write: {exc.strerror}", path=target) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        os.unlink(tmp)
        raise EnvshimError(f"cannot write: {exc.strerror}", path=target) from None
