"""Reading the per-user stores of other tools, for teams moving over (read-only).

* python-env-secrets: ``~/.python/envsecrets/<id>/.secrets`` (id in ``.env`` as
  ``ENV_SECRETS_ID``) and the older ``~/.python/usersecrets/<id>/.secrets``
  (``USER_SECRETS_ID``); on Windows ``%APPDATA%/Python/EnvSecrets/<id>/.secrets``.
  Plain ``KEY=value`` lines as that tool reads them: ``#`` comment lines,
  an optional ``export``, key and value trimmed, one pair of matching quotes
  removed, no escapes and no expansion.
* dotnet user-secrets: ``$APPDATA/Microsoft/UserSecrets/<id>/secrets.json``, else
  ``~/.microsoft/usersecrets/<id>/secrets.json``. JSON as .NET configuration
  reads it (``//`` and ``/* */`` comments and trailing commas allowed); nested
  objects and ``A:B`` keys both become ``A__B`` (.NET's own environment
  spelling), arrays by index, ``true``/``false``, numbers as written, null as "".

These files are plaintext by their tools' design: envshim reads them as they are
and never writes them (``envshim user import`` copies the values into an
encrypted store and leaves the source as it was).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._record import dataclass  # dataclasses without inspect: the export path
from .errors import ConfigError


@dataclass(frozen=True)
class CompatStore:
    kind: str  # "python-env-secrets" | "dotnet"
    path: Path

    def load(self, warnings: list[str] | None = None) -> dict[str, str]:
        return read_source(self.path, self.kind, warnings)


def _home(environ: Mapping[str, str]) -> Path:
    # Not paths.home: dotnet and python-env-secrets take $HOME as given, even relative.
    return Path(environ.get("HOME") or os.path.expanduser("~"))


def candidate_paths(store_id: str, environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    """Where the other tools keep the store for ``store_id`` (an id already checked)."""
    home = _home(environ)
    out: list[tuple[str, Path]] = []
    appdata = environ.get("APPDATA")
    if appdata:
        out.append(
            ("python-env-secrets", Path(appdata) / "Python" / "EnvSecrets" / store_id / ".secrets")
        )
    out += [
        ("python-env-secrets", home / ".python" / "envsecrets" / store_id / ".secrets"),
        ("python-env-secrets", home / ".python" / "usersecrets" / store_id / ".secrets"),
    ]
    if appdata:
        out.append(
            ("dotnet", Path(appdata) / "Microsoft" / "UserSecrets" / store_id / "secrets.json")
        )
    else:
        out.append(("dotnet", home / ".microsoft" / "usersecrets" / store_id / "secrets.json"))
    return out


def find_compat(
    store_id: str, environ: Mapping[str, str], watch: list[Path] | None = None
) -> CompatStore | None:
    for kind, path in candidate_paths(store_id, environ):
        if watch is not None:
            watch.append(path)
        if path.is_file():
            return CompatStore(kind, path)
    return None


def kind_of(path: Path) -> str:
    """How to read an import source: by its name, as the tools name their files."""
    if path.suffix.lower() == ".json":
        return "dotnet"
    if path.name == ".secrets":
        return "python-env-secrets"
    return "dotenv"


def resolve_source(path: Path) -> tuple[Path, str]:
    """An import source: a file, or a store directory of either tool."""
    if path.is_dir():
        for name, kind in ((".secrets", "python-env-secrets"), ("secrets.json", "dotnet")):
            if (path / name).is_file():
                return path / name, kind
        raise ConfigError(
            "no .secrets or secrets.json in this directory",
            path=path,
            hint="name the file to import (a .secrets, secrets.json or dotenv file)",
        )
    if not path.is_file():
        raise ConfigError("no such file", path=path)
    return path, kind_of(path)


def read_source(path: Path, kind: str, warnings: list[str] | None = None) -> dict[str, str]:
    """The values in ``path``, names mapped to environment names (bad names skipped, warned)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
    if kind == "dotnet":
        raw = flatten_dotnet(_loads_lenient(text, path))
    elif kind == "python-env-secrets":
        raw = parse_env_secrets(text)
    else:
        from .formats.dotenv import parse

        raw = {b.key: b.value for b in parse(text, str(path))}
    from .userstore import KEY_RE

    out: dict[str, str] = {}
    for key, value in raw.items():
        if KEY_RE.fullmatch(key) and "\0" not in value:
            out[key] = value
        elif warnings is not None:
            warnings.append(
                f"{path}: {key!r} is not usable as an environment variable name "
                "(or its value holds NUL); skipped"
            )
    return out


def parse_env_secrets(text: str) -> dict[str, str]:
    """python-env-secrets' ``.secrets``: the tool's own lenient KEY=value reading."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


def _strip_json_extras(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments and trailing commas outside strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1  # a trailing comma
                continue
            out.append(ch)
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _loads_lenient(text: str, path: Path) -> Any:
    try:
        return json.loads(_strip_json_extras(text), parse_int=str, parse_float=str)
    except json.JSONDecodeError as exc:
        # the position only: the message could quote a value
        raise ConfigError(
            "not valid JSON",
            path=path,
            line=exc.lineno,
            hint="fix the syntax (or `dotnet user-secrets list` to check it)",
        ) from None


def flatten_dotnet(doc: Any) -> dict[str, str]:
    """``{"A": {"B": 1}, "C:D": true}`` → ``{"A__B": "1", "C__D": "true"}``."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                name = str(key).replace(":", "__")
                walk(f"{prefix}__{name}" if prefix else name, value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(f"{prefix}__{index}" if prefix else str(index), value)
        elif node is None:
            out[prefix] = ""
        elif isinstance(node, bool):
            out[prefix] = "true" if node else "false"
        else:
            out[prefix] = str(node)

    if not isinstance(doc, dict):
        return {}
    walk("", doc)
    return out
