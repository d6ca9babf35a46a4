"""sops' dotenv store (``stores/dotenv``): one ``KEY=value`` per line, literal.

Exactly as sops reads it: a line starting with ``#`` is a comment (its text
after the ``#``), empty lines are skipped, everything after the first ``=`` is
the value with ``\\n`` turned into a newline, and nothing is trimmed or
unquoted. Keys starting with ``sops_`` are the flattened metadata. This is
the dialect of :func:`envshim.formats.dotenv.parse_sops`, kept byte-exact
here (no ``\\r`` stripping) because the MAC covers every byte.
"""

from __future__ import annotations

from ..errors import ConfigError
from . import sops_meta
from .sops_tree import Comment, Pairs

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

PREFIX = "sops_"


def load(text: str, path: str) -> tuple[Pairs, dict[str, Any] | None, dict[str, int]]:
    """``(data branch, nested metadata or None, {key: line})``."""
    branch = Pairs()
    flat: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        if line[0] == "#":
            branch.append([Comment(line[1:]), None])
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(
                "invalid dotenv line: no '=' found",
                path=path,
                line=number,
                hint="sops dotenv files hold one KEY=VALUE per line",
            )
        if key.startswith(PREFIX):
            flat[key[len(PREFIX) :]] = value
            continue
        item = [key, value.replace("\\n", "\n")]
        branch.append(item)
        branch.item_lines[id(item)] = number  # a repeated key's own line, for messages
        lines.setdefault(key, number)
    meta = sops_meta.decode_flat(flat) if flat else None
    return branch, meta, lines


def load_plain(text: str, path: str) -> Pairs:
    branch, meta, _lines = load(text, path)
    if meta is not None:
        raise ConfigError(
            "already encrypted with sops", path=path, hint="use `envshim secrets edit` to change it"
        )
    return branch


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def emit(branch: Pairs, meta: dict[str, Any] | None) -> str:
    out = []
    for key, value in branch:
        if isinstance(key, Comment):
            out.append(f"#{key}\n")
        else:
            out.append(f"{key}={_value_text(value).replace(chr(10), chr(92) + 'n')}\n")
    if meta is not None:
        out += [f"{PREFIX}{k}={v}\n" for k, v in sops_meta.encode_flat(meta)]
    return "".join(out)
