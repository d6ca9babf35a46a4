"""What ``explain`` and ``status`` can show to someone who cannot decrypt everything.

One rule for a missing key: the resolution is taken without the sources that do not
open (committed defaults and your own values still show), each source that did not
open is named with its recipients, and the next step is always ``envshim join``.
sops keeps key names in plaintext, so the names a locked sops file sets are known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..doctor.core import Doctor
from ..errors import EnvshimError
from ..merge import Resolution
from ..model import MISE, ResolvedVar


@dataclass
class Locked:
    """A source this user cannot decrypt."""

    path: Path
    what: str  # "team" | "user"
    names: dict[str, int | None] = field(default_factory=dict)  # known names → line
    recipients: list[str] = field(default_factory=list)
    reason: str = ""

    def describe(self, root: Path, line: int | None = None) -> str:
        """``secrets.enc.env:3 (recipients: age1…)``, or your user store and why."""
        if self.what == "user":
            return f"your user store ({self.reason})"
        try:
            text = str(self.path.relative_to(root))
        except ValueError:
            text = str(self.path)
        if line:
            text += f":{line}"
        if self.recipients:
            text += f" (recipients: {', '.join(self.recipients)})"
        return text


def _missing_key(exc: EnvshimError) -> bool:
    from ..formats.age import NoMatchingKey
    from ..userstore import NoKeyError

    return isinstance(exc, (NoMatchingKey, NoKeyError))


def resolve_what_opens(
    directory: str | os.PathLike[str],
    env: str | None,
    missing_key: str | None,
    environ: dict[str, str] | None = None,
) -> tuple[Resolution, list[Locked]]:
    """The resolution, and the sources that did not open. Only a missing key is forgiven
    (a damaged file is still an error), and not when ``--missing-key=error`` was asked."""
    from ..resolve import resolve

    environ = dict(os.environ if environ is None else environ)
    try:
        return resolve(directory, env, environ=environ, missing_key=missing_key), []
    except EnvshimError as exc:
        if missing_key == "error" or not _missing_key(exc):
            raise
    resolution = resolve(directory, env, environ=environ, missing_key="skip")
    return resolution, locked_sources(directory, env, environ)


def locked_sources(
    directory: str | os.PathLike[str], env: str | None, environ: dict[str, str]
) -> list[Locked]:
    from ..doctor.core import file_recipients
    from ..layers import team

    d = Doctor(cwd=Path(os.path.abspath(directory)), environ=environ, env=env)
    ctx = d.layer_context(missing_key="error")
    out = []
    for path in d.team_files():
        try:
            team.read_file(path, ctx)
        except EnvshimError as exc:
            if not _missing_key(exc):
                raise
            out.append(Locked(path, "team", _names(path), file_recipients(path) or []))
    store = _locked_store(d)
    if store is not None:
        out.append(store)
    return out


def _names(path: Path) -> dict[str, int | None]:
    from ..doctor.core import is_sops

    if not is_sops(path):
        return {}  # age files encrypt the names too
    from ..formats.sops import key_names

    return dict(key_names(path))


def _locked_store(d: Doctor) -> Locked | None:
    from ..userstore import NoKeyError, Store, open_project

    link = open_project(d.cwd, d.environ).link
    if link is None:
        return None
    store = Store(link.id, d.environ)
    if not store.exists():
        return None
    try:
        store.read(warnings=[])
    except NoKeyError as exc:
        return Locked(store.values_path, "user", reason=exc.message)
    except EnvshimError:
        return None
    return None


def is_plain_default(var: ResolvedVar) -> bool:
    """A value written as plain text in a committed mise config (not a secret, not derived
    from one, not read from a dotenv file through `_.file`): safe to show as it is."""
    path = var.origin.path or ""
    return var.origin.layer == MISE and not var.secret and path.endswith(".toml")


def shown(var: ResolvedVar, reveal: bool = False) -> str:
    """What listings print for a value: committed defaults as they are, anything else masked."""
    from .common import mask

    if var.value is not None and reveal:
        return var.value
    if var.value is not None and is_plain_default(var):
        # one line on the terminal: control characters (a newline) escaped
        return var.value if var.value.isprintable() else repr(var.value)
    return mask(var.value)
