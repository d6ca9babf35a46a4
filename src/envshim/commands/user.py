"""``envshim user …``: your own values for this project, kept outside the repository.

Only ``init``, ``set``, ``import``, ``edit``, ``rm``, ``clear`` and ``link`` write;
``get``, ``list`` and ``info`` never create a link, a directory or a file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, UsageError
from ..gitcmd import git_argv
from .common import plural

if TYPE_CHECKING:
    from ..userstore import Link, ProjectLink, Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C",
        "--dir",
        default=".",
        metavar="DIR",
        help="project directory (default: the current one)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-C",
        "--dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="project directory (default: the current one)",
    )
    real_add = sub.add_parser
    sub.add_parser = lambda *a, **kw: real_add(*a, parents=[common], **kw)  # type: ignore[method-assign]

    p = sub.add_parser("init", help="create this project's store id and its store")
    p.add_argument(
        "--plaintext",
        action="store_true",
        help="keep the values unencrypted (0600 file, clearly labelled)",
    )
    p.add_argument(
        "--new",
        action="store_true",
        help="give this directory a new id even if it already names one",
    )

    p = sub.add_parser("set", help="set KEY (value from the argument, stdin or a no-echo prompt)")
    p.add_argument("key")
    p.add_argument(
        "value",
        nargs="?",
        help="the value, or - for stdin (default: stdin or a prompt); "
        "an argument is visible to other users in `ps`",
    )

    p = sub.add_parser("get", help="print the value of KEY (exit 1 when absent)")
    p.add_argument("key")

    p = sub.add_parser("list", help="list the keys (values only with --reveal)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--reveal", action="store_true", help="print the values too")

    p = sub.add_parser("rm", help="remove KEY")
    p.add_argument("key")

    sub.add_parser("clear", help="remove every value (also starts over when the old key is lost)")
    sub.add_parser("edit", help="edit the values in $EDITOR (decrypted on tmpfs only)")
    sub.add_parser("info", help="show the id, the store, the projects and the number of values")

    p = sub.add_parser(
        "import",
        help="copy values from a python-env-secrets store, a dotnet "
        "secrets.json or a dotenv file (the source is left as it was)",
    )
    p.add_argument(
        "source",
        nargs="?",
        help="file or store directory (default: the other tool's store this project links to)",
    )

    p = sub.add_parser(
        "link",
        help="let this directory load the store its id names "
        "(or, with ID, link this project to that store)",
    )
    p.add_argument("id", nargs="?")


def _err(text: str) -> None:
    sys.stderr.write(f"envshim: {text}\n")


def run(args: argparse.Namespace) -> int:
    from ..userstore import open_project

    project = open_project(args.dir, os.environ)
    return int(VERBS[args.verb](args, project) or 0)


def _require_link(project: ProjectLink) -> Link:
    if project.link is None:
        raise ConfigError(
            "no user store is linked to this project",
            path=project.root,
            hint="run `envshim user init`",
        )
    return project.link


def _store(project: ProjectLink) -> Store:
    from ..userstore import Store

    return Store(_require_link(project).id, os.environ)


def _readable_values(project: ProjectLink) -> dict[str, str] | None:
    """What the user layer would load; None when there is no store (nothing is created)."""
    from ..compat_stores import find_compat
    from ..userstore import foreign_store_error

    if project.link is None:
        return None
    store = _store(project)
    if store.exists():
        if not store.belongs_to(project.root):
            raise foreign_store_error(store, project.root)
        return store.read()
    compat = find_compat(store.id, os.environ)
    if compat is None:
        return None
    warnings: list[str] = []
    values = compat.load(warnings)
    for w in warnings:
        _err(f"warning: {w}")
    _err(
        f"note: values from the {compat.kind} store {compat.path}; "
        "`envshim user import` moves them into an encrypted envshim store"
    )
    return values


# --- verbs ---------------------------------------------------------------------------------------


def do_init(args: argparse.Namespace, project: ProjectLink) -> int:
    import uuid

    from ..userstore import Store, foreign_store_error

    link = project.link
    if link is not None and not args.new:
        store = Store(link.id, os.environ)
        if store.exists():
            if not store.belongs_to(project.root):
                raise foreign_store_error(store, project.root)
            sys.stdout.write(f"user store {store.id} already exists: {store.dir}\n")
            return 0
        store.create(project.root, plaintext=args.plaintext)
        _keep_names(project, store, [])
        _report_created(store, link.describe())
        _note_compat_shadowed(store)
        return 0
    derived = None if args.new else project_id(project.root)
    store = Store(derived or str(uuid.uuid4()), os.environ)
    if store.exists() and not store.belongs_to(project.root):
        store = Store(str(uuid.uuid4()), os.environ)  # another clone here has that one
    if not store.exists():
        store.create(project.root, plaintext=args.plaintext)
    where = _write_link_kept(project, store.id, create_options=True)
    _keep_names(project, store, [])
    _report_created(store, f"{where} (user_store)")
    return 0


def project_id(root: Path) -> str | None:
    """The same id for every clone of one repository: a UUID made from the repository's
    first commit and the project's place in it. Two developers who both run `user init`
    before either pushes then write the same line, which git merges without a conflict.
    None outside git or before the first commit."""
    import shutil
    import subprocess
    import uuid

    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            git_argv("rev-list", "--max-parents=0", "HEAD", git=git),
            cwd=root, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        top = subprocess.run(
            git_argv("rev-parse", "--show-toplevel", git=git),
            cwd=root, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    roots = sorted(proc.stdout.split())
    if proc.returncode != 0 or not roots or top.returncode != 0:
        return None
    place = os.path.relpath(root, top.stdout.strip())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"envshim:user-store:{roots[0]}:{place}"))


def _write_link_kept(project: ProjectLink, store_id: str, *, create_options: bool) -> Path:
    """Write the store id into the project's config; a file this user had allowed stays
    allowed (their own change, through envshim, is not a change to review)."""
    from .. import trust
    from ..project import OPTIONS_FILE
    from ..userstore import write_link

    candidates = [project.root / OPTIONS_FILE, project.mise_table]
    before = {}
    for path in candidates:
        if path is not None:
            try:
                before[str(path)] = path.read_bytes()
            except FileNotFoundError:
                before[str(path)] = None
    where = write_link(project, store_id, create_options=create_options)
    trust.keep_allowed(project.root, where, before.get(str(where)))
    return where


def _keep_names(project: ProjectLink, store: Store, names: list[str]) -> None:
    """This user's own store gained ``names`` (or was created): their hook keeps loading it."""
    from .. import trust

    trust.note_names(project.root, store.values_path, names)


