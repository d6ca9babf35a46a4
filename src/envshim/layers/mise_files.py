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

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

_GLOB_CHARS = "*[{?"


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


def expand_glob(
    path: str,
    project: str | os.PathLike[str] | None = None,
    outside: list[str] | None = None,
) -> tuple[list[str], list[str] | None]:
    """(matching files, the directories searched) — or ([path], None) when ``path`` is no glob.

    The walk follows a directory symlink only when it leads to a directory inside
    ``project`` (the root of the config that names the glob) that is not already on
    the way down, so a link to ``..`` or out of the project is never walked (two
    links to ``..`` would otherwise make the walk exponential; mise follows links
    out of the project, envshim does not, and ``outside`` collects them for a
    warning); links add at most :data:`MAX_LINKED` directories.
    """
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
    return _walk_match(root, pattern, searched, project, outside), searched


MAX_LINKED = 10000  # directories one glob may reach through directory symlinks


def _walk(root: str, project: str | os.PathLike[str] | None, outside: list[str] | None = None):
    """``os.walk`` that follows directory symlinks only inside the project, never in a loop;
    the links out of the project it leaves are appended to ``outside``. A real tree is
    walked whole (it is finite); what links add is bounded by :data:`MAX_LINKED` (links
    that fan out to the same directories again and again grow exponentially)."""
    inside = os.path.realpath(project if project is not None else root)
    prefix = inside.rstrip("/") + "/"
    # (path, real paths of it and its ancestors, reached through a link)
    stack: list[tuple[str, tuple[str, ...], bool]] = [(root, (os.path.realpath(root),), False)]
    linked = 0
    while stack:
        dirpath, ancestors, via_link = stack.pop()
        if via_link:
            linked += 1
            if linked > MAX_LINKED:
                raise ConfigError(
                    f"the glob reaches more than {MAX_LINKED} directories through symlinks",
                    path=root,
                    hint="narrow the pattern, or remove the directory links it follows",
                )
        try:
            entries = list(os.scandir(dirpath))
        except OSError:
            continue
        dirs: list[tuple[str, bool]] = []
        filenames = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    dirs.append((entry.name, entry.is_symlink()))
                else:
                    filenames.append(entry.name)
            except OSError:
                continue
        yield dirpath, filenames
        for name, is_link in sorted(dirs, reverse=True):
            child = os.path.join(dirpath, name)
            real = os.path.realpath(child) if is_link else os.path.join(ancestors[-1], name)
            if real in ancestors:
                continue  # a link back up: a loop
            if is_link and real != inside and not real.startswith(prefix):
                if outside is not None:
                    outside.append(child)
                continue  # a link out of the project
            stack.append((child, (*ancestors, real), via_link or is_link))


def _walk_match(
    root: str,
    pattern: str,
    searched: list[str],
    project: str | os.PathLike[str] | None = None,
    outside: list[str] | None = None,
) -> list[str]:
    from fnmatch import fnmatchcase

    anchored = "/" in pattern.strip("/")
    parts = pattern.strip("/").split("/")
    out: list[str] = []
    for dirpath, filenames in _walk(root, project, outside):
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
    path: str,
    environ: Mapping[str, str],
    data: bytes | None = None,
    seed: Mapping[str, str] | None = None,
) -> list[tuple[str, str, int | None]]:
    """``(key, value, line)`` for every variable ``path`` sets, in file order, from ``data``
    (the bytes trust hashed) or the file as read now. ``seed``: the environment a dotenv
    file may use with ``expand = true``."""
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
    return _from_dotenv(text, path, environ, seed)


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


def parse_structured(kind: str, text: str, path: str) -> list[tuple[str, str, int | None]]:
    """A json/yaml/toml env file's text (a sops file's plaintext) as mise reads it."""
    return {"json": _from_json, "yaml": _from_yaml, "toml": _from_toml}[kind](text, path)


def _from_json(text: str, path: str) -> list[tuple[str, str, int | None]]:
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, col=exc.colno
        ) from None
    return from_mapping("json", data, path)


