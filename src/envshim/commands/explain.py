"""``envshim explain KEY``: which layer won, where it was written, and what it shadowed."""

from __future__ import annotations

import argparse
import sys

from .common import add_project_options, mask, resolve_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the variable to explain")
    parser.add_argument("--reveal", action="store_true", help="print the value itself")
    add_project_options(parser)


def run(args: argparse.Namespace) -> int:
    resolution = resolve_from_args(args)
    var = resolution.vars.get(args.key)
    if var is None:
        sys.stdout.write(f"{args.key}: not set by envshim in {resolution.root}\n")
        return 1
    shown = var.value if args.reveal and var.value is not None else mask(var.value)
    kind = " (secret)" if var.secret else ""
    out = [f"{args.key} = {shown}{kind}", f"  from     {var.origin.describe()}"]
    for origin in reversed(var.shadowed):
        out.append(f"  shadows  {origin.describe()}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0
