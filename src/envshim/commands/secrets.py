"""``envshim secrets``: list, get, set, rm, edit and encrypt team secrets (sops files).

Files envshim writes stay sops files that the real ``sops`` reads and edits.
Values never travel in argv unless you put them there (``set KEY VALUE`` warns),
never appear in listings without ``--reveal``, and ``edit`` keeps its
plaintext in a private directory on tmpfs that is removed on every exit path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from .common import write_lines
from .secrets_write import add_flag

NEW_FILE = "secrets.enc.env"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        "-C",
        default=".",
        metavar="DIR",
        help="project directory (default: the current one)",
    )
    parser.add_argument("--env", "-e", metavar="PROFILE", help="profile(s), comma separated")
    parser.add_argument(
        "--file", "-f", metavar="FILE", help="the secret file to use (default: the project's files)"
    )
    add_flag(parser)
    # --file may also follow the action (`secrets set KEY --file x.enc.env`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--file", "-f", metavar="FILE", default=argparse.SUPPRESS, help="the secret file to use"
    )
    add_flag(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def add(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    p = add("list", help="keys and where they come from (values masked)")
    p.add_argument("--reveal", action="store_true", help="show the values")
    p = add("get", help="print one value")
    p.add_argument("key")
    p = add("set", help="set one value (from stdin with -, else a hidden prompt)")
    p.add_argument("key")
    p.add_argument("value", nargs="?", help="'-' reads stdin; omit for a hidden prompt")
    p = add("rm", help="remove one key")
    p.add_argument("key")
    # not add(): its FILE is the positional, described once (--file still works, unlisted)
    p = sub.add_parser("edit", help="edit a secret file in $VISUAL/$EDITOR")
    p.add_argument("--file", "-f", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument(
        "path",
        nargs="?",
        metavar="FILE",
        help="the secret file to edit (default: the project's secret file)",
    )
    p = add("encrypt", help="encrypt a plaintext dotenv/yaml/json file into a sops file")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--output", "-o", metavar="OUT", help="default: NAME.enc.EXT next to FILE")


# --- shared with recipients.py -----------------------------------------------


def project_context(args: argparse.Namespace) -> Any:
    """A LayerContext for the project at ``--dir``, as the team layer sees it."""
    from ..layers.base import LayerContext
    from ..project import find_project

    environ = dict(os.environ)
    project = find_project(args.dir, getattr(args, "env", None), environ)
    return LayerContext(
        cwd=project.cwd,
        root=project.root,
        profiles=project.profiles,
        environ=environ,
        options=dict(project.options),
    )


def project_files(ctx: Any) -> list[Path]:
    """The project's secret files that exist (a file the options name but that is missing
    is not an error here: these commands are how it gets created)."""
    from ..layers import team

    try:
        return team.secret_files(ctx)
    except ConfigError:
        return [p for p, _required in team.candidate_files(ctx) if p.is_file()]


def named_files(ctx: Any) -> list[Path]:
    """The files the ``files`` option names for the active profiles, present or not."""
    from ..layers import team

    if ctx.options.get("files") is None:
        return []
    try:
        return [p for p, _required in team.candidate_files(ctx)]
    except ConfigError:
        return []


def sops_files(ctx: Any) -> list[Path]:
    from ..formats.sops import is_sops_file

    return [p for p in project_files(ctx) if is_sops_file(p)]


def all_sops_files(ctx: Any) -> list[Path]:
    """Every sops secret file of the project, whatever the profile (for re-keying all of them).

    The active profiles' files, plus every profile variant of the conventional
    names and of the ``files`` option found on disk.
    """
    from ..formats.sops import is_sops_file

    found = list(project_files(ctx))
    patterns = [
        "secrets.*.enc.env",
        "secrets.*.enc.yaml",
        "secrets.*.enc.yml",
        "secrets.*.enc.json",
    ]
    option = ctx.options.get("files")
    names: list[str] = []
    if isinstance(option, dict):
        for value in option.values():
            names += [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
    elif isinstance(option, list):
        names += [v for v in option if isinstance(v, str)]
    elif isinstance(option, str):
        names.append(option)
    for name in names:
        patterns.append(name.replace("{profile}", "*"))
    for pattern in patterns:
        found += sorted(ctx.root.glob(pattern))
    unique = list(dict.fromkeys(p.resolve() for p in found if p.is_file()))
    return [p for p in unique if is_sops_file(p)]


def identities(ctx: Any) -> list[Any]:
    from ..keys import load_identities

    warnings: list[str] = []
    found = load_identities(ctx.environ, warnings)
    for w in warnings:
        sys.stderr.write(f"envshim: warning: {w}\n")
    return found


def _explicit(args: argparse.Namespace, ctx: Any) -> Path | None:
    if not args.file:
        return None
    path = Path(args.file)
    return path if path.is_absolute() else (ctx.cwd / path)


def rule_for(path: Path) -> Any:
    from ..sopsconfig import creation_rule

    return creation_rule(path.resolve() if path.exists() else path.parent.resolve() / path.name)


# --- actions ------------------------------------------------------------------


def _relative(where: str, cwd: Path) -> str:
    """``path:line`` with the path relative to the working directory when it is below it."""
    prefix = str(cwd) + os.sep
    return where[len(prefix) :] if where.startswith(prefix) else where


def _read_explicit(path: Path, ctx: Any) -> list[tuple[str, str, int | None]]:
    """The values of a file named with ``--file``: sops (MAC checked) or plain age."""
    if not path.is_file():
        raise ConfigError("no such file", path=path, hint="check the --file name")
    if _is_age_file(path):
        from ..formats.age_write import AgeDocument

        return AgeDocument.open(path, identities(ctx)).values()
    from ..formats.sops import decrypt_file

    return decrypt_file(path, identities(ctx))


def _list(args: argparse.Namespace, ctx: Any) -> int:
    from .common import mask

    explicit = _explicit(args, ctx)
    rows: list[tuple[str, str, str]] = []
    if explicit is not None:
        for key, value, line in _read_explicit(explicit, ctx):
            where = f"{explicit}:{line}" if line else str(explicit)
            rows.append((key, value, where))
    else:
        from ..layers.team import load_team

        ctx.missing_key = "error"
        for entry in load_team(ctx):
            o = entry.origin
            where = f"{o.path}:{o.line}" if o.path and o.line else (o.path or o.detail)
            rows.append((entry.key, entry.value or "", where))
        for w in ctx.warnings:
            sys.stderr.write(f"envshim: warning: {w}\n")
    if not rows:
        sys.stderr.write("envshim: no team secrets in this project\n")
        return 0
    width = max(len(k) for k, _v, _w in rows)
    shown_rows = [(k, v if args.reveal else mask(v), _relative(w, ctx.cwd)) for k, v, w in rows]
    vwidth = max(len(v) for _k, v, _w in shown_rows)
    out = [f"{k:<{width}}  {v:<{vwidth}}  {w}" for k, v, w in shown_rows]
    write_lines(out)
    return 0


def _get(args: argparse.Namespace, ctx: Any) -> int:
    explicit = _explicit(args, ctx)
    if explicit is not None:
        found = [v for k, v, _l in _read_explicit(explicit, ctx) if k == args.key]
    else:
        from ..layers.team import load_team

        found = [e.value or "" for e in load_team(ctx) if e.key == args.key]
    if not found:
        raise ConfigError(
            f"{args.key} is not a team secret here", hint="`envshim secrets list` shows the keys"
        )
    sys.stdout.write(found[-1] + "\n")
    return 0


def _read_value(args: argparse.Namespace) -> str:
    if args.value not in (None, "-"):
        sys.stderr.write(
            "envshim: warning: a value on the command line is visible to other "
            "processes and kept in shell history; prefer `-` (stdin) or the prompt\n"
        )
        return args.value
    if args.value == "-" or not sys.stdin.isatty():
        value = sys.stdin.read()
        if value.endswith("\n"):
            value = value[:-1]  # what `echo` or a here-string adds
        if not value and args.value is None:
            raise UsageError(
                f"no value for {args.key} on stdin",
                hint="pipe it in, or pass - to set an empty value",
            )
        return value
    import getpass

    value = getpass.getpass(f"value for {args.key} (hidden): ")
    if getpass.getpass(f"again for {args.key}: ") != value:
        raise UsageError("the two entries differ; nothing was changed")
    return value


def _is_age_file(path: Path) -> bool:
    if path.suffix == ".age":
        return True
    from ..formats.age import is_age

    try:
        with path.open("rb") as fh:
            return is_age(fh.read(4096))
    except OSError:
        return False


def _open_any(path: Path, ids: list[Any]) -> Any:
    """A sops or plain age secret file, decrypted in memory (a new, empty one if it does not exist)."""
    from ..formats import sops

    if _is_age_file(path):
        from ..formats.age_write import AgeDocument

        return AgeDocument.open(path, ids) if path.exists() else AgeDocument.empty(path)
    if path.exists():
        return sops.open_document(path, ids)
    return sops.empty_document(path, rule_for(path))


def _profile_file(ctx: Any) -> Path:
    return ctx.root / NEW_FILE.replace("secrets.", f"secrets.{ctx.profiles[-1]}.", 1)


def write_candidates(args: argparse.Namespace, ctx: Any) -> list[Path]:
    """Every file :func:`target_for_write` may read or create: their locks come first."""
    explicit = _explicit(args, ctx)
    if explicit is not None:
        return [explicit]
    out = [*project_files(ctx), *named_files(ctx), ctx.root / NEW_FILE]
    if getattr(args, "env", None) and ctx.profiles:
        out.append(_profile_file(ctx))
    return out


def target_for_write(args: argparse.Namespace, ctx: Any, key: str | None) -> tuple[Path, Any]:
    """The file to change and its open document (a new empty one if it does not exist).

    Call it holding the locks of :func:`write_candidates`."""
    from ..formats import sops
    from ..formats.sops import is_sops_file

    ids = identities(ctx)
    explicit = _explicit(args, ctx)
    if explicit is not None:
        return explicit, _open_any(explicit, ids)
    files = [p for p in project_files(ctx) if is_sops_file(p) or _is_age_file(p)]
    docs = [(p, _open_any(p, ids)) for p in files]
    if key is not None:
        for path, doc in reversed(docs):
            if key in doc.names():
                return path, doc
    if getattr(args, "env", None) and ctx.profiles:
        # `--env staging` with a new key: the profile's own file (created on first use)
        profile = ctx.profiles[-1]
        for path, doc in reversed(docs):
            if f".{profile}." in path.name:
                return path, doc
        path = _profile_file(ctx)
        return path, sops.empty_document(path, rule_for(path))
    if docs:
        return docs[0]
    named = named_files(ctx)
    path = named[0] if named else ctx.root / NEW_FILE
    return path, _open_any(path, ids)


def _set(args: argparse.Namespace, ctx: Any) -> int:
    from .. import names
    from .secrets_write import config_lock, confirm_recipients, file_locks, note_names

    names.check(args.key, usage=True)
    confirm_recipients(ctx, args)
    value = _read_value(args)
    if "\x00" in value:
        raise UsageError("a value cannot contain a NUL byte")
    with config_lock(ctx), file_locks(ctx, write_candidates(args, ctx)):
        path, doc = target_for_write(args, ctx, args.key)
        if doc.store == "dotenv" and "\\n" in value:
            raise UsageError(
                "sops dotenv files cannot hold a literal backslash-n; use a yaml or json file"
            )
        new_file = not path.exists()
        new_key = args.key not in doc.names()
        doc.set(args.key, value)
        doc.save()
    sys.stderr.write(f"envshim: set {args.key} in {path}\n")
    if new_key:
        note_names(ctx, path, [args.key])
    if new_file:
        say_recipients(doc.recipients() if doc.store == "age" else doc.md.recipients())
    return 0


def say_recipients(recipients: list[str]) -> None:
    """Who a new file is readable by (from .sops.yaml): shown, so a pulled change cannot add someone unseen."""
    sys.stderr.write("envshim: encrypted for " + ", ".join(recipients) + " (from .sops.yaml)\n")


def _rm(args: argparse.Namespace, ctx: Any) -> int:
    from .secrets_write import config_lock, confirm_recipients, file_locks

    confirm_recipients(ctx, args)
    with config_lock(ctx), file_locks(ctx, write_candidates(args, ctx)):
        path, doc = target_for_write(args, ctx, args.key)
        if args.key not in doc.names():
            raise ConfigError(
                f"{args.key} is not in this file",
                path=path,
                hint="`envshim secrets list` shows the keys and their files",
            )
        doc.remove(args.key)
        doc.save()
    sys.stderr.write(f"envshim: removed {args.key} from {path}\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..hardening import forbid_core_dumps

    forbid_core_dumps()  # every action may hold decrypted values
    ctx = project_context(args)
    action = args.action
    if action == "list":
        return _list(args, ctx)
    if action == "get":
        return _get(args, ctx)
    if action == "set":
        return _set(args, ctx)
    if action == "rm":
        return _rm(args, ctx)
    if action == "encrypt":
        from .secrets_encrypt import encrypt

        return encrypt(args, ctx)
    if action == "edit":
        from .secrets_edit import edit

        if args.path:
            args.file = args.path
        return edit(args, ctx)
    raise UsageError(f"unknown action {action!r}")
