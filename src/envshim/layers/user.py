"""The user layer: the developer's own values from the per-user store (issue 4)."""

from __future__ import annotations

from .base import Entry, LayerContext


def load_user(ctx: LayerContext) -> list[Entry]:
    """Entries from this project's user store; placeholder until issue 4."""
    return []
