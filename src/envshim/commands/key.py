"""``envshim key new|show``: your age identity (the private key never leaves its file)."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser(
        "new", help="create a new identity where sops looks for it (0600, never overwriting)"
    )
    p.add_argument("--file", metavar="PATH", help="where to write it (default: sops' keys.txt)")
    sub.add_parser("show", help="your public keys and where each comes from")


def run(args: argparse.Namespace) -> int:
    from ..keys import default_key_file, load_identities, write_new_identity

    environ = dict(os.environ)
    if args.action == "new":
        path = os.path.expanduser(args.file) if args.file else default_key_file(environ)
        try:
            public = write_new_identity(path)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the key file ({exc.strerror or type(exc).__name__})",
                path=path,
                hint="choose a --file in a directory you can write to",
            ) from None
        sys.stderr.write(f"envshim: created {path} (private: back it up, never commit it)\n")
        sys.stdout.write(public + "\n")
        return 0
    warnings: list[str] = []
    identities = load_identities(environ, warnings)
    for w in warnings:
        sys.stderr.write(f"envshim: warning: {w}\n")
    if not identities:
        raise ConfigError(
            "you have no age identity",
            hint="run `envshim join` (it creates one and prints the line a maintainer runs)",
        )
    width = max(len(i.recipient) for i in identities)
    sys.stdout.write("".join(f"{i.recipient:<{width}}  {i.source}\n" for i in identities))
    return 0
