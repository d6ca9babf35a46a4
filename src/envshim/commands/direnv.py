"""``envshim direnv install``: put ``use_envshim`` where direnv's stdlib finds it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    install = sub.add_parser("install", help="write ~/.config/direnv/lib/envshim.sh")
    install.add_argument("--print-path", action="store_true", help="only print where the file goes")


def lib_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where direnv's stdlib sources ``lib/*.sh`` from: ``<config home>/direnv/lib``."""
    from ..paths import config_home

    return config_home(os.environ if environ is None else environ) / "direnv" / "lib" / "envshim.sh"


def run(args: argparse.Namespace) -> int:
    from ..atomic import write_atomic
    from .hook import hook_text

    path = lib_path()
    if args.print_path:
        sys.stdout.write(f"{path}\n")
        return 0
    # not a secret: readable like the rest of direnv's lib, in an ordinary directory
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, hook_text("direnv"), mode=0o644, dir_mode=0o755)
    sys.stdout.write(
        f"envshim: wrote {path}\n"
        "envshim: add `use envshim` to a project's .envrc, then `direnv allow`\n"
    )
    return 0
