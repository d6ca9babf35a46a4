"""Values with provenance: where each variable came from and what it shadowed."""

from __future__ import annotations

from ._record import dataclass, field  # dataclasses without inspect: the export path

# Layers, lowest to highest precedence (DESIGN.md §2).
BASE = "base"
MISE = "mise"
TEAM = "team"
USER = "user"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one assignment was written: layer, file and line, plus a free-form detail."""

    layer: str
    path: str | None = None
    line: int | None = None
    detail: str = ""
    # mise layer: what the value read besides its own file's text, "$NAME" for a variable
    # of the caller's environment ("$" alone: not known which), else a file path
    # (read_file(), or the file of an earlier entry it used). `envshim example` needs it.
    reads: tuple[str, ...] = ()

    def describe(self) -> str:
        where = self.path or self.detail or self.layer
        if self.path and self.line is not None:
            where = f"{self.path}:{self.line}"
        if self.path and self.detail:
            where += f" ({self.detail})"
        return f"{self.layer} {where}"


@dataclass(slots=True)
class ResolvedVar:
    """The winning assignment of one key, with the assignments it replaced (oldest first)."""

    key: str
    value: str | None  # None: envshim unsets the key
    origin: Origin
    secret: bool = False
    shadowed: list[Origin] = field(default_factory=list)
