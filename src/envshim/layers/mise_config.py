"""One mise config file: its ``[env]`` and ``[vars]`` tables in written order, with line
numbers, and the few top-level keys the mise layer follows (``redactions``, the
``[settings]`` in :data:`SETTINGS`, the deprecated ``env_path``/``env_file``/``dotenv``).

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

CACHE_NAMESPACE = "mise-configs.v2"


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
    __slots__ = (
        "is_global",
        "name",
        "path",
        "redactions",
        "root",
        "settings",
        "tables",
        "vars_tables",
    )

    def __init__(
        self,
        path: Path,
        root: str,
        tables: list[EnvTable],
        vars_tables: list[EnvTable] | None = None,
        settings: dict[str, Any] | None = None,
        redactions: list[str] | None = None,
    ) -> None:
        self.path = path
        self.name = str(path)
        self.root = root  # config_root: the project directory the file belongs to
        self.tables = tables  # [env], after the deprecated top-level env_path/env_file/dotenv
        self.vars_tables = vars_tables or []  # [vars]
        self.settings = settings or {}  # the [settings] envshim follows (SETTINGS)
        self.redactions = redactions or []  # top-level `redactions = [...]` (name globs)
        self.is_global = False  # a global or system config (set by the caller that found it)


# The `[settings]` that change what the mise layer produces, with their TOML types.
SETTINGS: dict[str, type | tuple[type, ...]] = {
    "no_env": bool,
    "env_shell_expand": bool,
    "env_file": str,
    "safe": bool,
    "age.key_file": str,
    "age.strict": bool,
    "age.identity_files": list,
    "sops.strict": bool,
}


def config_root(path: Path, home: str | None, is_global: bool) -> str:
    """mise's config_root (``config_root.rs``): the directory a config describes.

    A global or system config describes ``$MISE_GLOBAL_CONFIG_ROOT`` (else the home
    directory). Otherwise: ``conf.d``/``tasks`` in a ``mise``/``.mise`` directory, and
    ``config*.toml`` directly in one, describe the directory above it (above
    ``.config`` too); a file directly in ``.config`` describes the directory above;
    anything else (``mise.toml`` in a directory that happens to be named ``mise``)
    describes its own directory.
    """
    if is_global and home:
        return home
    parent = path.parent
    name = path.name
    up1 = parent.name
    up2 = parent.parent.name

    def is_mise_dir(d: str) -> bool:
        return d in ("mise", ".mise")

    def is_config_name(f: str) -> bool:
        if f in ("config.toml", "config.local.toml"):
            return True
        at = f.find("config.")  # mise's unanchored `config\..+\.toml`
        while at >= 0:
            if f.find(".toml", at + len("config.") + 1) >= 0:
                return True
            at = f.find("config.", at + 1)
        return False

    if up1 in ("mise-tasks", ".mise-tasks"):
        out = parent.parent
    elif up1 in ("tasks", "conf.d") and is_mise_dir(up2):
        out = parent.parent.parent
        if out.name == ".config":
            out = out.parent
    elif is_mise_dir(up1) and is_config_name(name):
        out = parent.parent
        if out.name == ".config":
            out = out.parent
    elif up1 == ".config":
        out = parent.parent
    else:
        out = parent
    return str(out)


def read_config(
    path: Path, root: str, cache: ParseCache | None = None, data: bytes | None = None
) -> MiseConfig:
    """The ``[env]`` tables of ``path`` from ``data`` (the bytes trust hashed; read now when
    not given); parsed with tomllib unless ``cache`` holds the parse of these bytes."""
    if data is None:
        from ..safeio import read_regular

        data = read_regular(path)
    raw = cache.load(path, _parse, data) if cache is not None else _parse(path, data)
    return MiseConfig(
        path,
        root,
        [EnvTable(d, lines, header) for d, lines, header in raw["env"]],
        [EnvTable(d, lines, header) for d, lines, header in raw["vars"]],
        raw["settings"],
        raw["redactions"],
    )


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    from ..tomlread import decode_utf8, load_toml

    text = decode_utf8(path, raw)
    data = load_toml(path, text)
    top = _top_lines(text)
    env = _tables(path, text, data, "env")
    legacy = _legacy_table(path, data, top)
    if legacy is not None:
        env.insert(0, legacy)
    variables = _tables(path, text, data, "vars")
    for table, lines, _header in variables:
        if "mise" in table:
            raise ConfigError(
                "vars.mise is not supported (mise rejects it too)",
                path=path,
                line=lines.get("mise"),
                hint="write directives as _.file in [vars]",
            )
    return {
        "env": env,
        "vars": variables,
        "settings": _settings(path, data.get("settings"), top),
        "redactions": _redactions(path, data.get("redactions"), top),
    }


def _tables(
    path: Path, text: str, data: dict[str, Any], section: str
) -> list[tuple[dict[str, Any], dict[str, int], int | None]]:
    """``[section]`` or ``[[section]]``: each table with its key lines and header line."""
    value = data.get(section)
    if value is None:
        return []
    if isinstance(value, dict):
        raw_tables = [value]
    elif isinstance(value, list) and all(isinstance(t, dict) for t in value):
        raw_tables = value
    else:
        raise ConfigError(
            f"{section} must be a table ([{section}]) or an array of tables ([[{section}]])",
            path=path,
        )
    indexes = _index_lines(text, section)
    out = []
    for n, table in enumerate(raw_tables):
        lines, header = indexes[n] if n < len(indexes) else ({}, None)
        out.append((_plain(table, text, lines), lines, header))
    return out


def _legacy_table(
    path: Path, data: dict[str, Any], top: dict[str, int]
) -> tuple[dict[str, Any], dict[str, int], int | None] | None:
    """The deprecated top-level ``env_path``, ``env_file`` and ``dotenv`` (mise still reads
    them, before ``[env]``): one ``_`` table of ``path`` then ``file``."""
    directives: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    for key, name in (("env_path", "path"), ("env_file", "file"), ("dotenv", "file")):
        value = data.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(i, str) for i in items):
            raise ConfigError(
                f"{key} takes a path or an array of paths", path=path, line=top.get(key)
            )
        directives.setdefault(name, []).extend(items)
        if key in top:
            lines.setdefault(f"_.{name}", top[key])
    if not directives:
        return None
    return ({"_": directives}, lines, None)


def _settings(path: Path, table: Any, top: dict[str, int]) -> dict[str, Any]:
    """The :data:`SETTINGS` a ``[settings]`` table sets (dotted names), type-checked."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError("settings must be a table", path=path, line=top.get("settings"))
    out: dict[str, Any] = {}
    for name, kind in SETTINGS.items():
        node: Any = table
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        if not isinstance(node, kind) or (
            kind is list and not all(isinstance(i, str) for i in node)
        ):
            raise ConfigError(
                f"setting {name} has the wrong type",
                path=path,
                hint="see `mise settings ls` for its type",
            )
        out[name] = node
    return out


