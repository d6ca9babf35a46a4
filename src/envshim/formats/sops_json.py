"""sops' json and binary stores (``stores/json``).

Go decodes every JSON number as a float64, so sops types them ``float``;
:class:`JsonNumber` keeps the written text too, for the environment and for
writing the file back unchanged. Files are written as sops writes them: tab
indentation, ``": "`` separators, a final newline. The binary store is a JSON
object whose ``data`` value is the whole plaintext.
"""

from __future__ import annotations

import json

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


class JsonNumber(float):
    """A JSON number: a float (as Go reads it) that remembers how it was written."""

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        obj = super().__new__(cls, float(text))
        obj.text = text
        return obj


def load(text: str, path: str) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, int]]:
    try:
        data = json.loads(
            text,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=_no_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, hint="fix the JSON syntax"
        ) from None
    except RecursionError:
        raise ConfigError(
            "invalid JSON: nested too deeply", path=path, hint="flatten the structure"
        ) from None
    from .sops_tree import Pairs

    if not isinstance(data, (dict, Pairs)):
        raise ConfigError(
            "a sops JSON file must hold an object at the top",
            path=path,
            hint='wrap it: {"data": …}',
        )
    meta = data.get("sops")
    return data, meta if isinstance(meta, dict) else None, {}


def _object(pairs: list[tuple[str, Any]]) -> Any:
    """A JSON object: a dict, or :class:`Pairs` when it repeats a key. sops keeps every
    item of a repeated key (and its MAC covers them all), so envshim does too; the
    later one wins in the environment, as in every JSON reader that keeps one."""
    keys = [k for k, _v in pairs]
    if len(set(keys)) == len(keys):
        return dict(pairs)
    from .sops_tree import Pairs

    return Pairs([k, v] for k, v in pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_plain(text: str, path: str) -> dict[str, Any]:
    data, meta, _ = load(text, path)
    if meta is not None:
        raise ConfigError(
            "already encrypted with sops", path=path, hint="use `envshim secrets edit` to change it"
        )
    return data


def _encode(value: Any, depth: int) -> str:
    from .sops_tree import Pairs

    pad = "\t" * (depth + 1)
    end = "\t" * depth
    if isinstance(value, (dict, Pairs)):
        if not value:
            return "{}"
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, depth + 1)}"
            for k, v in (value if isinstance(value, Pairs) else value.items())
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + _encode(v, depth + 1) for v in value) + "\n" + end + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, (int, float)):
        from ..crypto.mac import go_float

        return str(value) if isinstance(value, int) else go_float(value)
    return json.dumps(str(value), ensure_ascii=False)


def emit(data: Any, meta: dict[str, Any] | None) -> str:
    from .sops_tree import Pairs

    if isinstance(data, Pairs):
        out: Any = Pairs([k, v] for k, v in data if k != "sops")
        if meta is not None:
            out.append(["sops", meta])
    else:
        out = {k: v for k, v in data.items() if k != "sops"}
        if meta is not None:
            out["sops"] = meta
    return _encode(out, 0) + "\n"


def load_binary_plain(content: str) -> dict[str, Any]:
    return {"data": content}
