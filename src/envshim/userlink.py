"""Which user store a project names: ``user_store`` in its options, python-env-secrets'
``ENV_SECRETS_ID``/``USER_SECRETS_ID`` in ``.env``, or dotnet's ``<UserSecretsId>``.

Apart from the store itself (``userstore.py``) because every export asks this
question, and most projects answer "none": nothing here imports ``re`` or ``json``
until a file that could hold an id is actually there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ._record import dataclass  # dataclasses without inspect: the export path
from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

_PATTERNS = {
    "id": r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}",
    "env": r"^\s*(?:export\s+)?(ENV_SECRETS_ID|USER_SECRETS_ID)\s*=\s*(.*?)\s*$",
    "csproj": r"<UserSecretsId>\s*([^<]*?)\s*</UserSecretsId>",
}


def _pattern(name: str) -> Any:
    import re  # compiled once and cached by re itself

    return re.compile(_PATTERNS[name])


def check_id(
    value: str, *, path: str | os.PathLike[str] | None = None, line: int | None = None
) -> str:
    """Refuse an id that could name anything but one directory under ``users/``."""
    if not isinstance(value, str) or not _pattern("id").fullmatch(value) or ".." in value:
        shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
        raise ConfigError(
            f"user store id {shown} is not usable as a directory name",
            path=path,
            line=line,
            hint="use letters, digits, '.', '_' and '-' only (a UUID: `envshim user init --new`)",
        )
    return value


# --- the link ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """Where a project names its store id."""

    id: str
    kind: str  # "option" | "env-secrets" | "dotnet"
    path: Path | None  # the file that holds it
    line: int | None = None

    def describe(self) -> str:
        where = str(self.path) if self.path else "options"
        if self.line:
            where += f":{self.line}"
        return where


def _dotenv_id(path: Path) -> tuple[str, int] | None:
    """``ENV_SECRETS_ID`` (newer) or ``USER_SECRETS_ID`` (older) in a python-env-secrets ``.env``.

    Only those two lines are looked at, leniently, so the rest of a ``.env`` can
    never break the lookup (and no other value is read).
    """
    from .safeio import read_regular

    try:
        text = read_regular(path).decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        return None
    found: dict[str, tuple[str, int]] = {}
    env_id = _pattern("env")
    for number, raw in enumerate(text.splitlines(), start=1):
        m = env_id.match(raw)
        if m:
            value = m.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[m.group(1)] = (value, number)
    return found.get("ENV_SECRETS_ID") or found.get("USER_SECRETS_ID")


def _csproj_id(root: Path) -> tuple[str, Path] | None:
    try:
        names = sorted(e.name for e in os.scandir(root) if e.name.endswith(".csproj"))
    except OSError:
        return None
    for name in names:
        from .safeio import read_regular

        try:
            text = read_regular(root / name).decode("utf-8-sig", errors="replace")
        except FileNotFoundError:
            continue
        m = _pattern("csproj").search(text)
        if m:
            return m.group(1), root / name
    return None


def find_link(
    root: Path,
    options: Mapping[str, Any],
    *,
    options_path: Path | None = None,
    watch: list[Path] | None = None,
) -> Link | None:
    """The id this project presents, checked; None when it names no store."""
    value = options.get("user_store")
    if value is not None:
        if not isinstance(value, str):
            raise ConfigError(
                "user_store must be a string (the store id)",
                path=options_path,
                hint='write user_store = "<uuid>"',
            )
        return Link(check_id(value, path=options_path), "option", options_path)
    env_file = root / ".env"
    if watch is not None:
        watch.append(env_file)
    if env_file.is_file():
        found = _dotenv_id(env_file)
        if found:
            value, line = found
            return Link(check_id(value, path=env_file, line=line), "env-secrets", env_file, line)
    if watch is not None:
        watch.append(root)  # a .csproj could appear
    csproj = _csproj_id(root)
    if csproj:
        return Link(check_id(csproj[0], path=csproj[1]), "dotnet", csproj[1])
    return None