def _note_compat_shadowed(store: Store) -> None:
    """An envshim store now exists for this id: the other tool's store stops loading."""
    from ..compat_stores import find_compat

    compat = find_compat(store.id, os.environ)
    if compat is not None:
        _err(
            f"note: the {compat.kind} store {compat.path} is no longer loaded now that an "
            "envshim store exists; `envshim user import` copies its values"
        )


def _report_created(store: Store, linked_by: str) -> None:
    sys.stdout.write(
        f"created user store {store.id}\n  store      {store.dir}\n  linked by  {linked_by}\n"
    )
    if store.plaintext:
        _err(f"warning: PLAINTEXT store: values in {store.values_path} are not encrypted")
    else:
        sys.stdout.write(f"  encrypted  to {', '.join(store.meta['recipients'])}\n")


def _read_value(args: argparse.Namespace) -> str:
    if args.value is not None and args.value != "-":
        return args.value
    if args.value == "-" or not sys.stdin.isatty():
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("the value on stdin is not UTF-8 text") from None
        # `echo v | envshim user set K` adds one newline that is not part of the value
        if text.endswith("\r\n"):
            return text[:-2]
        return text[:-1] if text.endswith("\n") else text
    import getpass

    value = getpass.getpass(f"Value for {args.key} (not shown): ")
    if getpass.getpass(f"Again, to confirm {args.key}: ") != value:
        raise UsageError("the two values differ; nothing was changed")
    return value


