"""``envshim scan``: find the current secret values in files, staged changes, notebooks, history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_project_options, plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--staged",
        action="store_true",
        help="scan what is staged for the next commit (the pre-commit hook)",
    )
    where.add_argument(
        "--all",
        action="store_true",
        help="every file under the project, ignored ones too (not .git)",
    )
    where.add_argument(
        "--history", action="store_true", help="every file version in the git history of every ref"
    )
    where.add_argument(
        "--install",
        action="store_true",
        help="add `envshim scan --staged` to .git/hooks/pre-commit",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="limit the scan to these files or directories"
    )
    parser.add_argument("--min-length", type=int, default=None, help=argparse.SUPPRESS)
    add_project_options(parser, directory=False)


def run(args: argparse.Namespace) -> int:
    from .. import scan

    cwd = Path.cwd()
    if args.install:
        from ..scan import install_hook

        message = install_hook(cwd)
        sys.stdout.write(message + "\n")
        return 0
    for p in args.paths:
        if not Path(p).exists():
            from ..errors import UsageError

            raise UsageError(f"no such file or directory: {p}")
    resolution = _resolve(args)
    secrets = scan.secret_values(resolution)
    min_length = args.min_length or scan.MIN_LENGTH
    needles, skipped = scan.build_needles(secrets, min_length)
    report = scan.Report(skipped_short=skipped)
    if skipped:
        sys.stderr.write(
            f"envshim scan: not looking for {plural(len(skipped), 'value')} shorter than "
            f"{plural(min_length, 'character')} (they would match everywhere): "
            f"{', '.join(skipped)}\n"
        )
    if not needles:
        sys.stderr.write(
            "envshim scan: no secret values to look for (no team or user values here)\n"
        )
        return 0
    root = Path(resolution.root)
    if args.staged:
        scan.scan_staged(root, needles, report, args.paths)
    elif args.history:
        scan.scan_history(root, needles, report, args.paths)
    else:
        scan.scan_working_tree(root, needles, report, args.paths, everything=args.all)
    from ..errors import printable

    for warning in report.warnings:  # they name files: a name may hold terminal escapes
        sys.stderr.write(f"envshim scan: warning: {printable(warning)}\n")
    for line in scan.iter_lines(report):
        sys.stdout.write(line + "\n")
    keys = len({k for n in needles for k in n.keys})
    if report.findings:
        sys.stderr.write(
            f"envshim scan: {plural(len(report.findings), 'finding')} of "
            f"{plural(keys, 'secret value')} in {plural(report.scanned, 'file')} scanned; "
            "remove them (and rotate any value that was pushed)\n"
        )
        return 1
    sys.stderr.write(
        f"envshim scan: clean: {plural(keys, 'secret value')}, "
        f"{plural(report.scanned, 'file')} scanned\n"
    )
    return 0


def _resolve(args: argparse.Namespace):
    """The secrets to look for; a missing mise `required` key does not stop a scan (or a commit)."""
    import os

    from ..doctor import Doctor
    from ..errors import EnvshimError

    d = Doctor(cwd=Path.cwd(), environ=dict(os.environ), env=args.env, missing_key=args.missing_key)
    resolution = d.resolution()
    if isinstance(resolution, EnvshimError):
        raise resolution
    for warning in resolution.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    return resolution
