"""``_.file``: the files a mise config loads, read as mise reads them.

Measured against mise 2026.9.15:

* The path is a template, relative to the config root; ``./`` is dropped and
  ``~/`` is the home directory.
* Only a ``*`` makes a glob. Its root is the longest leading part without
  ``*[{?``; the rest is matched gitignore-style (a pattern without ``/`` matches
  a file name at any depth below the root; ``**`` crosses directories).
  Matches are read in sorted order (mise reads them in directory order, which
  the file system decides). A glob that matches nothing adds nothing.
* The format is chosen by the last extension, case-sensitively: ``.json``,
  ``.yaml`` (not ``.yml``: that is read as dotenv, as mise does) and ``.toml``;
  anything else is dotenv.
* json/yaml/toml: strings as they are, numbers and booleans as text (YAML 1.2
  as serde_yaml reads it: ``on`` is a string, ``0755`` and ``1_000`` stay as
  written, ``0x10`` is ``16``)
  (``false`` is the string ``"false"``, not an unset); null, arrays and tables
  are errors; a toml float or date is an error. Values are never templated or
  ``$``-expanded. A json/yaml file with a top-level ``sops`` key is encrypted:
  :class:`~.mise_template.Unsupported` (mise decrypts it; envshim reads sops
  files through ``envshim.toml``).
* dotenv (as mise's dotenvy reads it): unquoted and double-quoted values
  substitute ``$NAME`` (letters and digits only) and ``${NAME}`` from the
  process environment first, then from earlier lines of the same file, else
  empty; ``\\$`` is a literal ``$``; single-quoted values are literal.

A missing file (not a glob) is an error naming the config line: mise skips it
silently, which hides a typo. A glob that matches nothing is fine in both, so a
glob such as ``".env*"`` makes a file optional.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from .mise_template import Unsupported

_GLOB_CHARS = "*[{?"
_ESCAPED_DOLLAR = "\ufdd0"  # a noncharacter: stands for an escaped `$` during substitution


def normalize(config_root: str, raw: str, home: str | None) -> str:
    """mise's path rule for ``_.file``/``_.path``: ``./`` dropped, ``~/`` home, relative to the root."""
    p = raw[2:] if raw.startswith("./") else raw
    if p.startswith("~/") and home:
        return os.path.join(home, p[2:])
    if p == "~" and home:
        return home
    if not os.path.isabs(p):
        return os.path.join(config_root, p)
    return p


def expand_glob(path: str) -> tuple[list[str], list[str] | None]:
    """(matching files, the directories searched) — or ([path], None) when ``path`` is no glob."""
    if "*" not in path:
        return [path], None
    root = path
    while any(c in root for c in _GLOB_CHARS):
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    pattern = os.path.relpath(path, root)
    searched: list[str] = [root]
    return _walk_match(root, pattern, searched), searched


def _walk_match(root: str, pattern: str, searched: list[str]) -> list[str]:
    from fnmatch import fnmatchcase

    anchored = "/" in pattern.strip("/")
    parts = pattern.strip("/").split("/")
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        if dirpath != root:
            searched.append(dirpath)  # a file created here must trigger a reload
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if anchored:
                ok = _match_parts(rel.split("/"), parts, fnmatchcase)
            else:
                ok = fnmatchcase(name, parts[0])
            if ok:
                out.append(os.path.join(dirpath, name))
    return out


def _match_parts(segs: list[str], pats: list[str], fn) -> bool:
    if not pats:
        return not segs
    if pats[0] == "**":
        return any(_match_parts(segs[k:], pats[1:], fn) for k in range(len(segs) + 1))
    return bool(segs) and fn(segs[0], pats[0]) and _match_parts(segs[1:], pats[1:], fn)


def read_env_file(
    path: str, environ: Mapping[str, str], data: bytes | None = None
) -> list[tuple[str, str, int | None]]:
    """``(key, value, line)`` for every variable ``path`` sets, in file order, from ``data``
    (the bytes trust hashed) or the file as read now."""
    from ..tomlread import decode_utf8

    if data is None:
        from ..safeio import read_regular

        data = read_regular(path)
    text = decode_utf8(path, data)
    ext = os.path.splitext(path)[1]
    if ext == ".json":
        return _from_json(text, path)
    if ext == ".yaml":
        return _from_yaml(text, path)
    if ext == ".toml":
        return _from_toml(text, path)
    return _from_dotenv(text, path, environ)


