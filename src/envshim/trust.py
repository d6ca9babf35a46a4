"""Trust: a project loads through the hook, direnv or the plugin only after ``envshim allow``.

A record holds the sha256 of every config file the project reads (path and
content: ``envshim.toml``, every mise config file, the dotenv files mise's
``_.file`` pulls in). Any edit, a new config file, or a removed one needs a new
``allow``. Secret files and the user store are not covered: they change on
every ``secrets set`` and cannot run anything (their values are literal). The
record also keeps the age recipients ``.sops.yaml`` named at ``allow`` time, so
``status`` can show a pulled change that adds a recipient before anything is
re-encrypted to it.

Records live in ``user_data_dir("envshim")/trust/`` (0700), one 0600 JSON file
per project root, written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import paths
from ._record import dataclass, field  # dataclasses without inspect: the export path
from .project import ROOT_MARKERS

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from .merge import Resolution

_AGE_RECIPIENT = re.compile(r"\bage1[02-9ac-hj-np-z]{58}\b")

ALLOWED = "allowed"
UNTRUSTED = "untrusted"  # never allowed (or denied)
CHANGED = "changed"  # allowed once; a config file changed, appeared or went away since


def trust_dir(environ: Mapping[str, str] | None = None) -> Path:
    return paths.data_dir(os.environ if environ is None else environ) / "trust"


def record_path(root: Path, environ: Mapping[str, str] | None = None) -> Path:
    name = hashlib.sha256(os.fsencode(str(root))).hexdigest()[:32]
    return trust_dir(environ) / f"{name}.json"


def file_digest(path: Path) -> str | None:
    """sha256 of the file's bytes; ``None`` when it cannot be read (gone)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _global_config_dirs(environ: Mapping[str, str]) -> list[str]:
    home = environ.get("HOME", "")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    dirs = [os.path.join(config, "mise"), "/etc/mise"]
    if environ.get("MISE_CONFIG_DIR"):
        dirs.append(environ["MISE_CONFIG_DIR"])
    return [d.rstrip("/") + "/" for d in dirs if d]


def config_files(resolution: Resolution, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files an ``allow`` covers: what was read, minus secrets, the user store and
    the user's global mise config (theirs, not the repository's)."""
    environ = os.environ if environ is None else environ
    secret = {str(p) for p in resolution.secret_files}
    skip = _global_config_dirs(environ)
    out = []
    for path in resolution.files:
        text = str(path)
        if text in secret or any(text.startswith(d) for d in skip):
            continue
        out.append(Path(text))
    return sorted(dict.fromkeys(out))


def sops_recipients(root: Path) -> list[str]:
    """The age recipients written in ``.sops.yaml`` (public keys; no YAML import needed)."""
    try:
        text = (root / ".sops.yaml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return sorted(set(_AGE_RECIPIENT.findall(text)))


@dataclass
class Record:
    root: str
    files: dict[str, str]  # path -> sha256
    recipients: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    status: str  # ALLOWED | UNTRUSTED | CHANGED
    root: Path
    record: Record | None = None
    changed: list[str] = field(default_factory=list)  # config files that differ from the record

    @property
    def allowed(self) -> bool:
        return self.status == ALLOWED


def load_record(root: Path, environ: Mapping[str, str] | None = None) -> Record | None:
    try:
        data = json.loads(record_path(root, environ).read_text(encoding="utf-8"))
        if data.get("root") != str(root) or not isinstance(data.get("files"), dict):
            return None
        return Record(data["root"], dict(data["files"]), list(data.get("recipients", [])))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def check(root: Path, environ: Mapping[str, str] | None = None) -> Verdict:
    """Before resolving: is there a record, and does every recorded file still match it?"""
    record = load_record(root, environ)
    if record is None:
        return Verdict(UNTRUSTED, root)
    changed = [p for p, digest in record.files.items() if file_digest(Path(p)) != digest]
    return Verdict(CHANGED if changed else ALLOWED, root, record, changed)


def check_resolution(
    verdict: Verdict, resolution: Resolution, environ: Mapping[str, str] | None = None
) -> Verdict:
    """After resolving: a config file read now but not recorded (a new ``mise.local.toml``)
    also needs a new ``allow``."""
    if not verdict.allowed or verdict.record is None:
        return verdict
    now = {str(p) for p in config_files(resolution, environ)}
    extra = sorted(now - set(verdict.record.files))
    if extra:
        return Verdict(CHANGED, verdict.root, verdict.record, extra)
    return verdict


def allow(root: Path, files: Iterable[Path], environ: Mapping[str, str] | None = None) -> Record:
    from .atomic import write_atomic

    digests = {}
    for path in files:
        digest = file_digest(path)
        if digest is not None:
            digests[str(path)] = digest
    record = Record(str(root), dict(sorted(digests.items())), sops_recipients(root))
    data = {"root": record.root, "files": record.files, "recipients": record.recipients}
    write_atomic(record_path(root, environ), json.dumps(data, indent=2) + "\n")
    return record


def deny(root: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Forget the record; True when there was one."""
    from .atomic import locked

    path = record_path(root, environ)
    with locked(path):
        try:
            path.unlink()
        except FileNotFoundError:
            return False
    return True


def prune(environ: Mapping[str, str] | None = None) -> list[str]:
    """Remove records whose project directory is gone; returns their roots."""
    from .atomic import locked

    directory = trust_dir(environ)
    removed = []
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


def new_recipients(root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Age recipients in ``.sops.yaml`` now that were not there at ``allow`` time."""
    record = load_record(root, environ)
    if record is None:
        return []
    return sorted(set(sops_recipients(root)) - set(record.recipients))


def marker_names(root: Path) -> list[str]:
    """The config files present at the root, for the notice (no resolution needed)."""
    return [name for name in ROOT_MARKERS if name != ".sops.yaml" and (root / name).is_file()]


def is_project(root: Path) -> bool:
    return any((root / name).is_file() for name in ROOT_MARKERS)


def notice(verdict: Verdict) -> str:
    """The one line the hook prints when it will not load a project."""
    root = verdict.root
    if verdict.status == CHANGED and verdict.changed:
        names = ", ".join(_rel(root, p) for p in verdict.changed)
        return (
            f"envshim: {root} changed since `envshim allow` ({names}); "
            "run `envshim allow` to trust it again"
        )
    names = ", ".join(marker_names(root)) or "its config"
    return f"envshim: {root} is not allowed; run `envshim allow` to trust {names}"


def _rel(root: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