def do_set(args: argparse.Namespace, project: ProjectLink) -> int:
    from ..userstore import check_key

    check_key(args.key)
    store = _store(project)
    value = _read_value(args)

    def change(values: dict[str, str]) -> None:
        values[args.key] = value

    created = not store.exists()
    store.update(change, root=project.root, create=True)
    _keep_names(project, store, [args.key])
    if created:
        _err(f"created user store {store.id} in {store.dir}")
        _note_compat_shadowed(store)
    _err(f"set {args.key} in user store {store.id}")
    return 0


def do_get(args: argparse.Namespace, project: ProjectLink) -> int:
    values = _readable_values(project)
    if values is None or args.key not in values:
        _err(f"{args.key} is not in this project's user store")
        return 1
    sys.stdout.write(values[args.key] + "\n")
    return 0


def do_list(args: argparse.Namespace, project: ProjectLink) -> int:
    from .common import mask

    found = _readable_values(project)
    values = found or {}
    keys = sorted(values)
    if args.json:
        doc: object = {k: values[k] for k in keys} if args.reveal else keys
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.reveal:
        from ..shells.dotenv import dotenv_quote

        # dotenv quoting, so the listing parses back (multi-line values included)
        sys.stdout.write("".join(f"{k}={dotenv_quote(values[k])}\n" for k in keys))
    else:
        sys.stdout.write("".join(f"{k}  {mask(values[k])}\n" for k in keys))
    if project.link is None:
        _err("no user store is linked to this project (`envshim user init` creates one)")
    elif found is None:
        _err(
            "no user store for this project on this machine yet (`envshim user set KEY` creates it)"
        )
    return 0


def do_rm(args: argparse.Namespace, project: ProjectLink) -> int:
    store = _store(project)
    if not store.exists():
        _err(f"{args.key} is not in this project's user store")
        return 1
    found = []

    def change(values: dict[str, str]) -> None:
        found.append(values.pop(args.key, None) is not None)

    store.update(change, root=project.root)
    if not found[0]:
        _err(f"{args.key} is not in this project's user store")
        return 1
    _err(f"removed {args.key} from user store {store.id}")
    return 0


def do_clear(args: argparse.Namespace, project: ProjectLink) -> int:
    store = _store(project)
    if not store.exists():
        _err("this project has no user store; nothing to clear")
        return 0
    store.update(lambda values: None, root=project.root, reset=True)
    _err(f"cleared user store {store.id}")
    return 0


