"""The mise settings that change which configs load and what they produce.

Two stages, as in mise 2026.9.15:

* **Early** (:func:`early_settings`, before any config is read): ``.miserc.toml``
  files (in the current directory and above, stopping at the home directory,
  ``.config/miserc.toml`` beside them, then ``<MISE_CONFIG_DIR>/miserc.toml`` and
  ``<system dir>/miserc.toml``; the closest wins) and the environment give the
  profiles (``MISE_ENV``, else ``MISE_PROFILE``/``MISE_ENVIRONMENT``, else the
  miserc's ``env = [...]``; set but empty means none), the platform profiles of
  ``auto_env`` (``unix`` < ``linux`` < ``linux-x64``, below the explicit ones),
  ``env_conf_d``, ``ceiling_paths``, ``ignored_config_paths`` and
  ``override_config_filenames``. An environment variable beats every miserc. An
  invalid miserc is an error, as in mise.
* **Late** (:func:`late_settings`, from the ``[settings]`` of the configs, the
  closest last, then the environment): ``no_env``, ``safe`` (only from the
  environment or a global config), ``env_shell_expand``, ``env_file``,
  ``age.key_file`` (relative to its config's root), ``age.strict``,
  ``age.identity_files`` and ``sops.strict``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

    from .mise_config import MiseConfig

_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n"})
_MISERC_KEYS: dict[str, type] = {
    "env": list,
    "auto_env": bool,
    "env_conf_d": bool,
    "ceiling_paths": list,
    "ignored_config_paths": list,
    "override_config_filenames": list,
}


def flag(environ: Mapping[str, str], name: str) -> bool | None:
    """mise's reading of a boolean variable: true, false, or None when unset or neither."""
    value = environ.get(name)
    if value is None:
        return None
    value = value.lower()
    return True if value in _TRUE else False if value in _FALSE else None


def expand_home(path: str, environ: Mapping[str, str]) -> str:
    home = environ.get("HOME")
    if home and (path == "~" or path.startswith("~/")):
        return home + path[1:]
    return path


def absolutize(path: str, base: str, environ: Mapping[str, str]) -> str:
    """``~`` expanded, made absolute against ``base``, ``.``/``..`` folded (no symlinks)."""
    path = expand_home(path, environ)
    return os.path.normpath(os.path.join(base, path))


def config_dir(environ: Mapping[str, str]) -> str | None:
    """mise's ``dirs::CONFIG``: ``$MISE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/mise``."""
    if environ.get("MISE_CONFIG_DIR"):
        return environ["MISE_CONFIG_DIR"]
    return default_config_dir(environ)


def default_config_dir(environ: Mapping[str, str]) -> str | None:
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        return os.path.join(xdg, "mise")
    home = environ.get("HOME")
    return os.path.join(home, ".config", "mise") if home else None


def system_dir(environ: Mapping[str, str]) -> str:
    return environ.get("MISE_SYSTEM_CONFIG_DIR") or environ.get("MISE_SYSTEM_DIR") or "/etc/mise"


def platform_profiles() -> list[str]:
    """mise's platform environments, least specific first: ``unix``, ``linux``, ``linux-x64``."""
    import sys

    family = "windows" if sys.platform == "win32" else "unix"
    osname = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    if osname.startswith("linux"):
        osname = "linux"
    machine = os.uname().machine.lower() if hasattr(os, "uname") else ""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    out: list[str] = []
    for name in (family, osname, f"{osname}-{arch}"):
        if name not in out:
            out.append(name)
    return out


class EarlySettings:
    """What decides which config files load (see the module docstring)."""

    __slots__ = ("ceilings", "env_conf_d", "ignored", "override_names", "profiles")

    def __init__(self) -> None:
        self.profiles: list[str] = []  # platform profiles, then the explicit ones
        self.env_conf_d = False
        self.ceilings: list[str] = []
        self.ignored: list[str] = []
        self.override_names: list[str] = []