def _scalar(kind: str, key: str, value: object, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        if kind == "json" and not -(2**63) <= value < 2**64:
            return _float_text(float(value))  # serde_json reads it as a float
        return str(value)
    if isinstance(value, float) and kind != "toml":
        return _float_text(value)
    what = {dict: "a table", list: "an array", type(None): "null"}.get(
        type(value), type(value).__name__
    )
    raise ConfigError(
        f"{key} is {what}, which mise cannot put in a variable",
        path=path,
        hint="use a string, a number or a boolean",
    )


def _float_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return {True: ".nan"}.get(value != value, ".inf" if value > 0 else "-.inf")
    return repr(value)


def _from_json(text: str, path: str) -> list[tuple[str, str, int | None]]:
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, col=exc.colno
        ) from None
    return _from_mapping("json", data, path)


def _from_yaml(text: str, path: str) -> list[tuple[str, str, int | None]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from ..yamlread import yaml_error

    yaml = YAML(typ="rt")  # round-trip types keep how an integer was written
    yaml.version = (1, 2)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise yaml_error(exc, path) from None
    if data is None:
        return []
    return _from_mapping("yaml", data, path)


def _from_toml(text: str, path: str) -> list[tuple[str, str, int | None]]:
    from ..tomlread import load_toml

    return _from_mapping("toml", load_toml(Path(path), text), path)


def _from_mapping(kind: str, data: object, path: str) -> list[tuple[str, str, int | None]]:
    if not isinstance(data, dict):
        raise ConfigError(f"a {kind} env file must hold a mapping of names to values", path=path)
    if kind in ("json", "yaml") and "sops" in data:
        raise Unsupported(f"sops-encrypted _.file {os.path.basename(path)}")
    out = []
    for key, value in data.items():
        if kind == "yaml":
            value = _yaml_written(value)
        out.append((str(key), _scalar(kind, str(key), value, path), None))
    return out


def _yaml_written(value: object) -> object:
    """mise (serde_yaml) keeps ``0755`` and ``1_000`` as written; hex and octal become decimal."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and type(value).__name__ == "ScalarInt"
    ):
        width = getattr(value, "_width", None)
        if width:
            return f"{int(value):0{width}d}"
        underscore = getattr(value, "_underscore", None)
        if underscore:
            digits = str(int(value))
            step = underscore[0] or 3
            groups = []
            while len(digits) > step:
                groups.insert(0, digits[-step:])
                digits = digits[:-step]
            return "_".join([digits, *groups])
    return value


def _from_dotenv(
    text: str, path: str, environ: Mapping[str, str]
) -> list[tuple[str, str, int | None]]:
    from ..formats.dotenv import parse

    marked = "\\$" in text and _ESCAPED_DOLLAR not in text
    if marked:
        text = text.replace("\\$", _ESCAPED_DOLLAR)
    seen: dict[str, str] = {}
    out: list[tuple[str, str, int | None]] = []
    for binding in parse(text, path):
        value = binding.value
        if binding.quote == "'":
            if marked:
                value = value.replace(_ESCAPED_DOLLAR, "\\$")
        else:
            if "$" in value:
                value = _substitute(value, environ, seen)
            if marked:
                value = value.replace(_ESCAPED_DOLLAR, "$")
            if not binding.quote and "\\" in value:
                value = _unescape_unquoted(value)
        seen[binding.key] = value
        out.append((binding.key, value, binding.line))
    return out


def _substitute(value: str, environ: Mapping[str, str], seen: Mapping[str, str]) -> str:
    """dotenvy's substitution: the process environment wins over earlier lines."""
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        if j + 1 < n and value[j + 1] == "{":
            end = value.find("}", j + 2)
            if end < 0:
                out.append(value[j:])
                break
            name = value[j + 2 : end]
            i = end + 1
        else:
            k = j + 1
            while k < n and value[k].isalnum():
                k += 1
            name = value[j + 1 : k]
            i = k
        found = environ.get(name)
        if found is None:
            found = seen.get(name, "")
        out.append(found)
    return "".join(out)


_UNQUOTED_ESCAPES = {"n": "\n", "\\": "\\", "'": "'", '"': '"', "$": "$"}


def _unescape_unquoted(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in _UNQUOTED_ESCAPES:
            out.append(_UNQUOTED_ESCAPES[value[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