def do_info(args: argparse.Namespace, project: ProjectLink) -> int:
    from ..compat_stores import find_compat
    from ..errors import DecryptError
    from ..userstore import Store

    out = [f"project     {project.root}"]
    link = project.link
    if link is None:
        out.append("user store  none linked (`envshim user init` creates one)")
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    store = Store(link.id, os.environ)
    out.append(f"id          {store.id}")
    out.append(f"linked by   {link.describe()}")
    if not store.exists():
        out.append(f"store       {store.dir} (not created yet: `envshim user set KEY` creates it)")
        compat = find_compat(store.id, os.environ)
        if compat is not None:
            count = len(compat.load())
            out.append(
                f"loaded from {compat.path} ({compat.kind}, plaintext, {plural(count, 'value')}; "
                "`envshim user import` moves them)"
            )
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    out.append(f"store       {store.dir}")
    if store.plaintext:
        out.append(f"encryption  PLAINTEXT: NOT encrypted ({store.values_path.name})")
    else:
        out.append(f"encryption  age, to {', '.join(store.meta['recipients'])}")
    out.append(f"created     {store.meta.get('created', '?')}")
    for record in store.meta["projects"]:
        remote = f" ({record['git_remote']})" if record.get("git_remote") else ""
        out.append(f"used by     {record.get('path')}{remote}")
    if not store.belongs_to(project.root):
        out.append(
            "status      NOT loaded here: another project's store; `envshim user link` to share it"
        )
    try:
        count = str(len(store.read()))
    except DecryptError as exc:
        count = f"? ({exc.message})"
    out.append(f"values      {count}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def do_import(args: argparse.Namespace, project: ProjectLink) -> int:
    from ..compat_stores import find_compat, read_source, resolve_source

    store = _store(project)
    if args.source:
        path, kind = resolve_source(Path(args.source))
    else:
        compat = find_compat(store.id, os.environ)
        if compat is None:
            raise UsageError(
                "no python-env-secrets or dotnet store for this project's id",
                hint="name the file to import: `envshim user import FILE`",
            )
        path, kind = compat.path, compat.kind
    warnings: list[str] = []
    incoming = read_source(path, kind, warnings)
    for w in warnings:
        _err(f"warning: {w}")
    from ..names import check_all

    check_all(incoming, path=path)
    store.update(lambda values: values.update(incoming), root=project.root, create=True)
    _keep_names(project, store, list(incoming))
    _err(
        f"imported {plural(len(incoming), 'value')} from {path} ({kind}) into user store {store.id}; "
        f"the source was left as it was"
    )
    return 0


def do_link(args: argparse.Namespace, project: ProjectLink) -> int:
    from ..userstore import Store, check_id

    if args.id:
        store = Store(check_id(args.id), os.environ)
        if not store.exists():
            raise ConfigError(
                f"no user store {store.id} on this machine",
                path=store.dir,
                hint="check the id (`envshim user info` in the project that has it)",
            )
        where = _write_link_kept(project, store.id, create_options=False)
        _err(f"wrote user_store = {store.id!r} to {where}")
    else:
        store = _store(project)
        if not store.exists():
            raise store.missing_error()
    if store.add_project(project.root):
        others = [
            p for p in store.projects() if os.path.realpath(p) != os.path.realpath(project.root)
        ]
        _err(
            f"linked {project.root} to user store {store.id}"
            + (f" (shared with {', '.join(others)})" if others else "")
        )
    else:
        _err(f"{project.root} already loads user store {store.id}")
    return 0


def do_edit(args: argparse.Namespace, project: ProjectLink) -> int:
    from ..editing import private_workdir
    from ..userstore import check_key

    store = _store(project)
    if store.exists() and not store.belongs_to(project.root):
        from ..userstore import foreign_store_error

        raise foreign_store_error(store, project.root)
    original = store.read() if store.exists() else {}
    with private_workdir(os.environ) as workdir:
        path = workdir / "user.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_edit_text(store.id, original))
        code = _run_editor(path)
        if code != 0:
            from ..editing import describe_exit

            _err(f"the editor {describe_exit(code)}; nothing was changed")
            return 1
        edited = _parse_edited(path)
    for key in edited:
        if key not in original:  # a name already stored is the doctor's to report
            check_key(key)
    changed = {k: v for k, v in edited.items() if original.get(k) != v}
    removed = [k for k in original if k not in edited]
    if not changed and not removed:
        _err("no changes")
        return 0

    # apply only what the user changed, so a concurrent `set` is not undone
    def change(values: dict[str, str]) -> None:
        values.update(changed)
        for key in removed:
            values.pop(key, None)

    store.update(change, root=project.root, create=True)
    _keep_names(project, store, list(changed))
    _err(f"user store {store.id}: {len(changed)} set, {len(removed)} removed")
    return 0


def _edit_text(store_id: str, values: dict[str, str]) -> str:
    from ..shells.dotenv import dotenv_quote

    head = (
        f"# envshim user store {store_id}: one KEY=value per line (dotenv quoting).\n"
        "# A temporary private copy, deleted when the editor exits.\n"
    )
    return head + "".join(f"{k}={dotenv_quote(v)}\n" for k, v in sorted(values.items()))


def _parse_edited(path: Path) -> dict[str, str]:
    from ..formats.dotenv import parse

    # errors name the line only; the temp path would be gone by the time the user reads it
    try:
        return {b.key: b.value for b in parse(path.read_text(encoding="utf-8"), "edited values")}
    except UnicodeDecodeError:
        raise ConfigError("the edited text is not UTF-8; nothing was changed") from None


def _run_editor(path: Path) -> int:
    """Run $VISUAL/$EDITOR on ``path``; its exit status (negative: the signal that killed it)."""
    from ..editing import editor_argv, run_editor

    return run_editor([*editor_argv(os.environ), str(path)]).returncode


VERBS = {
    "init": do_init,
    "set": do_set,
    "get": do_get,
    "list": do_list,
    "rm": do_rm,
    "clear": do_clear,
    "edit": do_edit,
    "info": do_info,
    "import": do_import,
    "link": do_link,
}
