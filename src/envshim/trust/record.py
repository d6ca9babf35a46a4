"""The record ``envshim allow`` writes: what decides which names are set and from where.

One 0600 JSON file per project root in ``<data dir>/trust/`` (0700), written
atomically under a lock::

    {"v": 2, "root": "/src/app",
     "files": {"/src/app/mise.toml": "<sha256>", ...},        # config and link files
     "sources": {"/src/app/secrets.enc.env":                  # secret files, user store
                   {"real": "/src/app/secrets.enc.env", "names": ["DB_PASSWORD"]}},
     "recipients": ["age1…", "ssh-ed25519 AAAA…"]}             # of .sops.yaml

``files`` are covered byte for byte (any edit needs a new ``allow``); a secret
source by the real path it resolves to and the names it may set, so rotating a
value needs nothing, while a new name, a new file or a link elsewhere does.
``names`` is ``null`` when the file could not be opened at ``allow`` time (no
key yet): its names are then unknown, and it loads after the next ``allow``.
"""

from __future__ import annotations

import os

from .. import paths

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

VERSION = 2


class Record:
    __slots__ = ("files", "recipients", "root", "sources", "version")

    def __init__(
        self,
        root: str,
        files: dict[str, str],
        sources: dict[str, dict[str, Any]] | None = None,
        recipients: list[str] | None = None,
        version: int = VERSION,
    ) -> None:
        self.root = root
        self.files = files  # path -> sha256 of its bytes
        self.sources = sources or {}  # path -> {"real": str, "names": list[str] | None}
        self.recipients = recipients or []
        self.version = version

    def to_json(self) -> str:
        import json

        data = {
            "v": self.version,
            "root": self.root,
            "files": dict(sorted(self.files.items())),
            "sources": dict(sorted(self.sources.items())),
            "recipients": sorted(self.recipients),
        }
        return json.dumps(data, indent=2) + "\n"


def _sha256() -> Any:
    """The SHA-256 constructor, without ``hashlib``: its OpenSSL binding costs ~2 ms of
    import on every load the hook starts; CPython's own module gives the same digest."""
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # Python 3.11
        except ImportError:  # a build without them
            from hashlib import sha256
    return sha256


def digest(data: bytes) -> str:
    return _sha256()(data).hexdigest()


def trust_dir(environ: Mapping[str, str] | None = None) -> Path:
    return paths.data_dir(os.environ if environ is None else environ) / "trust"


def record_path(root: Path | str, environ: Mapping[str, str] | None = None) -> Path:
    name = digest(os.fsencode(str(root)))[:32]
    return trust_dir(environ) / f"{name}.json"


def load(root: Path | str, environ: Mapping[str, str] | None = None) -> Record | None:
    """The record for ``root``, or ``None`` when there is none (or it is not ours)."""
    import json

    from ..errors import ConfigError
    from ..safeio import read_regular

    try:
        data = json.loads(read_regular(record_path(root, environ)))
    except (OSError, ValueError, ConfigError):
        return None
    if not isinstance(data, dict) or data.get("root") != str(root):
        return None
    files = data.get("files")
    if not isinstance(files, dict):
        return None
    sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
    recipients = data.get("recipients") if isinstance(data.get("recipients"), list) else []
    version = data.get("v") if isinstance(data.get("v"), int) else 1
    return Record(
        str(root),
        {str(k): str(v) for k, v in files.items()},
        {str(k): v for k, v in sources.items() if isinstance(v, dict)},
        [str(r) for r in recipients],
        version,
    )


def save(record: Record, environ: Mapping[str, str] | None = None, *, lock: bool = True) -> None:
    """Write the record atomically; ``lock=False`` when the caller holds its lock."""
    from ..atomic import write_atomic

    write_atomic(record_path(record.root, environ), record.to_json(), lock=lock)


def update(
    root: Path | str, change: Any, environ: Mapping[str, str] | None = None
) -> Record | None:
    """Apply ``change(record)`` to the stored record under its lock (read after locking);
    nothing happens when the project has no record."""
    from ..atomic import locked

    path = record_path(root, environ)
    with locked(path):
        record = load(root, environ)
        if record is None or record.version < VERSION:
            return None
        change(record)
        save(record, environ, lock=False)
    return record
