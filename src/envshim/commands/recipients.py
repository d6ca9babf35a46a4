"""``envshim recipients list|add|rm``: who the team secrets are encrypted to.

``add`` puts the key into the ``.sops.yaml`` creation rules (comments kept)
and re-wraps every sops file's data key for the new set; plain ``.age`` secret
files are encrypted again to their creation rule's recipients. ``rm`` removes the
key, re-wraps, and rotates each file's data key, then lists every secret the
removed member could read: their old ciphertext stays in git history, so the
values themselves must be changed at their source.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .common import plural, write_lines
from .secrets_write import add_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        "-C",
        default=".",
        metavar="DIR",
        help="project directory (default: the current one)",
    )
    parser.add_argument("--env", "-e", metavar="PROFILE", help="profile(s), comma separated")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="the recipients of .sops.yaml and of each secret file")
    p = sub.add_parser("add", help="add an age or SSH public key and re-wrap every secret file")
    p.add_argument("key", metavar="AGE_OR_SSH_PUBKEY")
    add_flag(p)
    p = sub.add_parser("rm", help="remove a key, re-wrap and rotate every secret file")
    p.add_argument("key", metavar="KEY", help="the public key (or a unique prefix of it)")
    add_flag(p)


def _config(ctx: Any) -> Path:
    """The project's ``.sops.yaml``: never one above the project root (a ~/.sops.yaml is the user's)."""
    from ..sopsconfig import find_config

    found = find_config(ctx.root)
    if found is not None and found.parent.resolve() == ctx.root.resolve():
        return found
    return ctx.root / ".sops.yaml"


def _rel(path: Path, ctx: Any) -> str:
    for root in (ctx.root, ctx.root.resolve()):
        try:
            return str(path.relative_to(root))
        except ValueError:
            continue
    return str(path)


def _list(ctx: Any) -> int:
    from ..formats.sops import file_recipients
    from ..sopsconfig import all_rule_recipients
    from .secrets import all_sops_files

    config = _config(ctx)
    lines = []
    if config.exists():
        lines.append(f"{_rel(config, ctx)}:")
        lines += [f"  {r}" for r in all_rule_recipients(config)] or ["  (none)"]
    for path in all_sops_files(ctx):
        lines.append(f"{_rel(path, ctx)}:")
        lines += [f"  {r}" for r in file_recipients(path)] or ["  (none)"]
    if not lines:
        from ..trust import is_project

        if not is_project(ctx.root):
            sys.stderr.write(
                "envshim: no envshim or mise config here or above, so no recipients; "
                "`envshim init` sets one up\n"
            )
            return 0
        sys.stderr.write(
            "envshim: no .sops.yaml and no secret files yet; "
            "`envshim recipients add <age1…>` starts one\n"
        )
        return 0
    write_lines(lines)
    return 0


def _resolve_key(text: str, known: list[str]) -> str:
    from ..keys import normalize_recipient

    text = normalize_recipient(text)
    if text in known:
        return text
    hits = [k for k in known if k.startswith(text)] if text else []
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ConfigError(f"{text!r} matches {len(hits)} recipients", hint="give more of the key")
    raise ConfigError(
        f"{text[:24]!r} is not a recipient here", hint="`envshim recipients list` shows them"
    )


def _sops_paths(ctx: Any) -> list[Path]:
    from .secrets import all_sops_files

    return all_sops_files(ctx)


def _age_paths(ctx: Any) -> list[Path]:
    """Every file that may be a plain age secret file of the project (any profile)."""
    from .secrets import project_files

    candidates = list(project_files(ctx)) + sorted(ctx.root.glob("secrets*.age"))
    return list(dict.fromkeys(p.resolve() for p in candidates if p.is_file()))


def _open_all(ctx: Any, paths: list[Path]) -> list[Any]:
    """Every sops secret file, decrypted first: nothing is written unless all of them open."""
    from ..formats.sops import open_document
    from .secrets import identities

    ids = identities(ctx)
    return [open_document(p, ids) for p in paths]


class _AgeFile:
    """A plain age secret file, decrypted in memory so it can be encrypted to a new recipient set."""

    def __init__(self, path: Path, plain: bytes, armored: bool) -> None:
        self.path = path
        self.plain = plain
        self.armored = armored

    def names(self) -> list[str]:
        from ..formats.dotenv import parse

        try:
            return [b.key for b in parse(self.plain.decode("utf-8"), str(self.path))]
        except (ConfigError, UnicodeDecodeError):
            return ["(the whole file)"]

    def save(self, ctx: Any) -> int:
        """Encrypt to the .sops.yaml creation rule's recipients for this file; how many."""
        import pyrage

        from ..atomic import replace_preserving_mode
        from ..keys import parse_recipient
        from ..sopsconfig import creation_rule

        rule = creation_rule(self.path)
        recipients = [r for group in rule.groups for r in group]
        data = pyrage.encrypt(
            self.plain, [parse_recipient(r) for r in recipients], armored=self.armored
        )
        replace_preserving_mode(self.path, data)
        return len(recipients)


