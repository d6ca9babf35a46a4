"""elvish: ``set-env K 'v'``; ``unset-env K``.

Inside elvish single quotes every character is literal and ``'`` is written
``''``; a newline may stand inside the quotes.
"""

from __future__ import annotations

from .base import Renderer

# Measured by tests/test_shells_more.py: elvish hands every variable a script sets to
# its children as written (``PATH`` is mirrored by ``$paths`` both ways).
ELVISH_MEASURED: frozenset[str] = frozenset()
ELVISH_RESERVED = ELVISH_MEASURED


def elvish_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class ElvishRenderer(Renderer):
    name = "elvish"
    reserved = ELVISH_RESERVED
    measured = ELVISH_MEASURED

    def quote(self, value: str) -> str:
        return elvish_quote(value)

    def export(self, key: str, value: str) -> str:
        return f"set-env {key} {self.quote(value)}"

    def unset(self, key: str) -> str:
        return f"unset-env {key}"
