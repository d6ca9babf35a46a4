"""What a scan found: a place, the key names and the form, never the value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    where: str  # "path:line", "path:cell 3 (traceback) line 2", "commit abc123 path:line"
    keys: tuple[str, ...]
    form: str

    def __str__(self) -> str:
        from ..errors import printable  # a file name may hold terminal escapes

        return f"{printable(self.where)}: {', '.join(self.keys)} ({self.form})"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scanned: int = 0
    skipped_short: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)

    def __post_init__(self) -> None:
        self._seen: set[Finding] = set()


def relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
