"""The shapes of mise ``[env]``/``[vars]`` entries shared by the evaluation passes.

``_.file``/``_.path`` take (mise 2026.9.15, ``mise_toml.rs``): a string, a table
with ``path`` (or the deprecated ``value``; for a list also the deprecated
``values``, and ``paths``) beside options (``redact``, ``tools``, ``expand``;
others are ignored), or an array of those. ``mise`` is the deprecated spelling of
the ``_`` table.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

DIRECTIVE_KEYS = ("_", "mise")  # `mise` is mise's deprecated spelling of `_`
_ITEM_KEYS = ("path", "value", "values", "paths")


class Where:
    __slots__ = ("construct", "line", "path")

    def __init__(self, path: str, line: int | None, construct: str) -> None:
        self.path, self.line, self.construct = path, line, construct


class Blocked(Exception):
    """A construct envshim does not evaluate (``exec()``, ``_.source`` …) was reached."""

    def __init__(self, where: Where) -> None:
        super().__init__(where.construct)
        self.where = where


class Skip:
    """Marker: the entry sets nothing (a satisfied default, a required check, a skipped key)."""


SKIP: Any = Skip()


class Item:
    """One path of a ``_.file``/``_.path`` directive, with its options."""

    __slots__ = ("expand", "redact", "text", "tools")

    def __init__(self, text: str, opts: Mapping[str, Any]) -> None:
        self.text = text
        redact = opts.get("redact")
        self.redact: bool | None = redact if isinstance(redact, bool) else None
        self.tools = opts.get("tools") is True
        self.expand = opts.get("expand") is True


def directive_items(name: str, arg: Any, path: str, line: int | None) -> list[Item]:
    """mise's forms of ``_.file``/``_.path``: a string, a table with ``path`` (or the
    deprecated ``value``; for a list also ``values``/``paths``), or an array of those."""
    out: list[Item] = []
    for entry in arg if isinstance(arg, list) else [arg]:
        if isinstance(entry, str):
            out.append(Item(entry, {}))
            continue
        given = [k for k in _ITEM_KEYS if k in entry] if isinstance(entry, dict) else []
        value = entry[given[0]] if len(given) == 1 else None
        if isinstance(value, str) and given[0] in ("path", "value"):
            out.append(Item(value, entry))
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.extend(Item(v, entry) for v in value)
        else:
            raise ConfigError(
                f"_.{name} takes a path, {{ path = … }}, {{ path = [ … ] }} or an array of them",
                path=path,
                line=line,
                hint=f'_.{name} = ["a", {{ path = "b", redact = true }}]',
            )
    return out


def tools_marked(value: Any) -> bool:
    return isinstance(value, dict) and value.get("tools") is True
