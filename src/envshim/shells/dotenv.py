"""dotenv: quoted so that every value parses back exactly (formats/dotenv.py rules)."""

from __future__ import annotations

from collections.abc import Mapping

from .base import Renderer, is_safe_bare

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def dotenv_quote(value: str) -> str:
    if is_safe_bare(value):
        return value
    if not any(c in value for c in "'\\\n\r"):
        # single quotes: no tool expands `$` inside, and without `\` every dialect agrees
        # (python-dotenv unescapes `\\` and `\'` even there)
        return f"'{value}'"
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


class DotenvRenderer(Renderer):
    name = "dotenv"

    def export(self, key: str, value: str) -> str:
        return f"{key}={dotenv_quote(value)}"

    def unset(self, key: str) -> str:  # pragma: no cover - render() skips unsets
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        return "".join(
            self.export(k, v) + "\n" for k, v in sorted(changes.items()) if v is not None
        )
