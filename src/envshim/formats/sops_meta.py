"""The ``sops`` metadata section: building it, and sops' flat form for dotenv and ini.

dotenv and ini files cannot nest, so sops writes its metadata flattened:
``age__list_0__map_enc`` (``__map_`` and ``__list_`` separators), newlines as
``\\n``, and non-strings (``mac_only_encrypted``, ``shamir_threshold``) as text.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


SOPS_VERSION = "3.11.0"  # the sops release whose output envshim writes
_TOKEN = re.compile(r"__map_|__list_")


def flatten(md: dict[str, Any]) -> dict[str, str]:
    """sops' ``FlattenMetadata``: nested mapping to flat keys; nulls dropped."""
    out: dict[str, str] = {}

    def put(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                put(f"{prefix}__map_{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                put(f"{prefix}__list_{i}", v)
        elif value is None:
            return
        elif isinstance(value, bool):
            out[prefix] = "true" if value else "false"
        else:
            out[prefix] = str(value)

    for key, value in md.items():
        if isinstance(value, (dict, list)) or value is not None:
            put(key, value)
    return out


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """sops' ``Unflatten``: flat keys back into nested mappings and lists."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        tokens: list[str | int] = []
        pos = 0
        kind = "map"
        for m in _TOKEN.finditer(key):
            part = key[pos : m.start()]
            tokens.append(_token(kind, part))
            kind = "map" if m.group() == "__map_" else "list"
            pos = m.end()
        tokens.append(_token(kind, key[pos:]))
        node: Any = root
        for i, tok in enumerate(tokens):
            last = i == len(tokens) - 1
            nxt = None if last else tokens[i + 1]
            if last:
                _assign(node, tok, value)
                break
            child = _get(node, tok)
            if child is None:
                child = [] if isinstance(nxt, int) else {}
                _assign(node, tok, child)
            node = child
    return root


def _token(kind: str, part: str) -> str | int:
    if kind == "list":
        try:
            return int(part)
        except ValueError:
            return 0
    return part


def _get(node: Any, tok: str | int) -> Any:
    if isinstance(node, list):
        return node[tok] if isinstance(tok, int) and tok < len(node) else None
    return node.get(tok)


def _assign(node: Any, tok: str | int, value: Any) -> None:
    if isinstance(node, list):
        idx = tok if isinstance(tok, int) else 0
        while len(node) <= idx:
            node.append(None)
        node[idx] = value
    else:
        node[tok] = value


def decode_flat(flat: dict[str, str]) -> dict[str, Any]:
    """Flat metadata as read from dotenv/ini: newlines decoded, then nested."""
    decoded = {k: v.replace("\\n", "\n") for k, v in flat.items()}
    return unflatten(decoded)


def encode_flat(md: dict[str, Any]) -> list[tuple[str, str]]:
    """Nested metadata as sorted flat ``(key, value)`` lines for dotenv/ini."""
    flat = flatten(md)
    return [(k, flat[k].replace("\n", "\\n")) for k in sorted(flat)]


def build(
    groups: list[list[tuple[str, str]]],
    *,
    lastmodified: str,
    mac: str,
    rule: tuple[str, str],
    shamir_threshold: int = 0,
    mac_only_encrypted: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A fresh metadata mapping in the field order sops writes.

    ``groups`` holds ``(recipient, enc)`` per age key. ``extra`` carries key
    entries envshim does not manage (pgp, kms, …) from the previous metadata.
    """
    md: dict[str, Any] = {}
    extra = extra or {}
    if len(groups) > 1:
        md["shamir_threshold"] = shamir_threshold or len(groups)
        kg = []
        old_groups = extra.get("key_groups") or []
        for i, group in enumerate(groups):
            old = old_groups[i] if i < len(old_groups) and isinstance(old_groups[i], dict) else {}
            entry: dict[str, Any] = {k: v for k, v in old.items() if k != "age"}
            entry["age"] = [{"recipient": r, "enc": e} for r, e in group]
            kg.append(entry)
        md["key_groups"] = kg
    else:
        for k in ("kms", "gcp_kms", "azure_kv", "hc_vault"):
            if extra.get(k):
                md[k] = extra[k]
        md["age"] = [{"recipient": r, "enc": e} for r, e in (groups[0] if groups else [])]
    md["lastmodified"] = lastmodified
    md["mac"] = mac
    if len(groups) <= 1 and extra.get("pgp"):
        md["pgp"] = extra["pgp"]
    md[rule[0]] = rule[1]
    if mac_only_encrypted:
        md["mac_only_encrypted"] = True
    md["version"] = SOPS_VERSION
    return md
