"""JSON: an object of the variables envshim sets (as ``mise env --json`` prints)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from .base import Renderer


class JsonRenderer(Renderer):
    name = "json"

    def export(self, key: str, value: str) -> str:  # pragma: no cover - render() is used
        return json.dumps({key: value}, ensure_ascii=False)

    def unset(self, key: str) -> str:  # pragma: no cover - render() is used
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        data = {k: v for k, v in sorted(changes.items()) if v is not None}
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
