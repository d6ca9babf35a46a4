"""One mise config file: its ``[env]`` tables in written order, with line numbers.

``tomllib`` gives no positions, so each key's line is found in the raw text by
one cheap pass over the lines of the ``[env]`` sections (``[env]``,
``[[env]]``, ``[env._]`` …), skipping multi-line strings. Only the first
occurrence of a key in a section counts, which is the one TOML allows.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..parsecache import ParseCache

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

CACHE_NAMESPACE = "mise-configs.v1"


class EnvTable:
    """One ``[env]`` table (``[[env]]`` gives several), with where each key was written."""

    __slots__ = ("data", "header", "lines")

    def __init__(self, data: dict[str, Any], lines: dict[str, int], header: int | None) -> None:
        self.data = data
        self.lines = lines  # "KEY" or "_.file" -> line
        self.header = header

    def line_of(self, key: str) -> int | None:
        found = self.lines.get(key)
        if found is None and "." in key:
            found = self.lines.get(key.split(".", 1)[0])
        return found if found is not None else self.header


class MiseConfig:
    __slots__ = ("name", "path", "root", "tables")

    def __init__(self, path: Path, root: str, tables: list[EnvTable]) -> None:
        self.path = path
        self.name = str(path)
        self.root = root  # config_root: the project directory the file belongs to
        self.tables = tables


def config_root(path: Path, home: str | None, is_global: bool) -> str:
    """mise's config_root: the directory a config describes (home for the global one)."""
    if is_global and home:
        return home
    d = path.parent
    if d.name == "conf.d":
        d = d.parent
    if d.name in ("mise", ".mise"):
        d = d.parent
    if d.name == ".config":
        d = d.parent
    return str(d)


def read_config(
    path: Path, root: str, cache: ParseCache | None = None, data: bytes | None = None
) -> MiseConfig:
    """The ``[env]`` tables of ``path`` from ``data`` (the bytes trust hashed; read now when
    not given); parsed with tomllib unless ``cache`` holds the parse of these bytes."""
    if data is None:
        from ..safeio import read_regular

        data = read_regular(path)
    raw = cache.load(path, _parse, data) if cache is not None else _parse(path, data)
    return MiseConfig(path, root, [EnvTable(data, lines, header) for data, lines, header in raw])


def _parse(path: Path, raw: bytes) -> list[tuple[dict[str, Any], dict[str, int], int | None]]:
    from ..tomlread import decode_utf8, load_toml

    text = decode_utf8(path, raw)
    data = load_toml(path, text)
    env = data.get("env")
    if env is None:
        return []
    if isinstance(env, dict):
        raw_tables = [env]
    elif isinstance(env, list) and all(isinstance(t, dict) for t in env):
        raw_tables = env
    else:
        raise ConfigError("env must be a table ([env]) or an array of tables ([[env]])", path=path)
    indexes = _index_lines(text)
    out = []
    for n, table in enumerate(raw_tables):
        lines, header = indexes[n] if n < len(indexes) else ({}, None)
        out.append((_plain(table, text, lines), lines, header))
    return out


def _plain(table: dict[str, Any], text: str, lines: dict[str, int]) -> dict[str, Any]:
    """TOML dates and times become ``(written text,)``: mise keeps them as written."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if hasattr(value, "isoformat"):
            value = (_raw_value(text, lines.get(key)) or value.isoformat(),)
        elif isinstance(value, dict):
            value = {
                k: (v.isoformat(),) if hasattr(v, "isoformat") else v for k, v in value.items()
            }
        out[key] = value
    return out


def _raw_value(text: str, line: int | None) -> str | None:
    if line is None:
        return None
    lines = text.splitlines()
    if line > len(lines):
        return None
    _, _, rest = lines[line - 1].partition("=")
    return rest.split("#", 1)[0].strip() or None


def _index_lines(text: str) -> list[tuple[dict[str, int], int | None]]:
    """Per ``[env]``/``[[env]]`` table: key -> line, and the header's line."""
    out: list[tuple[dict[str, int], int | None]] = []
    current: dict[str, int] | None = None
    prefix = ""
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            header = line.split("#", 1)[0].strip()
            if header == "[[env]]" or header == "[env]":
                current = {}
                out.append((current, number))
                prefix = ""
            elif (
                header.startswith("[env.") and header.endswith("]") and not header.startswith("[[")
            ):
                if not out:
                    out.append(({}, number))
                current = out[-1][0]
                prefix = _unquote_key(header[5:-1]) + "."
            else:
                current = None
            continue
        eq = line.find("=")
        if eq <= 0:
            continue
        if current is None:
            if line.startswith("env.") or line.startswith("env ="):
                if not out:
                    out.append(({}, number))
                if line.startswith("env."):
                    out[-1][0].setdefault(_unquote_key(line[4:eq]), number)
            continue
        key = prefix + _unquote_key(line[:eq])
        current.setdefault(key, number)
        head = key.split(".", 1)[0]
        current.setdefault(head, number)
        rest = line[eq + 1 :]
        for q in ('"""', "'''"):
            if rest.count(q) % 2 == 1:
                in_multiline = q
                break
    return out


def _unquote_key(key: str) -> str:
    parts = []
    for part in key.strip().split("."):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return ".".join(parts)
