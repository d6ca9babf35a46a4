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
    # filled in by the layers:
    files: list[Path] = field(default_factory=list)  # read
    watch: list[Path] = field(default_factory=list)  # read or could appear
    warnings: list[str] = field(default_factory=list)

    def read(self, path: Path) -> None:
        self.files.append(path)
        self.watch.append(path)
