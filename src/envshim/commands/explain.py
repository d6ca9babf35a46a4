"""``envshim explain KEY``: which layer won, where it was written, and what it shadowed.

Committed defaults are shown as written; secrets are masked unless ``--reveal``.
Without the key to a secret file, what opens is still explained, and a key that a
locked sops file sets (its names are plaintext) is named with the step that opens it.
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import add_project_options, write_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the variable to explain")
    parser.add_argument("--reveal", action="store_true", help="print the value itself")
    add_project_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..keys import JOIN_HINT
    from .keyless import resolve_what_opens, shown

    if not args.key:
        raise UsageError("name the variable to explain", hint="envshim explain NAME")
    resolution, locked = resolve_what_opens(args.dir, args.env, args.missing_key)
    for warning in resolution.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    root = resolution.root
    var = resolution.vars.get(args.key)
    setters = [lk for lk in locked if args.key in lk.names]
    user_wins = var is not None and var.origin.layer == "user"
    if setters and not user_wins:
        lk = setters[-1]  # later files win
        where = lk.describe(root, lk.names[args.key])
        write_lines([f"{args.key}: set by {where}, which you cannot decrypt; {JOIN_HINT}"])
        return 1
    if var is None:
        from ..trust import is_project

        note = ""
        if not is_project(root):
            note = " (no envshim or mise config here or above; `envshim init` sets one up)"
        elif locked:
            shown_locked = ", ".join(lk.describe(root) for lk in locked)
            note = f" (not decrypted, and may set it: {shown_locked}; {JOIN_HINT})"
        write_lines([f"{args.key}: not set by envshim in {root}{note}"])
        return 1
    kind = " (secret)" if var.secret else ""
    out = [
        f"{args.key} = {shown(var, args.reveal)}{kind}",
        f"  from     {var.origin.describe()}",
    ]
    for origin in reversed(var.shadowed):
        out.append(f"  shadows  {origin.describe()}")
    for lk in setters:  # your own value wins over a file you cannot open
        out.append(f"  shadows  team {lk.describe(root)} (you cannot decrypt it)")
    from ..exposure import describe, withheld_in_shell

    reason = withheld_in_shell(resolution, os.environ, args.env).get(args.key)
    if reason:
        out.append(f"  shells   {describe(reason)}")
    write_lines(out)
    return 0