def _age_files(ctx: Any, paths: list[Path]) -> list[_AgeFile]:
    """The plain age secret files among ``paths``, decrypted first."""
    from ..formats.age import ARMOR_BEGIN, decrypt_bytes, is_age
    from .secrets import identities

    out = []
    ids = None
    for path in paths:
        data = path.read_bytes()
        if not is_age(data[:4096]):
            continue
        ids = identities(ctx) if ids is None else ids
        plain = decrypt_bytes(data, ids, path)
        out.append(_AgeFile(path, plain, data.lstrip().startswith(ARMOR_BEGIN)))
    return out


def _inline_age_values(ctx: Any) -> list[str]:
    """``file: KEY`` for every mise inline age value (``K = { age = … }``) at the project root.

    envshim does not re-encrypt these (mise owns that format); they are listed
    so that adding or removing a member does not silently miss them.
    """
    import tomllib

    found = []
    names = ["mise.toml", ".mise.toml", ".config/mise.toml", "mise.local.toml"]
    names += sorted(p.name for p in ctx.root.glob("mise.*.toml"))
    for name in dict.fromkeys(names):
        path = ctx.root / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        env = data.get("env")
        for table in env if isinstance(env, list) else [env]:
            if not isinstance(table, dict):
                continue
            for key, value in table.items():
                if isinstance(value, dict) and "age" in value:
                    found.append(f"{_rel(path, ctx)}: {key}")
    return found


def _say_inline(inline: list[str]) -> None:
    if inline:
        sys.stderr.write(
            "envshim: warning: mise inline age values are not re-encrypted by envshim: "
            + ", ".join(inline)
            + "; run `mise set --age-encrypt KEY=…` for each with the new recipients\n"
        )


def _single_group(docs: list[Any]) -> None:
    for doc in docs:
        if len(doc.md.groups) > 1:
            raise ConfigError(
                "this file uses sops key groups (Shamir); envshim does not change their membership",
                path=doc.path,
                hint="edit the key_groups in .sops.yaml and run `sops updatekeys`",
            )


@contextmanager
def _locked_project(ctx: Any) -> Iterator[tuple[list[Path], list[Path]]]:
    """``.sops.yaml``'s lock, then every secret file's (listed after it: no writer can add
    one meanwhile); yields the sops and the age file paths."""
    from .secrets_write import config_lock, file_locks

    with config_lock(ctx):
        sops_paths, age_paths = _sops_paths(ctx), _age_paths(ctx)
        with file_locks(ctx, [*sops_paths, *age_paths]):
            yield sops_paths, age_paths


def _config_bytes(config: Path) -> bytes | None:
    try:
        return config.read_bytes()
    except OSError:
        return None


def _note(ctx: Any, config: Path, old: bytes | None) -> None:
    """This user's own change: the recipients they now have are confirmed, and a
    ``.sops.yaml`` they had allowed stays allowed."""
    from .. import trust

    trust.note_recipients(ctx.root, trust.sops_recipients(ctx.root), ctx.environ)
    if config.parent.resolve() == ctx.root.resolve():
        trust.keep_allowed(ctx.root, config, old, ctx.environ)


def _add(ctx: Any, key: str, args: argparse.Namespace) -> int:
    from ..keys import normalize_recipient, parse_recipient
    from ..sopsconfig import edit_recipients
    from .secrets_write import confirm_recipients

    parse_recipient(key)
    key = normalize_recipient(key)
    config = _config(ctx)
    with _locked_project(ctx) as (sops_paths, age_paths):
        docs = _open_all(ctx, sops_paths)
        _single_group(docs)
        ages = _age_files(ctx, age_paths)
        confirm_recipients(ctx, args, named=key)  # the key typed here is confirmed by it
        from .secrets import named_files

        old = _config_bytes(config)
        targets = [d.path for d in docs] + [a.path for a in ages]
        edit_recipients(
            config, targets or named_files(ctx) or [ctx.root / "secrets.enc.env"], add=key
        )
        _note(ctx, config, old)
        _save_ages(ages, ctx)
        for doc in docs:
            current = doc.md.recipients()
            if key in current:
                continue
            doc.set_recipients([*current, key])
            doc.save()
            sys.stderr.write(
                f"envshim: {_rel(doc.path, ctx)}: data key wrapped for "
                f"{plural(len(doc.recipients), 'recipient')}\n"
            )
    sys.stderr.write(
        f"envshim: added {key} to {_rel(config, ctx)}; commit it and the secret files\n"
    )
    _say_inline(_inline_age_values(ctx))
    return 0


