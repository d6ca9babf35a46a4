"""``envshim allow [DIR]``, ``deny [DIR]``, ``prune``: trust records (trust.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..trust import AllowReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command = parser.get_default("command")
    if command == "allow":
        parser.add_argument(
            "--env", "-e", metavar="PROFILE", help="profile(s) whose config files to trust as well"
        )
    if command in ("allow", "deny"):
        parser.add_argument(
            "dir",
            nargs="?",
            default=".",
            metavar="DIR",
            help="project directory (default: the current one)",
        )


def _root(directory: str) -> Path:
    from ..project import find_root
    from ..trust import is_project

    here = Path(os.path.abspath(directory))
    if not here.is_dir():
        raise ConfigError("not a directory", path=here)
    root = find_root(here)
    if not is_project(root):
        raise ConfigError(
            "no envshim.toml or mise config here or above",
            path=here,
            hint="run `envshim init` to set up a project",
        )
    return root


def run(args: argparse.Namespace) -> int:
    from .. import trust

    if args.command == "prune":
        removed = trust.prune()
        for root in removed:
            sys.stdout.write(f"envshim: forgot {root}\n")
        from .common import plural

        directory = trust.trust_dir()
        kept = len(list(directory.glob("*.json"))) if directory.is_dir() else 0
        if removed:
            pruned, left = plural(len(removed), "record"), plural(kept, "allowed project")
            sys.stdout.write(f"envshim: pruned {pruned}; {left} kept\n")
        elif kept:
            sys.stdout.write(f"envshim: nothing to prune; every allowed project ({kept}) exists\n")
        else:
            sys.stdout.write("envshim: nothing to prune: no project is allowed\n")
        return 0
    root = _root(args.dir)
    if args.command == "deny":
        had = trust.deny(root)
        sys.stdout.write(f"envshim: {'denied' if had else 'was not allowed'}: {root}\n")
        return 0
    from ..doctor import Doctor
    from ..errors import EnvshimError

    # Secrets need not decrypt to trust the config that names them: a file no key of
    # yours opens is recorded with its names unknown (it loads after the next allow).
    # Nor need a `required` name be set yet (doctor's resolution stands in for it): the
    # user sets it after allowing, as `envshim doctor` lists the steps.
    here = Path(os.path.abspath(args.dir))
    resolution = Doctor(cwd=here, environ=dict(os.environ), env=args.env).resolution()
    if isinstance(resolution, EnvshimError):
        raise resolution
    report = trust.allow(root, resolution)
    _print_report(root, report)
    return 0


def _print_report(root: Path, report: AllowReport) -> None:
    """What this allow trusts, and what is new since the last one: files, names per
    source, recipients; names that take over a shell are listed apart."""
    from ..trust import printable, recipients

    out = sys.stdout
    record = report.record
    files = ", ".join(_rel(root, p) for p in record.files) or "no config files"
    out.write(f"envshim: allowed {printable(str(root))} ({files})\n")
    if not report.first:  # the first allow trusts everything listed above and below
        for path in report.added_files:
            out.write(f"  new file: {_rel(root, path)}\n")
        for path in report.changed_files:
            out.write(f"  changed: {_rel(root, path)}\n")
    for path, names in report.new_names.items():
        verb = "sets" if report.first else "may now set"
        out.write(f"  {_source(root, path)} {verb}: {', '.join(names)}\n")
    for path, entry in sorted(record.sources.items()):
        real = entry.get("real")
        if isinstance(real, str) and real != path:
            out.write(f"  {_source(root, path)} is a link to {_rel(root, real)}\n")
        if entry.get("names") is None:
            out.write(f"  {_source(root, path)}: names not known yet (no key of yours opens it)\n")
    for path, names in report.guarded.items():
        out.write(
            f"  guarded: {_source(root, path)} sets {', '.join(names)} "
            "(named in allow_guarded in envshim.toml)\n"
        )
    if report.new_recipients:
        shown = ", ".join(recipients.short(r) for r in report.new_recipients)
        verb = "encrypts" if report.first else "now also encrypts"
        out.write(f"  .sops.yaml {verb} to: {shown}\n")


def _source(root: Path, path: str) -> str:
    if "/users/" in path and not path.startswith(str(root)):
        return "your user store"
    return _rel(root, path)


def _rel(root: Path, path: str) -> str:
    from ..trust import rel

    return rel(root, path)
