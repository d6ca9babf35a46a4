"""Trust: a project loads through the hook, direnv or the mise plugin only after ``envshim allow``.

``allow`` records what decides **which names are set and where values come
from** (record.py): every config file byte for byte (all of mise's discovery,
``envshim.toml``, the ``_.file`` includes, the files that link a user store),
each secret source with the real path it resolves to and the names it may set,
and the recipients ``.sops.yaml`` names. A new value of an existing name
(rotation) needs nothing; a new name, file, link or recipient needs a new
``allow``, which shows what changed.

The verdict comes first (gate.py): :func:`load_allowed` hashes the recorded
files before anything is parsed, then resolves with a :class:`Gate` that hands
the layers the very bytes it hashed and stops at the first file, name or link
the record lacks. Names that take over a shell (guarded.py) never come from
the team or user layers unless the committed config names them.
"""

from __future__ import annotations

import os
from pathlib import Path

from .gate import (
    ALLOWED,
    CHANGED,
    UNTRUSTED,
    Gate,
    NotAllowed,
    Verdict,
    check,
    notice,
    printable,
    rel,
)
from .record import Record, record_path, trust_dir
from .record import load as load_record

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from ..merge import Resolution

__all__ = [
    "ALLOWED",
    "CHANGED",
    "UNTRUSTED",
    "AllowReport",
    "Gate",
    "NotAllowed",
    "Record",
    "Verdict",
    "allow",
    "check",
    "check_resolution",
    "config_files",
    "deny",
    "is_project",
    "keep_allowed",
    "load_allowed",
    "load_record",
    "marker_names",
    "new_recipients",
    "note_names",
    "note_recipients",
    "notice",
    "printable",
    "prune",
    "record_path",
    "sops_recipients",
    "trust_dir",
    "unconfirmed_recipients",
]


def user_config_dirs(environ: Mapping[str, str]) -> list[str]:
    """Where the user's own mise config lives: read, but not the repository's to trust."""
    home = environ.get("HOME", "")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    dirs = [os.path.join(config, "mise"), "/etc/mise"]
    if environ.get("MISE_CONFIG_DIR"):
        dirs.append(environ["MISE_CONFIG_DIR"])
    if environ.get("MISE_SYSTEM_CONFIG_DIR"):
        dirs.append(environ["MISE_SYSTEM_CONFIG_DIR"])
    return [d for d in dirs if d]


def load_allowed(
    cwd: str | os.PathLike[str],
    env_arg: str | None = None,
    *,
    environ: Mapping[str, str],
    places: Mapping[str, str] | None = None,
    **resolve_options: Any,
) -> tuple[Verdict, Resolution | None]:
    """The hook's, direnv's and the plugin's one way in: the verdict on the project around
    ``cwd`` and, only when it is allowed, its resolution read through the gate, for an
    interactive shell (no exec-only value; committed defaults only in an agent's shell).

    ``environ`` is the base environment to resolve against; ``places`` the one that says
    where the user's trust records live (the hook passes the environment as it was
    before the previous load). Errors other than trust (a damaged file) propagate.
    """
    from ..project import find_root
    from ..resolve import resolve

    places = environ if places is None else places
    root = find_root(Path(os.path.abspath(cwd)))
    verdict = check(root, places)
    if not verdict.allowed:
        return verdict, None
    gate = Gate(verdict, user_config_dirs(environ))
    try:
        resolution = resolve(
            cwd, env_arg, environ=environ, gate=gate, withhold="shell", **resolve_options
        )
    except NotAllowed as exc:
        return exc.verdict, None
    return verdict, resolution


def check_resolution(
    verdict: Verdict, resolution: Resolution, environ: Mapping[str, str] | None = None
) -> Verdict:
    """Kept for callers that resolved without the gate: a config file read now but not
    recorded also needs a new ``allow``."""
    if not verdict.allowed or verdict.record is None:
        return verdict
    recorded = set(verdict.record.files)
    extra = [str(p) for p in config_files(resolution, environ) if str(p) not in recorded]
    if extra:
        return Verdict(
            CHANGED, verdict.root, verdict.record, [f"{rel(verdict.root, p)} is new" for p in extra]
        )
    return verdict


