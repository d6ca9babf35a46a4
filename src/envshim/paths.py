"""Per-user locations, computed from an ``environ`` mapping rather than os.environ.

The rules are platformdirs' (4.x) for ``appname="envshim"``, computed here on
Linux and macOS because importing platformdirs costs ~35 ms, paid on every
``cd`` otherwise; Windows asks platformdirs (lazily: it knows the registry dance).
Cheap imports only: this module is on the export path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = "envshim"


def home(environ: Mapping[str, str]) -> Path:
    """``$HOME`` when absolute, else the passwd entry (a missing or relative ``HOME``)."""
    value = environ.get("HOME", "")
    if os.path.isabs(value):
        return Path(value)
    import pwd

    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def _xdg(environ: Mapping[str, str], name: str) -> Path | None:
    """An XDG base directory variable, honoured only when absolute (the XDG spec's rule)."""
    value = environ.get(name, "")
    return Path(value) if os.path.isabs(value) else None


def config_home(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME`` when absolute, else ``~/.config`` (direnv's, fish's, mise's base)."""
    return _xdg(environ, "XDG_CONFIG_HOME") or home(environ) / ".config"


def data_dir(environ: Mapping[str, str]) -> Path:
    """``platformdirs.user_data_dir("envshim")``.

    platformdirs' rules (4.x): an absolute ``$XDG_DATA_HOME`` wins on Linux and
    macOS; else ``~/.local/share`` (Linux) or ``~/Library/Application Support``
    (macOS), with a missing or relative ``HOME`` replaced by the passwd entry.
    """
    if sys.platform == "win32":  # pragma: no cover - platformdirs knows the registry dance
        import platformdirs

        return Path(platformdirs.user_data_dir(APP, appauthor=False))
    xdg = _xdg(environ, "XDG_DATA_HOME")
    if xdg is not None:
        return xdg / APP
    if sys.platform == "darwin":
        return home(environ) / "Library" / "Application Support" / APP
    return home(environ) / ".local" / "share" / APP


def cache_dir(environ: Mapping[str, str]) -> Path:
    """``platformdirs.user_cache_dir("envshim")``: an absolute ``$XDG_CACHE_HOME`` wins on
    Linux and macOS; else ``~/.cache`` (Linux) or ``~/Library/Caches`` (macOS)."""
    if sys.platform == "win32":  # pragma: no cover
        import platformdirs

        return Path(platformdirs.user_cache_dir(APP, appauthor=False))
    xdg = _xdg(environ, "XDG_CACHE_HOME")
    if xdg is not None:
        return xdg / APP
    if sys.platform == "darwin":
        return home(environ) / "Library" / "Caches" / APP
    return home(environ) / ".cache" / APP


def private_tmp_dirs(environ: Mapping[str, str]) -> list[str]:
    """Where a decrypted copy may live while it is edited, best first: memory-backed
    directories only (``$XDG_RUNTIME_DIR``, ``/dev/shm``) that exist and we may write."""
    out = []
    for candidate in (environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            out.append(candidate)
    return out