def early_settings(
    cwd: str,
    environ: Mapping[str, str],
    explicit: list[str],
    read: Callable[[str], bytes],
    watch: list[str],
    root: str | None = None,
) -> EarlySettings:
    """``explicit``: profiles chosen outside mise (``--env``, ``ENVSHIM_ENV``), which win.
    A miserc that does not exist is watched only at ``root`` (the project) and below, as
    the hook watches nothing above a project (one there is seen at the next ``cd``)."""
    miserc = _load_miserc(cwd, environ, read, watch, root)
    out = EarlySettings()
    profiles = list(explicit)
    if not profiles:
        for name in ("MISE_ENV", "MISE_PROFILE", "MISE_ENVIRONMENT"):
            if name in environ:
                profiles = [p for p in environ[name].split(",") if p]
                break
        else:
            profiles = list(miserc.get("env", []))
    auto = flag(environ, "MISE_AUTO_ENV")
    if auto is None:
        auto = miserc.get("auto_env", False)
    platform = [p for p in platform_profiles() if p not in profiles] if auto else []
    out.profiles = platform + profiles
    conf_d = flag(environ, "MISE_ENV_CONF_D")
    out.env_conf_d = miserc.get("env_conf_d", False) if conf_d is None else conf_d
    if "MISE_CEILING_PATHS" in environ:
        raw = [p for p in environ["MISE_CEILING_PATHS"].split(os.pathsep) if p]
        out.ceilings = [os.path.normpath(expand_home(p, environ)) for p in raw]
    else:
        out.ceilings = [
            os.path.normpath(expand_home(p, environ)) for p in miserc.get("ceiling_paths", [])
        ]
    if "MISE_IGNORED_CONFIG_PATHS" in environ:
        raw = [p for p in environ["MISE_IGNORED_CONFIG_PATHS"].split(os.pathsep) if p]
        out.ignored = [absolutize(p, cwd, environ) for p in raw]
    else:
        out.ignored = list(miserc.get("ignored_config_paths", []))
    if "MISE_OVERRIDE_CONFIG_FILENAMES" in environ:
        raw = environ["MISE_OVERRIDE_CONFIG_FILENAMES"].split(":")
        out.override_names = list(dict.fromkeys(p for p in raw if p))
    else:
        out.override_names = list(miserc.get("override_config_filenames", []))
    return out


def miserc_files(cwd: str, environ: Mapping[str, str]) -> list[str]:
    """Every place a miserc may be, highest precedence first."""
    ceilings = {
        os.path.normpath(p) for p in environ.get("MISE_CEILING_PATHS", "").split(os.pathsep) if p
    }
    home = environ.get("HOME")
    out: list[str] = []
    d = os.path.normpath(cwd)
    while True:
        if d in ceilings:
            break
        out.append(os.path.join(d, ".miserc.toml"))
        parent = os.path.dirname(d)
        if d == home or parent == d:
            break
        out.append(os.path.join(d, ".config", "miserc.toml"))
        d = parent
    base = config_dir(environ)
    if base:
        out.append(os.path.join(base, "miserc.toml"))
    out.append(os.path.join(system_dir(environ), "miserc.toml"))
    return out


