"""sops' yaml store (``stores/yaml``), read and written with ruamel.yaml (YAML 1.2).

ruamel's round-trip mode keeps comments, key order and quoting, so setting one
value changes one line. Files are written the way sops writes them: 4-space
indentation, list items indented under their key, ``enc`` blocks literal.
Timestamps stay strings, as Go's yaml.v3 decodes them into a sops tree.
Comments are encrypted as sops does (``#ENC[…,type:comment]``), with the path
of the mapping that holds them as AAD.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

_COMMENT_LINE = re.compile(r"^(\s*)#(.*?)(\r?\n)?$", re.DOTALL)


def _yaml() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor

    class _Constructor(RoundTripConstructor):
        pass

    def _timestamp_as_text(self: Any, node: Any) -> str:
        return str(node.value)

    _Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.preserve_quotes = True
    y.indent(mapping=4, sequence=6, offset=4)
    y.width = 1 << 30
    return y


def load(text: str, path: str) -> tuple[list[Any], dict[str, Any] | None, dict[str, int]]:
    from ruamel.yaml.comments import CommentedMap

    from ..yamlread import load_all

    docs = load_all(_yaml(), text, path)  # errors quote nothing; aliases bounded
    branches = []
    for doc in docs:
        if doc is None:
            doc = CommentedMap()
        if not isinstance(doc, CommentedMap):
            raise ConfigError(
                "a sops YAML document must be a mapping at the top",
                path=path,
                hint="put the values under keys",
            )
        branches.append(doc)
    if not branches:
        branches.append(CommentedMap())
    meta = branches[0].get("sops")
    return branches, meta if isinstance(meta, dict) else None, {}


def load_plain(text: str, path: str) -> list[Any]:
    branches, meta, _ = load(text, path)
    if meta is not None:
        raise ConfigError(
            "already encrypted with sops", path=path, hint="use `envshim secrets edit` to change it"
        )
    return branches


def line_of(container: Any, key: Any) -> int | None:
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        pos = lc.item(key) if isinstance(key, int) and isinstance(container, list) else lc.key(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return pos[0] + 1 if pos else None


def _to_ruamel(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            if k == "enc" and isinstance(v, str) and "\n" in v:
                out[k] = LiteralScalarString(v)
            elif k in ("lastmodified", "created_at") and isinstance(v, str):
                out[k] = DoubleQuotedScalarString(v)
            else:
                out[k] = _to_ruamel(v)
        return out
    if isinstance(value, list):
        return CommentedSeq([_to_ruamel(v) for v in value])
    return value


def emit(branches: list[Any], meta: dict[str, Any] | None, *, plain: bool = False) -> str:
    y = _yaml()
    for doc in branches:
        if meta is not None:
            doc["sops"] = _to_ruamel(meta)
        elif "sops" in doc:
            del doc["sops"]
        if plain:
            _literal_multiline(doc)
    buf = io.StringIO()
    if len(branches) == 1:
        y.dump(branches[0], buf)
    else:
        y.dump_all(branches, buf)
    return buf.getvalue()


def _literal_multiline(node: Any) -> None:
    """Show multi-line plaintext as ``|`` blocks in an edit buffer."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for k, v in list(items):
        if isinstance(v, (dict, list)):
            _literal_multiline(v)
        elif isinstance(v, str) and "\n" in v and not isinstance(v, LiteralScalarString):
            node[k] = LiteralScalarString(v)


def map_comments(
    node: Any,
    fn: Callable[[str, list[str]], str],
    path: list[str] | None = None,
    skip_top: str | None = "sops",
    frames: list[tuple[int, list[str], bool]] | None = None,
) -> None:
    """Apply ``fn(text after '#', aad path)`` to every comment under ``node``.

    ruamel attaches a comment to the item before it; Go's yaml.v3 (sops) to the
    node it stands beside. A comment back at the left margin after a nested
    block belongs to the document; an indented one to the block it follows.
    (A comment indented at a middle level right before a key of that level is
    the one case where sops may see another owner: it then shows that comment
    still encrypted, and nothing else is affected.)
    """
    path = path or []
    col = getattr(getattr(node, "lc", None), "col", 0) or 0
    frames = [*(frames or []), (col, path, isinstance(node, dict))]
    ca = getattr(node, "ca", None)
    if ca is not None:
        tokens: list[tuple[Any, bool]] = []
        _collect(ca.comment, tokens, False)
        for key, item in ca.items.items():
            if skip_top is not None and not path and key == skip_top:
                continue
            _collect(item, tokens, True)
        _collect(ca.end, tokens, False)
        for tok, after_item in tokens:
            tok.value = _map_token(tok, after_item, frames, fn)
            if after_item and tok.value.lstrip(" ").startswith("#"):
                tok.column = 0  # an end-of-line comment: one space after the (re-sized) value
    if isinstance(node, dict):
        for k, v in node.items():
            if skip_top is not None and not path and k == skip_top:
                continue
            if isinstance(v, (dict, list)):
                map_comments(v, fn, [*path, str(k)], None, frames)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                map_comments(v, fn, path, None, frames)


def _owner(indent: int, frames: list[tuple[int, list[str], bool]]) -> list[str]:
    # what sops (yaml.v3) does in practice: a comment at the left margin is the document's,
    # an indented one stays with the block it follows
    return frames[0][1] if indent == 0 else frames[-1][1]


def _collect(obj: Any, out: list[tuple[Any, bool]], after_item: bool) -> None:
    from ruamel.yaml.tokens import CommentToken

    if obj is None:
        return
    if isinstance(obj, CommentToken):
        out.append((obj, after_item))
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _collect(o, out, after_item)


def _map_token(
    tok: Any,
    after_item: bool,
    frames: list[tuple[int, list[str], bool]],
    fn: Callable[[str, list[str]], str],
) -> str:
    out = []
    for i, line in enumerate(tok.value.splitlines(keepends=True)):
        m = _COMMENT_LINE.match(line)
        if not m:
            out.append(line)
            continue
        if i == 0 and after_item:
            path = frames[-1][1]  # a comment at the end of an item's line
        else:
            indent = len(m.group(1)) if i else (tok.column or 0) + len(m.group(1))
            path = _owner(indent, frames)
        out.append(f"{m.group(1)}#{fn(m.group(2), path)}{m.group(3) or ''}")
    return "".join(out)
