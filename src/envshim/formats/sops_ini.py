"""sops' ini store (``stores/ini``, go-ini rules), for reading.

Sections become branches (keys before the first section are in ``DEFAULT``,
as go-ini has it), values are trimmed, cut at an inline ``#``/``;`` comment and
unquoted. The ``[sops]`` section holds flattened metadata.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from . import sops_meta
from .sops_tree import Pairs

DEFAULT = "DEFAULT"


def _unquote(value: str) -> str:
    if len(value) >= 6 and value.startswith('"""') and value.endswith('"""'):
        return value[3:-3]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return value[1:-1]
    return value


def load(text: str, path: str) -> tuple[Pairs, dict[str, Any] | None, dict[str, int]]:
    sections: dict[str, Pairs] = {DEFAULT: Pairs()}
    lines: dict[str, int] = {}
    current = DEFAULT
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise ConfigError(
                    "unclosed section header", path=path, line=number, hint="write [section]"
                )
            current = line[1:end].strip() or DEFAULT
            sections.setdefault(current, Pairs())
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            raise ConfigError(
                "invalid ini line: no '=' found", path=path, line=number, hint="write key = value"
            )
        key = line[:cut].strip()
        value = line[cut + 1 :]
        stripped = value.strip()
        if not (stripped[:1] in "\"'`" and len(stripped) > 1):
            hits = [i for i in (value.find("#"), value.find(";")) if i >= 0]
            if hits:
                value = value[: min(hits)]
        sections[current].append([key, _unquote(value.strip())])
        lines.setdefault(key if current == DEFAULT else f"{current}__{key}", number)
    meta_section = sections.pop("sops", None)
    meta = None
    if meta_section is not None:
        meta = sops_meta.decode_flat({str(k): str(v) for k, v in meta_section})
    return Pairs([[name, items] for name, items in sections.items()]), meta, lines


def flat_name(names: list[str | int]) -> str:
    """``section__key``; keys of the DEFAULT section stand alone."""
    parts = [str(n) for n in names]
    if parts and parts[0] == DEFAULT:
        parts = parts[1:]
    return "__".join(parts)