def _from_yaml(text: str, path: str) -> list[tuple[str, str, int | None]]:
    from ruamel.yaml import YAML

    from ..yamlread import load_all

    yaml = YAML(typ="rt")  # round-trip types keep how an integer was written
    yaml.version = (1, 2)
    docs = load_all(yaml, text, path)  # aliases bounded: a "billion laughs" fails fast
    data = docs[0] if docs else None
    if data is None:
        return []
    return from_mapping("yaml", data, path)


def _from_toml(text: str, path: str) -> list[tuple[str, str, int | None]]:
    from ..tomlread import load_toml

    return from_mapping("toml", load_toml(Path(path), text), path)


def from_mapping(kind: str, data: object, path: str) -> list[tuple[str, str, int | None]]:
    if not isinstance(data, dict):
        raise ConfigError(f"a {kind} env file must hold a mapping of names to values", path=path)
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
    text: str, path: str, environ: Mapping[str, str], seed: Mapping[str, str] | None = None
) -> list[tuple[str, str, int | None]]:
    """mise's dotenvy; with ``seed`` (``expand = true``) earlier values join the lookups,
    except for the names this file sets itself, as mise does it."""
    from .mise_dotenv import parse

    if seed is None:
        return list(parse(text, path, environ))
    own = {key for key, _v, _l in parse(text, path, environ)}
    usable = {k: v for k, v in seed.items() if k not in own and _is_env_key(k)}
    return list(parse(text, path, environ, usable))


def _is_env_key(key: str) -> bool:
    return (
        bool(key)
        and (key[0] == "_" or (key[0].isascii() and key[0].isalpha()))
        and all(c == "_" or (c.isascii() and c.isalnum()) for c in key)
    )


def read_env_file_lenient(
    path: str, environ: Mapping[str, str], data: bytes, ctx: Any
) -> list[tuple[str, str, int | None]]:
    """``env_file``/``MISE_ENV_FILE``: as mise reads it, a line it cannot parse is skipped
    with a warning naming it (the rest still loads)."""
    from ..tomlread import decode_utf8
    from .mise_dotenv import parse

    skipped: list[int] = []
    out = list(parse(decode_utf8(path, data), path, environ, None, skipped))
    for line in skipped:
        ctx.warnings.append(f"{path}:{line}: mise cannot read this dotenv line; skipped")
    return out


def find_up(cwd: str, name: str, environ: Mapping[str, str]) -> list[str]:
    """Every place ``name`` may be, from the root down to ``cwd`` (mise's FindUp: the
    closest last); the caller reads the ones that exist and watches all of them."""
    from .mise_settings import expand_home

    name = expand_home(name, environ)
    if os.path.isabs(name):
        return [name]
    found = []
    d = os.path.normpath(cwd)
    while True:
        found.append(os.path.join(d, name))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return list(reversed(found))


def sops_kind(path: str) -> str | None:
    """``json``/``yaml``/``toml`` when ``path`` is a sops-encrypted file of that format
    (a top-level ``sops`` table, as mise decides), else None. Read without the trust
    gate: only to choose the route (a secret source is never hashed as config)."""
    ext = os.path.splitext(path)[1]
    kind = {".json": "json", ".yaml": "yaml", ".toml": "toml"}.get(ext)
    if kind is None:
        return None
    from ..safeio import read_regular

    try:
        raw = read_regular(path)
    except (OSError, ConfigError):
        return None  # the normal read reports it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if kind == "json":
        if '"sops"' not in text:
            return None
    elif kind == "yaml":
        if "sops:" not in text:
            return None
    elif "sops" not in text:
        return None
    try:
        if kind == "json":
            import json

            data = json.loads(text)
        elif kind == "yaml":
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except Exception:
        return None  # the normal read reports the syntax error
    meta = data.get("sops") if isinstance(data, dict) else None
    return kind if isinstance(meta, dict) and meta else None
