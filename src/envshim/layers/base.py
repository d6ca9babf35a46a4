"""What every layer hands to the merge: entries with provenance, and the paths it read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .._record import dataclass, field  # dataclasses without inspect: the export path
from ..model import Origin

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: str | None  # None: unset
    origin: Origin
    secret: bool = False


@dataclass
class LayerContext:
    """Everything a layer may look at. Layers never read ``os.environ`` directly."""

    cwd: Path
    root: Path
    profiles: list[str]
    environ: Mapping[str, str]
    options: dict[str, Any]  # envshim.toml overlaid with the `_.envshim` table
    missing_key: str = "error"  # error | warn | skip
    from_mise: bool = False  # called by the mise plugin: the mise layer is already applied
    gate: Any = None  # trust.Gate when loading for the hook, direnv or the plugin
    # filled in by the layers:
    files: list[Path] = field(default_factory=list)  # read
    watch: list[Path] = field(default_factory=list)  # read or could appear
    warnings: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # config file -> sha256 of bytes parsed
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # secret source -> names

    def read(self, path: Path) -> None:
        self.files.append(path)
        self.watch.append(path)

    def read_bytes(self, path: Path | str) -> bytes:
        """A config or link file's bytes: through the trust gate when there is one (the
        bytes it hashed), else read as a regular file of bounded size. Recorded as read."""
        self.read(Path(path))
        if self.gate is not None:
            return self.gate.config(path)
        from ..safeio import read_regular
        from ..trust.record import digest

        data = read_regular(path)
        self.digests[str(path)] = digest(data)
        return data

    def open_source(self, path: Path | str) -> None:
        """Before a secret file or store is read: the gate checks it is where it was."""
        self.read(Path(path))
        if self.gate is not None:
            self.gate.source(path)

    def set_names(self, path: Path | str, names: list[str] | None) -> None:
        """The names a secret source sets (``None``: not known, it could not be opened);
        the gate refuses a name the allow record lacks before anything is applied."""
        import os

        key = str(path)
        if names is not None and self.gate is not None:
            self.gate.names(key, names)
        self.sources[key] = {
            "real": os.path.realpath(key),
            "names": None if names is None else sorted(set(names)),
        }
