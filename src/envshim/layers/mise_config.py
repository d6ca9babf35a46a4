"""One mise config file: its ``[env]`` tables in written order, with line numbers.

``tomllib`` gives no positions, so each key's line is found in the raw text by
one cheap pass over the lines of the ``[env]`` sections (``[env]``,
``[[env]]``, ``[env._]`` …), skipping multi-line strings. Only the first
occurrence of a key in a section counts, which is the one TOML allows.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

CACHE_DIR = "mise-configs.v1"


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


def read_config(path: Path, root: str, cache: ConfigCache | None = None) -> MiseConfig:
    """The ``[env]`` tables of ``path``; parsed with tomllib unless ``cache`` holds this version."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    raw = cache.get(str(path), stamp) if cache is not None else None
    if raw is None:
        raw = _parse(path)
        if cache is not None:
            cache.put(str(path), stamp, raw)
    return MiseConfig(path, root, [EnvTable(data, lines, header) for data, lines, header in raw])


def _parse(path: Path) -> list[tuple[dict[str, Any], dict[str, int], int | None]]:
    from ..tomlread import load_toml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path, hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
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


class ConfigCache:
    """Parsed ``[env]`` tables (never secrets in clear: inline age values stay ciphertext).

    One small ``marshal`` file per config in the user's cache directory, keyed by
    the path and ``(mtime_ns, size, inode)``, so a warm export reads only the
    configs it needs and does not import ``tomllib``. Written atomically, 0600 in
    a 0700 directory; any damage just means a re-parse.
    """

    __slots__ = ("directory",)

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    @classmethod
    def for_environ(cls, environ: Any) -> ConfigCache:
        if environ.get("ENVSHIM_NO_CACHE") == "1":
            return cls(None)
        from ..paths import cache_dir

        return cls(os.path.join(cache_dir(environ), CACHE_DIR))

    def _file(self, key: str) -> str:
        name = key.replace("%", "%25").replace("/", "%2F")
        if len(name.encode()) > 200:  # a file name holds 255 bytes
            import zlib

            name = f"{zlib.crc32(key.encode()):08x}-{name[-120:]}"
        return os.path.join(self.directory or "", name)

    def get(self, key: str, stamp: tuple[int, int, int]) -> Any:
        if self.directory is None:
            return None
        import marshal

        try:
            with open(self._file(key), "rb") as fh:
                entry = marshal.loads(fh.read())  # marshal.load(fh) reads in small pieces
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == key and entry[1] == stamp:
            return entry[2]
        return None

    def put(self, key: str, stamp: tuple[int, int, int], raw: Any) -> None:
        if self.directory is None:
            return
        import marshal

        path = self._file(key)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps((key, stamp, raw)))
            os.replace(tmp, path)
        except (OSError, ValueError):  # a cache that cannot be written is only slower
            if os.path.exists(tmp):
                os.unlink(tmp)


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