def _load_miserc(
    cwd: str,
    environ: Mapping[str, str],
    read: Callable[[str], bytes],
    watch: list[str],
    root: str | None,
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    inside = (root.rstrip("/") + "/") if root else None
    for path in reversed(miserc_files(cwd, environ)):
        if not os.path.isfile(path):
            if inside is None or path.startswith(inside):
                watch.append(path)
            continue
        watch.append(path)
        merged.update(_parse_miserc(path, read(path), cwd, environ))
    return merged


def _parse_miserc(path: str, data: bytes, cwd: str, environ: Mapping[str, str]) -> dict[str, Any]:
    from pathlib import Path

    from ..tomlread import decode_utf8, load_toml
    from .mise_template import needs_template

    text = decode_utf8(path, data)
    root = os.path.dirname(path)
    if needs_template(text):
        text = _render_miserc(text, root, cwd, environ)
    table = load_toml(Path(path), text)
    out: dict[str, Any] = {}
    for key, kind in _MISERC_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if not isinstance(value, kind) or (
            kind is list and not all(isinstance(i, str) for i in value)
        ):
            raise ConfigError(
                f"{key} has the wrong type for a miserc setting",
                path=path,
                line=_line_of(text, key),
                hint="env, ceiling_paths, ignored_config_paths and override_config_filenames "
                "are arrays of strings; auto_env and env_conf_d are booleans",
            )
        if key == "ignored_config_paths":
            value = [absolutize(p, root, environ) for p in value]
        out[key] = value
    return out


def _render_miserc(text: str, root: str, cwd: str, environ: Mapping[str, str]) -> str:
    """mise renders a miserc as a template with ``env``, ``config_root`` and ``cwd``; when
    that fails it warns and reads the text as written."""
    from .mise_template import Scope, TemplateError, Undefined, Unsupported, render

    scope = Scope(environ.get, environ.get, root, cwd)
    try:
        return render(text, scope)
    except (Unsupported, Undefined, TemplateError):
        return text


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(key) and stripped[len(key) :].lstrip().startswith("="):
            return number
    return None


# --- late settings -------------------------------------------------------------


class Settings:
    """What the configs' ``[settings]`` and the environment say (module docstring)."""

    __slots__ = (
        "age_identity_files",
        "age_key_file",
        "age_strict",
        "env_file",
        "no_env",
        "safe",
        "shell_expand",
        "sops_strict",
    )

    def __init__(self) -> None:
        self.no_env = False
        self.safe = False
        self.shell_expand = True
        self.env_file: str | None = None
        self.age_key_file: str | None = None
        self.age_strict = True
        self.age_identity_files: list[str] = []
        self.sops_strict = True


def late_settings(configs: list[MiseConfig], environ: Mapping[str, str], cwd: str) -> Settings:
    """Settings for one resolution: configs lowest first (later wins), then the environment."""
    out = Settings()
    for config in configs:
        s = config.settings
        if not s:
            continue
        if "no_env" in s:
            out.no_env = s["no_env"]
        if "safe" in s and config.is_global:
            out.safe = s["safe"]  # a project cannot switch safe mode (mise ignores it too)
        if "env_shell_expand" in s:
            out.shell_expand = s["env_shell_expand"]
        if "env_file" in s:
            out.env_file = s["env_file"]
        if "age.key_file" in s:
            out.age_key_file = absolutize(s["age.key_file"], config.root, environ)
        if "age.strict" in s:
            out.age_strict = s["age.strict"]
        if "age.identity_files" in s:
            out.age_identity_files = [
                absolutize(p, config.root, environ) for p in s["age.identity_files"]
            ]
        if "sops.strict" in s:
            out.sops_strict = s["sops.strict"]
    for name, attr in (
        ("MISE_NO_ENV", "no_env"),
        ("MISE_SAFE", "safe"),
        ("MISE_ENV_SHELL_EXPAND", "shell_expand"),
        ("MISE_AGE_STRICT", "age_strict"),
        ("MISE_SOPS_STRICT", "sops_strict"),
    ):
        value = flag(environ, name)
        if value is not None:
            setattr(out, attr, value)
    if environ.get("MISE_ENV_FILE"):
        out.env_file = environ["MISE_ENV_FILE"]
    if environ.get("MISE_AGE_KEY_FILE"):
        out.age_key_file = absolutize(environ["MISE_AGE_KEY_FILE"], cwd, environ)
    if environ.get("MISE_AGE_IDENTITY_FILES"):
        out.age_identity_files = [
            absolutize(p, cwd, environ)
            for p in environ["MISE_AGE_IDENTITY_FILES"].split(os.pathsep)
            if p
        ]
    return out
