"""The mise layer: every mise config that applies to the directory, evaluated as mise does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..layers.base import LayerContext
from ..merge import Merger


def apply_mise(
    ctx: LayerContext,
    merger: Merger,
    enter_secrets: Callable[[Mapping[str, Any] | None], None],
) -> None:
    """Apply every `[env]` entry in mise's order; call ``enter_secrets`` where `_.envshim` stands."""
