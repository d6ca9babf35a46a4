"""``envshim init``: set envshim up in this repository; a second run changes nothing."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mise",
        action="store_true",
        help="add `_.envshim = {}` to mise.toml and link the mise plugin",
    )
    parser.add_argument(
        "--direnv",
        action="store_true",
        help="write an .envrc with `use envshim` (default: only when direnv's hook is active)",
    )
    parser.add_argument(
        "--pre-commit",
        action="store_true",
        help="install `envshim scan --staged` as a git pre-commit hook",
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--from-dotenv",
        metavar="FILE",
        type=Path,
        help="move a plaintext dotenv file's values into secrets.enc.env (encrypted)",
    )
    src.add_argument(
        "--from-dotenvx",
        action="store_true",
        help="move dotenvx-encrypted .env files over to sops (needs their private keys)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="with --from-dotenv: keep the plaintext file (default: remove it once encrypted)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace values secrets.enc.env already holds with the imported ones",
    )
    parser.add_argument(
        "dir",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the repository (default: the current directory)",
    )


def run(args: argparse.Namespace) -> int:
    from ..init import Init, repository_root, run_init

    root = repository_root(Path(args.dir))
    source = args.from_dotenv
    if source is not None and not source.is_absolute():
        source = Path.cwd() / source
    it = Init(
        root=root,
        environ=dict(os.environ),
        mise=args.mise,
        pre_commit=args.pre_commit,
        from_dotenv=source,
        from_dotenvx=args.from_dotenvx,
        force=args.force,
        keep=args.keep,
        direnv=args.direnv,
    )
    try:
        run_init(it)
    finally:
        _report(it)
    return 0


def _report(it) -> None:
    lines = [f"{'+' if changed else '='} {message}" for changed, message in it.done]
    if it.done and not it.any_change:
        lines.append("nothing changed: envshim is already set up here")
    steps = list(dict.fromkeys(it.next_steps))
    if it.any_change:
        files = ["envshim.toml", ".sops.yaml", "secrets.enc.env", ".gitignore", *it.also_commit]
        steps.append(
            f"commit {', '.join(files[:-1])} and {files[-1]}; "
            "teammates run `envshim join`, then `envshim doctor`"
        )
    if steps:
        lines.append("next:")
        lines += [f"  {s}" for s in steps]
    if lines:  # after an error before any step, nothing (not an empty line above it)
        sys.stdout.write("\n".join(lines) + "\n")