def _unnamed_recipients(ctx: Any, docs: list[Any], key: str, config: Path) -> list[str]:
    """Recipients a file keeps after ``key`` goes that neither ``.sops.yaml`` nor the user's
    own keys name: a rotation would hand them the new data key (a file's own recipient
    list is not covered by its MAC, so a forged entry would otherwise be rewarded)."""
    from ..keys import normalize_recipient
    from ..sopsconfig import all_rule_recipients
    from .secrets import identities

    known = {
        normalize_recipient(r) for r in (all_rule_recipients(config) if config.exists() else [])
    }
    known |= {normalize_recipient(i.recipient) for i in identities(ctx)}
    out: list[str] = []
    for doc in docs:
        if key in doc.md.recipients():
            out += [
                r
                for r in doc.md.recipients()
                if r != key and normalize_recipient(r) not in known and r not in out
            ]
    return out


def _rm(ctx: Any, key: str, args: argparse.Namespace) -> int:
    from ..sopsconfig import all_rule_recipients, edit_recipients
    from .secrets_write import FLAG, confirm_recipients

    config = _config(ctx)
    with _locked_project(ctx) as (sops_paths, age_paths):
        docs = _open_all(ctx, sops_paths)
        known = list(
            dict.fromkeys(
                [
                    *(all_rule_recipients(config) if config.exists() else []),
                    *(r for d in docs for r in d.md.recipients()),
                ]
            )
        )
        key = _resolve_key(key, known)
        confirm_recipients(ctx, args, named=key)  # removing a stranger needs no confirmation
        unnamed = _unnamed_recipients(ctx, docs, key, config)
        if unnamed and not args.trust_recipients:
            from ..trust.recipients import short

            raise ConfigError(
                "the secret files are also encrypted to "
                + ", ".join(short(r) for r in unnamed)
                + ", which .sops.yaml does not name; nothing was written",
                hint=f"remove them too with `envshim recipients rm`, or repeat with {FLAG} "
                "to keep them",
            )
        ages = _age_files(ctx, age_paths)
        exposed: list[str] = []
        for doc in docs:
            if key in doc.md.recipients():
                exposed += [f"{_rel(doc.path, ctx)}: {name}" for name in doc.names()]
        rule_had_key = config.exists() and key in all_rule_recipients(config)
        for age_file in ages:  # age files do not record their recipients: assume the rule's
            if rule_had_key:
                exposed += [f"{_rel(age_file.path, ctx)}: {name}" for name in age_file.names()]
        inline = _inline_age_values(ctx)
        exposed += [f"{item} (mise inline age, not re-encrypted)" for item in inline]
        _single_group(docs)
        for doc in docs:
            if key in doc.md.recipients() and len(doc.md.recipients()) == 1:
                raise ConfigError(
                    "removing this key would leave no recipient",
                    path=doc.path,
                    hint="add the new recipient first",
                )
        if config.exists():
            old = _config_bytes(config)
            edit_recipients(config, [d.path for d in docs] + [a.path for a in ages], remove=key)
            _note(ctx, config, old)
        _save_ages(ages, ctx)
        for doc in docs:
            remaining = [r for r in doc.md.recipients() if r != key]
            if key not in doc.md.recipients():
                continue
            doc.set_recipients(remaining)
            doc.rotate()
            doc.save()
            sys.stderr.write(
                f"envshim: {_rel(doc.path, ctx)}: re-wrapped for "
                f"{plural(len(remaining), 'recipient')} with a new data key\n"
            )
    _say_inline(inline)
    if exposed:
        lines = [
            f"removed {key}. It could read these secrets; rotate at source: git history "
            "keeps the old ciphertext:"
        ]
        lines += [f"  {e}" for e in exposed]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        sys.stdout.write(f"removed {key}; it was not a recipient of any secret file\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..hardening import forbid_core_dumps
    from .secrets import project_context

    ctx = project_context(args)
    if args.action == "list":
        return _list(ctx)
    forbid_core_dumps()  # add and rm decrypt every secret file
    if args.action == "add":
        return _add(ctx, args.key, args)
    return _rm(ctx, args.key, args)


def _save_ages(ages: list[Any], ctx: Any) -> None:
    """Write each age file again for the new recipient list, saying so."""
    for age_file in ages:
        count = age_file.save(ctx)
        sys.stderr.write(
            f"envshim: {_rel(age_file.path, ctx)}: encrypted again for "
            f"{plural(count, 'recipient')}\n"
        )
