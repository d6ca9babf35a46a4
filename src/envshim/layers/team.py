"""The team layer: committed encrypted files, decrypted in memory (issue 3)."""

from __future__ import annotations

from .base import Entry, LayerContext


def load_team(ctx: LayerContext) -> list[Entry]:
    """Entries from the project's secret files, in file order; placeholder until issue 3."""
    return []