def _redactions(path: Path, value: Any, top: dict[str, int]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise ConfigError(
            "redactions must be an array of name patterns",
            path=path,
            line=top.get("redactions"),
            hint='redactions = ["*_TOKEN", "SECRET_*"]',
        )
    return list(value)


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


def _index_lines(text: str, section: str = "env") -> list[tuple[dict[str, int], int | None]]:
    """Per ``[section]``/``[[section]]`` table: key -> line, and the header's line."""
    out: list[tuple[dict[str, int], int | None]] = []
    current: dict[str, int] | None = None
    prefix = ""
    in_multiline: str | None = None
    plain, array, dotted = f"[{section}]", f"[[{section}]]", f"[{section}."
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
            if header in (array, plain):
                current = {}
                out.append((current, number))
                prefix = ""
            elif header.startswith(dotted) and header.endswith("]") and not header.startswith("[["):
                if not out:
                    out.append(({}, number))
                current = out[-1][0]
                prefix = _unquote_key(header[len(dotted) : -1]) + "."
            else:
                current = None
            continue
        eq = line.find("=")
        if eq <= 0:
            continue
        if current is None:
            if line.startswith(section + ".") or line.startswith(section + " ="):
                if not out:
                    out.append(({}, number))
                if line.startswith(section + "."):
                    out[-1][0].setdefault(_unquote_key(line[len(section) + 1 : eq]), number)
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


def _top_lines(text: str) -> dict[str, int]:
    """Lines of the top-level keys (before the first table header)."""
    out: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            break
        eq = line.find("=")
        if eq > 0 and not line.startswith("#"):
            out.setdefault(_unquote_key(line[:eq]).split(".", 1)[0], number)
    return out


def _unquote_key(key: str) -> str:
    parts = []
    for part in key.strip().split("."):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return ".".join(parts)
