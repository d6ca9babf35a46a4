"""``envshim secrets encrypt``: a plaintext dotenv/yaml/json file into a sops (or age) file.

The names it holds are checked first (the file and line of a name no shell can
hold, or one a shell or envshim reserves); the output is never overwritten and
is written under its lock, to recipients the user confirmed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DecryptError
from .secrets import rule_for, say_recipients


def _plain_names(text: str, src: Path, out: Path, rule: Any) -> list[tuple[str, int | None]]:
    """The names a new sops file made from ``text`` would hold, with their lines in ``src``."""
    from ..formats import sops

    try:
        store = sops.store_for(out)
    except DecryptError:
        store = "binary"  # as sops: an unknown extension is the binary store
    if store == "binary":  # one blob; the team layer reads it as dotenv when it parses
        from ..formats.dotenv import parse

        try:
            return [(b.key, b.line) for b in parse(text, str(src))]
        except ConfigError:
            return []
    branches = sops.load_plain_branches(store, text, src)
    doc = sops.new_document(out, store, branches, rule)
    starts = {}  # a dotenv line's name, for the stores that keep no line numbers
    for number, raw in enumerate(text.splitlines(), 1):
        starts.setdefault(raw.split("=", 1)[0], number)
    return [(name, line or starts.get(name)) for name, _value, line in doc.values()]


def encrypt(args: argparse.Namespace, ctx: Any) -> int:
    from .. import names
    from ..formats import sops
    from .secrets_write import config_lock, confirm_recipients, file_locks, note_names

    src = Path(args.path)
    src = src if src.is_absolute() else ctx.cwd / src
    if not src.is_file():
        raise ConfigError(
            "no such file", path=src, hint="name a plaintext dotenv, yaml or json file"
        )
    if args.output:
        out = Path(args.output)
        out = out if out.is_absolute() else ctx.cwd / out
    else:
        out = (
            src.with_name(f"{src.stem}.enc{src.suffix}")
            if src.suffix
            else src.with_name(src.name + ".enc.env")
        )
    if sops.is_sops_file(src):
        raise ConfigError("already a sops file", path=src, hint="use `envshim secrets edit`")
    confirm_recipients(ctx, args)
    try:
        text = src.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=src, hint="secret files hold text") from None
    with config_lock(ctx), file_locks(ctx, [out]):
        if out.exists():
            raise ConfigError(
                "already exists; not overwriting it",
                path=out,
                hint="use `envshim secrets edit` to change it, or choose another -o",
            )
        if out.suffix == ".age":  # a plain age file holding the dotenv text
            from ..formats.age_write import AgeDocument

            doc = AgeDocument.empty(out)
            doc.replace_plaintext(text)
            found = [(name, line) for name, _value, line in doc.values()]
            names.check_all([n for n, _l in found], path=src, lines=dict(found))
            recipients = doc.save()
        else:
            rule = rule_for(out)
            found = _plain_names(text, src, out, rule)
            names.check_all([n for n, _l in found], path=src, lines=dict(found))
            sops.encrypt_plaintext(src, out, rule)
            recipients = [r for group in rule.groups for r in group]
    say_recipients(recipients)
    note_names(ctx, out, [n for n, _l in found])
    sys.stderr.write(
        f"envshim: wrote {out}; now delete the plaintext {src.name} (and if it was ever "
        "committed, purge it from git history and rotate its values)\n"
    )
    return 0