def config_files(resolution: Resolution, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files an ``allow`` covers byte for byte: what was read, minus secret sources and
    the user's own global mise config."""
    environ = os.environ if environ is None else environ
    secret = {str(p) for p in resolution.secret_files}
    skip = tuple(d.rstrip("/") + "/" for d in user_config_dirs(environ))
    out = [
        Path(str(p))
        for p in resolution.files
        if str(p) not in secret and not str(p).startswith(skip)
    ]
    return sorted(dict.fromkeys(out))


class AllowReport:
    """What one ``allow`` trusted, and what it added to the previous record."""

    __slots__ = (
        "added_files",
        "changed_files",
        "first",
        "guarded",
        "new_names",
        "new_recipients",
        "record",
    )

    def __init__(self, record: Record, first: bool) -> None:
        self.record = record
        self.first = first  # no earlier record: everything is new
        self.added_files: list[str] = []
        self.changed_files: list[str] = []
        self.new_names: dict[str, list[str]] = {}  # source -> names it may now set
        self.new_recipients: list[str] = []
        self.guarded: dict[str, list[str]] = {}  # source -> guarded names it may set


def allow(
    root: Path, resolution: Resolution, environ: Mapping[str, str] | None = None
) -> AllowReport:
    """Record what ``resolution`` read (the bytes it parsed, the names each source set).

    Files and sources of other profiles recorded before stay as they were recorded:
    a later ``allow`` without ``--env staging`` does not silently trust an edited
    ``mise.staging.toml``.
    """
    from ..atomic import locked
    from . import recipients as _recipients
    from .guarded import is_guarded
    from .record import digest, load, save

    env = os.environ if environ is None else environ
    files: dict[str, str] = {}
    digests = getattr(resolution, "digests", {}) or {}
    for path in config_files(resolution, env):
        key = str(path)
        if key in digests:
            files[key] = digests[key]
        else:
            from ..safeio import read_regular

            try:
                files[key] = digest(read_regular(key))
            except OSError:
                continue
    sources = {k: dict(v) for k, v in (getattr(resolution, "sources", {}) or {}).items()}
    with locked(record_path(root, env)):
        before = load(root, env)
        if before is not None and before.version >= 2:
            for path, value in before.files.items():
                files.setdefault(path, value)
            for path, value in before.sources.items():
                sources.setdefault(path, value)
        record = Record(str(root), files, sources, _recipients.in_project(root))
        report = AllowReport(record, before is None or before.version < 2)
        old_files = before.files if before is not None else {}
        old_sources = before.sources if before is not None and before.version >= 2 else {}
        for path, value in sorted(files.items()):
            if path not in old_files:
                report.added_files.append(path)
            elif old_files[path] != value:
                report.changed_files.append(path)
        for path, entry in sorted(sources.items()):
            names = entry.get("names") or []
            old = (old_sources.get(path) or {}).get("names") or []
            added = sorted(set(names) - set(old))
            if added:
                report.new_names[path] = added
            guarded = sorted(n for n in names if is_guarded(n))
            if guarded:
                report.guarded[path] = guarded
        old_recipients = set(before.recipients) if before is not None else set()
        report.new_recipients = sorted(set(record.recipients) - old_recipients)
        save(record, env, lock=False)
    return report


def deny(root: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Forget the record; True when there was one."""
    from ..atomic import locked

    path = record_path(root, environ)
    with locked(path):
        try:
            path.unlink()
        except FileNotFoundError:
            return False
    return True


def prune(environ: Mapping[str, str] | None = None) -> list[str]:
    """Remove records whose project directory is gone; returns their roots."""
    import contextlib
    import json

    from ..atomic import locked

    directory = trust_dir(environ)
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    for path in sorted(directory.glob("*.json")):
        try:
            root = json.loads(path.read_text(encoding="utf-8")).get("root")
        except (OSError, ValueError, AttributeError):
            root = None
        if isinstance(root, str) and os.path.isdir(root):
            continue
        with locked(path), contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.with_name(f".{path.name}.lock").unlink()
        removed.append(root if isinstance(root, str) else path.name)
    return removed


# --- recipients ------------------------------------------------------------------------


def sops_recipients(root: Path) -> list[str]:
    """The age and SSH recipients written in ``.sops.yaml``."""
    from . import recipients as _recipients

    return _recipients.in_project(root)


def new_recipients(root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Recipients in ``.sops.yaml`` now that were not there at ``allow`` time."""
    record = load_record(root, environ)
    if record is None:
        return []
    return sorted(set(sops_recipients(root)) - set(record.recipients))


def unconfirmed_recipients(root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Recipients a write would encrypt to that this user never confirmed: those added
    since ``allow``; with no record, every one that is neither the user's own key nor one
    they added or kept themselves (``recipients add/rm`` before any ``allow``)."""
    record = load_record(root, environ)
    if record is not None:
        return sorted(set(sops_recipients(root)) - set(record.recipients))
    from ..errors import EnvshimError
    from ..keys import load_identities, normalize_recipient

    try:
        identities = load_identities(os.environ if environ is None else environ, [])
    except EnvshimError:
        identities = []
    mine = {normalize_recipient(i.recipient) for i in identities}
    mine |= {normalize_recipient(r) for r in _confirmed_without_record(root, environ)}
    return [r for r in sops_recipients(root) if normalize_recipient(r) not in mine]


def _confirmed_path(root: Path, environ: Mapping[str, str] | None) -> Path:
    """Recipients this user confirmed in a project they have not allowed (yet): kept apart
    from the allow record, which would otherwise say the project is allowed."""
    record = record_path(root, environ)
    return record.with_name(record.stem + ".recipients.json")


def _confirmed_without_record(root: Path, environ: Mapping[str, str] | None) -> list[str]:
    import json

    from ..errors import ConfigError
    from ..safeio import read_regular

    try:
        data = json.loads(read_regular(_confirmed_path(root, environ)))
    except (OSError, ValueError, ConfigError):
        return []
    if not isinstance(data, dict) or data.get("root") != str(root):
        return []
    return [str(r) for r in data.get("recipients", []) if isinstance(r, str)]


def note_recipients(
    root: Path, recipients: Iterable[str], environ: Mapping[str, str] | None = None
) -> None:
    """After this user's own ``recipients add/rm``: the record holds the new list (without
    a record, a side file does, until the first ``allow``)."""
    wanted = sorted(set(recipients))

    def change(record: Record) -> None:
        record.recipients = wanted

    from .record import update

    if update(root, change, environ) is None:
        import json

        from ..atomic import write_atomic

        data = {"root": str(root), "recipients": wanted}
        write_atomic(_confirmed_path(root, environ), json.dumps(data, indent=2) + "\n")


def note_names(
    root: Path, path: Path | str, names: Iterable[str], environ: Mapping[str, str] | None = None
) -> None:
    """After this user's own ``secrets set``/``edit`` (or ``user set``): the source may set
    ``names`` too, so their own change does not stop their own hook."""
    added = set(names)
    key = str(path)

    def change(record: Record) -> None:
        entry = record.sources.get(key)
        if entry is None:
            entry = record.sources[key] = {"real": os.path.realpath(key), "names": []}
        known = entry.get("names")
        if isinstance(known, list):
            entry["names"] = sorted(set(known) | added)

    from .record import update

    update(root, change, environ)


def keep_allowed(
    root: Path, path: Path | str, old_bytes: bytes | None, environ: Mapping[str, str] | None = None
) -> None:
    """After this user's own envshim command rewrote a recorded file: if the record held
    exactly ``old_bytes`` for it, it now holds the file's new content (nothing else is
    re-trusted). ``old_bytes=None``: the command created the file."""
    from ..safeio import read_regular
    from .record import digest, update

    key = str(path)
    try:
        new = digest(read_regular(key))
    except OSError:
        return

    def change(record: Record) -> None:
        held = record.files.get(key)
        created = old_bytes is None and held is None
        if created or (old_bytes is not None and held == digest(old_bytes)):
            record.files[key] = new

    update(root, change, environ)


# --- what a directory is -----------------------------------------------------------------


def marker_names(root: Path) -> list[str]:
    """The config files present at the root, for the notice (no resolution needed)."""
    from ..project import ROOT_MARKERS

    return [name for name in ROOT_MARKERS if name != ".sops.yaml" and (root / name).is_file()]


def is_project(root: Path) -> bool:
    from ..project import ROOT_MARKERS

    return any((root / name).is_file() for name in ROOT_MARKERS)
