"""``envshim doctor [--json] [--fix]``: check the whole chain; one line and one next step per problem."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .common import write_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--fix",
        action="store_true",
        help="do the safe fixes (chmod key files, create a key, .gitignore entries, "
        "direnv library) and say which",
    )
    parser.add_argument(
        "--shell",
        choices=("bash", "zsh", "fish", "elvish", "tcsh", "nu", "xonsh", "sh", "dash"),
        help="the shell to check (default: detected)",
    )
    parser.add_argument("--env", "-e", metavar="PROFILE", help="profile(s), comma separated")
    parser.add_argument(
        "dir",
        nargs="?",
        default=".",
        metavar="DIR",
        help="project directory (default: the current one)",
    )


def run(args: argparse.Namespace) -> int:
    from ..doctor import FAIL, Doctor, run_checks
    from .common import plural

    directory = Path(args.dir)
    if not directory.is_dir():
        from ..errors import UsageError

        raise UsageError(f"not a directory: {args.dir}")
    d = Doctor(
        cwd=directory.resolve(),
        environ=dict(os.environ),
        fix=args.fix,
        shell=args.shell,
        env=args.env,
    )
    results = run_checks(d)
    ok = not any(r.status == FAIL for r in results)
    if args.json:
        data = {"ok": ok, "checks": [r.as_dict() for r in results]}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        write_lines([r.line() for r in results])
        fixed = [r.fixed for r in results if r.fixed]
        if args.fix and not fixed:
            sys.stdout.write("nothing to fix automatically\n")
        failed = sum(r.status == FAIL for r in results)
        done = "all needed checks pass" if ok else f"{plural(failed, 'problem')} to fix"
        sys.stdout.write(done + "\n")
    return 0 if ok else 1
