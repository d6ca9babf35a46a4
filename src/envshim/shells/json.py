"""JSON: an object of the variables envshim sets (as ``mise env --json`` prints).

Written without the ``json`` module: importing it pulls in ``re`` (about 10 ms on
every call), and an object of string keys and string values needs only string
escaping, which :func:`json_string` does exactly as ``json.dumps(ensure_ascii=False)``
(checked by a property test).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Renderer

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPES.update({chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in _ESCAPES})


def json_string(text: str) -> str:
    """``text`` as a JSON string literal, UTF-8 kept (lone surrogates escaped as JSON allows)."""
    out = []
    for ch in text:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif "\ud800" <= ch <= "\udfff":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class JsonRenderer(Renderer):
    name = "json"

    def export(self, key: str, value: str) -> str:  # pragma: no cover - render() is used
        return "{" + json_string(key) + ": " + json_string(value) + "}"

    def unset(self, key: str) -> str:  # pragma: no cover - render() is used
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        items = [
            f"  {json_string(k)}: {json_string(v)}"
            for k, v in sorted(changes.items())
            if v is not None
        ]
        if not items:
            return "{}\n"
        return "{\n" + ",\n".join(items) + "\n}\n"
