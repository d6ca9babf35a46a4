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
    lines += [f"your public key ({source}):", f"  {recipient}"]
    have, missing = project_files(recipient)
    if have and not missing:
        lines.append(
            f"you are already a recipient of this project's secret files ({', '.join(have)})"
        )
        lines.append("to join another project, send a maintainer this line:")
    else:
        if missing:
            lines.append(f"not encrypted to you yet: {', '.join(missing)}")
        lines.append("send this line to a maintainer of the project; they run:")
    lines += [
        f"  {command}",
        "then, after they commit and you pull, `envshim doctor` checks that you can decrypt everything.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def project_files(recipient: str) -> tuple[list[str], list[str]]:
    """(sops files here encrypted to ``recipient``, those that are not); empty outside a project."""
    from pathlib import Path

    from ..doctor import Doctor, file_recipients
    from ..errors import EnvshimError
    from ..keys import normalize_recipient

    have: list[str] = []
    missing: list[str] = []
    try:
        d = Doctor(cwd=Path.cwd(), environ=dict(os.environ))
        for path in d.team_files() or []:
            listed = file_recipients(path)
            if listed is None:
                continue
            mine = normalize_recipient(recipient) in {normalize_recipient(r) for r in listed}
            (have if mine else missing).append(d.rel(path))
    except EnvshimError:
        return [], []  # a broken project config is doctor's to report, not join's
    return have, missing
