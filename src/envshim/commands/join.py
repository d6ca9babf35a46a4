"""``envshim join``: your public key and the one command a maintainer runs to add you.

Creates an age identity first when you have none (0600 in a 0700 directory,
where sops looks for it), so a new teammate's first step is this one command.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print only the maintainer's command"
    )


def recipient_command(recipient: str) -> str:
    return f"envshim recipients add {shlex.quote(recipient)}"


def own_recipient(environ: dict[str, str], *, create: bool) -> tuple[str, str, bool]:
    """(public key, where it is, created now): the first age key, else the first identity."""
    from ..keys import default_key_file, load_identities, write_new_identity

    identities = load_identities(environ, warnings=[])
    if identities:
        chosen = next((i for i in identities if i.recipient.startswith("age1")), identities[0])
        return chosen.recipient, chosen.source, False
    if not create:
        return "", "", False
    path = default_key_file(environ)
    return write_new_identity(path), str(path), True


def run(args: argparse.Namespace) -> int:
    recipient, source, created = own_recipient(dict(os.environ), create=True)
    command = recipient_command(recipient)
    if args.quiet:
        sys.stdout.write(command + "\n")
        return 0
    lines = []
    if created:
        lines.append(
            f"created your age identity: {source} (private: keep it, back it up, never commit it)"
        )
    lines += [
        f"your public key ({source}):",
        f"  {recipient}",
        "send this line to a maintainer of the project; they run:",
        f"  {command}",
        "then, after they commit and you pull, `envshim doctor` checks that you can decrypt everything.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
