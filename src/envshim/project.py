"""Finding the project: its root, its options (``envshim.toml``) and the profile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ._record import dataclass  # dataclasses without inspect: the export path
from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

OPTIONS_FILE = "envshim.toml"
# The committed mise config files of one directory, in mise's order of precedence.
MISE_FILES = (
    "mise.toml",
    ".mise.toml",
    ".config/mise.toml",
    ".config/mise/config.toml",
    "mise/config.toml",
    ".mise/config.toml",
)
# A directory holding one of these is a project root when no envshim.toml is above.
ROOT_MARKERS = (
    OPTIONS_FILE,
    "mise.toml",
    ".mise.toml",
    "mise.local.toml",
    ".mise.local.toml",
    ".config/mise.toml",
    ".config/mise/config.toml",
    "mise/config.toml",
    ".mise/config.toml",
    ".sops.yaml",
)
KNOWN_OPTIONS = {
    "files",
    "user_store",
    "required",
    "missing_key",
    "profiles",
    "env",
    "allow_guarded",
    "exec_only",
    "agents",
}


@dataclass
class Project:
    cwd: Path
    root: Path
    profiles: list[str]
    options: dict[str, Any]
    options_path: Path | None
    options_raw: bytes | None = None  # the bytes of envshim.toml that were parsed


def profiles_from(env_arg: str | None, environ: Mapping[str, str]) -> list[str]:
    """``--env``, else ``ENVSHIM_ENV``, else ``MISE_ENV``: a comma list, the last one wins."""
    raw = env_arg or environ.get("ENVSHIM_ENV") or environ.get("MISE_ENV") or ""
    return [p.strip() for p in raw.split(",") if p.strip()]


def find_root(cwd: Path) -> Path:
    """The nearest directory with ``envshim.toml``; else the nearest with a mise config."""
    candidates = [cwd, *cwd.parents]
    for directory in candidates:
        if (directory / OPTIONS_FILE).is_file():
            return directory
    for directory in candidates:
        if any((directory / name).is_file() for name in ROOT_MARKERS[1:]):
            return directory
    return cwd


OPTIONS_CACHE = "envshim-toml.v1"


def read_options(
    path: Path, environ: Mapping[str, str] | None = None, raw: bytes | None = None
) -> dict[str, Any]:
    """``envshim.toml``, checked: ``raw`` (the bytes trust hashed) or the file as read now.
    With ``environ``, through the parse cache (the export path: tomllib is ~10 ms on
    every ``cd``); without, parsed directly, creating nothing."""
    if raw is None:
        from .safeio import read_regular

        raw = read_regular(path)
    if environ is None:
        data = _parse_options(path, raw)
    else:
        from .parsecache import ParseCache

        data = ParseCache.for_environ(environ, OPTIONS_CACHE).load(path, _parse_options, raw)
    unknown = sorted(set(data) - KNOWN_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown option {unknown[0]!r}",
            path=path,
            hint=f"known options are {', '.join(sorted(KNOWN_OPTIONS))}",
        )
    return data


def _parse_options(path: Path, raw: bytes) -> dict[str, Any]:
    from .tomlread import decode_utf8, load_toml

    return load_toml(path, decode_utf8(path, raw))


def find_project(
    path: str | os.PathLike[str] = ".",
    env_arg: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    cache: bool = False,
    read: Any = None,
) -> Project:
    """The project around ``path``. ``cache=True`` (the export path) keeps a parsed copy of
    ``envshim.toml`` in the user's cache directory; read-only commands create nothing."""
    environ = os.environ if environ is None else environ
    cwd = Path(os.path.abspath(path))
    if not cwd.is_dir():
        raise ConfigError("not a directory", path=cwd)
    root = find_root(cwd)
    options_path = root / OPTIONS_FILE
    exists = options_path.is_file()
    raw = None
    if exists:
        if read is not None:
            raw = read(options_path)
        else:
            from .safeio import read_regular

            raw = read_regular(options_path)
    options = read_options(options_path, environ if cache else None, raw) if exists else {}
    profiles = profiles_from(env_arg, environ)
    return Project(cwd, root, profiles, options, options_path if exists else None, raw)
