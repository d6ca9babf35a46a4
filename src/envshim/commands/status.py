"""``envshim status``: project root, profile, and the files that were read."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .common import add_project_options, resolve_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_project_options(parser)


def run(args: argparse.Namespace) -> int:
    resolution = resolve_from_args(args)
    by_layer: dict[str, list[str]] = {}
    for key, var in sorted(resolution.vars.items()):
        by_layer.setdefault(var.origin.layer, []).append(key)
    loaded = os.environ.get("ENVSHIM_STATE")
    if args.json:
        data = {
            "root": str(resolution.root),
            "profile": resolution.profile,
            "files": [str(p) for p in resolution.files],
            "watch": [str(p) for p in resolution.watch],
            "keys": by_layer,
            "hooked": loaded is not None,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    out = [
        f"project  {resolution.root}",
        f"profile  {','.join(resolution.profile) or '(none)'}",
        f"shell    {'hook state present' if loaded else 'not loaded by the envshim hook'}",
        "files read:",
        *(f"  {p}" for p in resolution.files),
    ]
    for layer in ("mise", "team", "user"):
        keys = by_layer.get(layer, [])
        if keys:
            out.append(f"{layer} ({len(keys)}): {' '.join(keys)}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0
