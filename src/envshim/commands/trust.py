"""``envshim allow [DIR]``, ``deny [DIR]``, ``prune``: trust records (trust.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ConfigError


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
        for root in trust.prune():
            sys.stdout.write(f"envshim: forgot {root}\n")
        return 0
    root = _root(args.dir)
    if args.command == "deny":
        had = trust.deny(root)
        sys.stdout.write(f"envshim: {'denied' if had else 'was not allowed'}: {root}\n")
        return 0
    from ..resolve import resolve

    # Secrets need not decrypt to trust the config that names them.
    resolution = resolve(args.dir, args.env, missing_key="skip")
    files = trust.config_files(resolution)
    before = trust.load_record(root)
    if before is not None:  # keep other profiles' files (mise.staging.toml) trusted too
        files += [Path(p) for p in before.files if Path(p) not in files and Path(p).is_file()]
    record = trust.allow(root, files)
    names = ", ".join(_rel(root, p) for p in record.files) or "no config files"
    sys.stdout.write(f"envshim: allowed {root} ({names})\n")
    added = sorted(set(record.recipients) - set(before.recipients if before else []))
    if before is not None and added:
        sys.stdout.write("envshim: .sops.yaml now also encrypts to " + ", ".join(added) + "\n")
    return 0


def _rel(root: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
