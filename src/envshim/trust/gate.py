"""The verdict on a project, and the gate every read goes through while it loads.

:func:`check` reads each file the record covers once, hashes it, and keeps the
bytes: the layers then parse exactly those bytes (``Gate.config``), so a file
swapped between the check and the parse cannot slip through. A file the
record does not cover (a new ``conf.d/*.toml``, a new ``_.file`` match, a link
file that appeared) stops the load *before* it is parsed; a secret source must
resolve to the same real path and set no name the record lacks (checked after
decryption, before anything is applied).
"""

from __future__ import annotations

import os

from ..errors import EnvshimError, printable
from . import recipients as _recipients
from .record import Record, digest

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

ALLOWED = "allowed"
UNTRUSTED = "untrusted"  # never allowed (or denied)
CHANGED = "changed"  # allowed once; something that decides what loads changed since


def rel(root: Path | str, path: str) -> str:
    root_text = str(root).rstrip("/") + "/"
    return printable(path[len(root_text) :] if path.startswith(root_text) else path)


class Verdict:
    __slots__ = ("changed", "contents", "record", "root", "status")

    def __init__(
        self,
        status: str,
        root: Path,
        record: Record | None = None,
        changed: list[str] | None = None,
        contents: dict[str, bytes] | None = None,
    ) -> None:
        self.status = status
        self.root = root
        self.record = record
        self.changed = changed or []  # what differs from the record, as the notice says it
        self.contents = contents or {}  # path -> the bytes that were hashed

    @property
    def allowed(self) -> bool:
        return self.status == ALLOWED


class NotAllowed(EnvshimError):
    """Loading found something the allow record does not cover; nothing was applied."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(notice(verdict).removeprefix("envshim: "))
        self.verdict = verdict


def notice(verdict: Verdict) -> str:
    """The one line the hook, direnv and the plugin print when they will not load a project."""
    root = printable(str(verdict.root))
    if verdict.status == CHANGED and verdict.changed:
        what = "; ".join(verdict.changed)
        return (
            f"envshim: {root} changed since `envshim allow` ({what}); "
            "run `envshim allow` to review and trust it"
        )
    from ..project import ROOT_MARKERS

    present = [n for n in ROOT_MARKERS if n != ".sops.yaml" and (verdict.root / n).is_file()]
    names = ", ".join(present) or "its config"
    return f"envshim: {root} is not allowed; run `envshim allow` to trust {names}"


def _show_names(names: Iterable[str]) -> str:
    from ..shells.base import is_valid_name

    shown = [n if is_valid_name(n) else "(an invalid name)" for n in sorted(set(names))]
    if len(shown) > 8:
        shown = [*shown[:8], f"and {len(shown) - 8} more"]
    return ", ".join(shown)


class Gate:
    """What a load may read, checked against the record as the layers read it."""

    __slots__ = ("user_dirs", "verdict")

    def __init__(self, verdict: Verdict, user_dirs: Iterable[str] = ()) -> None:
        self.verdict = verdict
        # the user's own config (global mise config): theirs, not the repository's
        self.user_dirs = tuple(d.rstrip("/") + "/" for d in user_dirs if d)

    def refuse(self, what: str) -> NotAllowed:
        """The error that stops this load: ``what`` changed since ``allow``."""
        v = self.verdict
        return NotAllowed(Verdict(CHANGED, v.root, v.record, [what]))

    def owned_by_user(self, path: str) -> bool:
        return path.startswith(self.user_dirs)

    def config(self, path: Path | str) -> bytes:
        """The bytes of a config or link file, as hashed by :func:`check`."""
        key = str(path)
        data = self.verdict.contents.get(key)
        if data is not None:
            return data
        if self.owned_by_user(key):
            from ..safeio import read_regular

            return read_regular(key)
        raise self.refuse(f"{rel(self.verdict.root, key)} is new")

    def source(self, path: Path | str) -> None:
        """A secret file or store may be read only where the record saw it."""
        record = self.verdict.record
        entry = record.sources.get(str(path)) if record else None
        if entry is None:
            raise self.refuse(f"secret file {rel(self.verdict.root, str(path))} is new")
        if os.path.realpath(path) != entry.get("real"):
            raise self.refuse(f"{rel(self.verdict.root, str(path))} now points elsewhere")

    def names(self, path: Path | str, names: Iterable[str]) -> None:
        """The names a secret source sets now must all have been there at ``allow``."""
        record = self.verdict.record
        entry = record.sources.get(str(path)) if record else None
        known = entry.get("names") if entry else None
        names = set(names)
        new = names - set(known) if isinstance(known, list) else names
        if new:
            where = rel(self.verdict.root, str(path))
            raise self.refuse(f"{where} sets new names: {_show_names(new)}")


def check(root: Path, environ: object = None) -> Verdict:
    """Before anything of the project is parsed: is there a record, does every file it
    covers still hash the same, and does ``.sops.yaml`` name no recipient it lacks?"""
    from ..errors import ConfigError
    from ..safeio import read_regular
    from .record import VERSION, load

    record = load(root, environ)  # type: ignore[arg-type]
    if record is None:
        return Verdict(UNTRUSTED, root)
    if record.version < VERSION:
        return Verdict(CHANGED, root, record, ["allowed by an older envshim"])
    changed: list[str] = []
    contents: dict[str, bytes] = {}
    for path, expected in record.files.items():
        try:
            data = read_regular(path)
        except FileNotFoundError:
            changed.append(f"{rel(root, path)} is gone")
            continue
        except ConfigError:
            changed.append(f"{rel(root, path)} cannot be read")
            continue
        if digest(data) != expected:
            changed.append(f"{rel(root, path)} was edited")
        else:
            contents[path] = data
    added = sorted(set(_recipients.in_project(root)) - set(record.recipients))
    if added:
        shown = ", ".join(_recipients.short(r) for r in added)
        changed.append(f".sops.yaml has new recipients: {shown}")
    return Verdict(CHANGED if changed else ALLOWED, root, record, changed, contents)
