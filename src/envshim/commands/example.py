"""``envshim example [FILE|-]``: write ``.env.example`` with every variable envshim sets.

Non-secret values (the committed defaults) are written as they resolve; a
secret value (``ResolvedVar.secret``: team and user layers) is never written,
its line has an empty value and a comment saying where it comes from. The file
is dotenv as :func:`envshim.formats.dotenv.parse` reads it. An existing file is
kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .common import add_project_options, resolve_from_args

DEFAULT_NAME = ".env.example"
HEADER = (
    "# Every variable envshim sets for this project (made by `envshim example`).\n"
    "# Secret values are left empty: envshim gets them from the team's encrypted files\n"
    "# and your own store (`envshim doctor` says what is missing).\n\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", nargs="?", metavar="FILE",
                        help=f"where to write ('-' for stdout; default: {DEFAULT_NAME} "
                        "at the project root)")  # fmt: skip
    parser.add_argument("-C", "--dir", default=".", metavar="DIR",
                        help="project directory (default: the current one)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    add_project_options(parser, directory=False)


def example_text(resolution) -> str:
    from ..shells.dotenv import dotenv_quote

    lines = [HEADER]
    for key in sorted(resolution):
        var = resolution.vars[key]
        if key == "PATH":  # the machine's PATH plus `_.path` entries: not a default
            lines.append(f"# PATH is extended by {_where(var.origin, resolution.root)}\n")
            continue
        if var.secret:
            lines.append(f"# secret, from {_where(var.origin, resolution.root)}\n{key}=\n")
        else:
            lines.append(f"{key}={dotenv_quote(var.value or '')}\n")
    return "".join(lines)


def _where(origin, root: Path) -> str:
    if not origin.path:
        return origin.describe()
    try:
        return str(Path(origin.path).relative_to(root))
    except ValueError:
        return origin.path


def run(args: argparse.Namespace) -> int:
    from ..errors import EnvshimError

    resolution = resolve_from_args(args)
    text = example_text(resolution)
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
    sys.stderr.write(f"envshim: wrote {target} ({len(resolution)} variables)\n")
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
