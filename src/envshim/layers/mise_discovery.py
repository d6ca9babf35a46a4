"""Which mise config files apply to a directory, lowest precedence first.

Measured with mise 2026.9.15 (``mise config ls`` and ``mise env --json``):

* nothing at all with ``MISE_NO_CONFIG=1``;
* the system directory (``$MISE_SYSTEM_CONFIG_DIR``, else ``/etc/mise``), then
  the global directory (``$MISE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/mise``,
  else ``~/.config/mise``): ``conf.d/*.toml``, ``config.toml``, ``mise.toml``,
  per profile ``config.<p>.toml`` and ``mise.<p>.toml``, then ``config.local.toml``,
  ``mise.local.toml``, per profile ``config.<p>.local.toml``, ``mise.<p>.local.toml``.
  ``$MISE_GLOBAL_CONFIG_FILE`` replaces the global ones with that one file;
  the system directory has the same layout. Their config_root is the home directory.
* then every directory from ``/`` down to the current one (stopping below a
  ``$MISE_CEILING_PATHS`` entry, which is itself excluded), each in the order of
  :data:`PROJECT_FILES`, then per profile (in ``MISE_ENV`` order, the last
  wins) :data:`PROFILE_FILES`.
* a file that is both global and in the directory chain (the home directory's
  ``.config/mise/config.toml``) counts once, at its place in the chain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .._record import dataclass  # dataclasses without inspect: the export path

# Within one directory, lowest first. "conf.d" entries stand for every *.toml in it, sorted.
PROJECT_FILES = (
    ".config/mise/conf.d",
    ".config/mise/config.toml",
    ".config/mise/mise.toml",
    ".config/mise.toml",
    ".mise/conf.d",
    ".mise/config.toml",
    "mise/conf.d",
    "mise/config.toml",
    "mise.toml",
    ".mise.toml",
    ".config/mise/config.local.toml",
    ".config/mise/mise.local.toml",
    ".config/mise.local.toml",
    ".mise/config.local.toml",
    "mise/config.local.toml",
    "mise.local.toml",
    ".mise.local.toml",
)
_PROFILE_BASES = (
    ".config/mise/config",
    ".config/mise",
    "mise/config",
    "mise",
    ".mise/config",
    ".mise",
)
PROFILE_FILES = tuple(f"{b}.{{p}}.toml" for b in _PROFILE_BASES) + tuple(
    f"{b}.{{p}}.local.toml" for b in _PROFILE_BASES
)
# Subdirectories whose creation or change can add a config file.
_SUBDIRS = (
    ".config",
    ".config/mise",
    ".config/mise/conf.d",
    ".mise",
    ".mise/conf.d",
    "mise",
    "mise/conf.d",
)


@dataclass(frozen=True, slots=True)
class Found:
    path: str
    is_global: bool


def global_dir(environ: Mapping[str, str]) -> str | None:
    if environ.get("MISE_CONFIG_DIR"):
        return environ["MISE_CONFIG_DIR"]
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        return os.path.join(xdg, "mise")
    home = environ.get("HOME")
    return os.path.join(home, ".config", "mise") if home else None


def discover(
    cwd: str, profiles: list[str], environ: Mapping[str, str], watch: list[str]
) -> list[Found]:
    """Every config that applies to ``cwd``, lowest first; appends to ``watch`` where one could appear."""
    if environ.get("MISE_NO_CONFIG") in ("1", "true"):
        return []
    chain = _chain(cwd, environ)
    project: list[str] = []
    for directory in chain:
        project.extend(_in_directory(directory, profiles, watch))
    in_chain = set(project)
    system = environ.get("MISE_SYSTEM_CONFIG_DIR") or environ.get("MISE_SYSTEM_DIR") or "/etc/mise"
    outside = [*_dir_files(system, profiles, watch), *_global_files(profiles, environ, watch)]
    out = [Found(p, True) for p in dict.fromkeys(outside) if p not in in_chain]
    out.extend(Found(p, False) for p in project)
    return out


def _chain(cwd: str, environ: Mapping[str, str]) -> list[str]:
    """Directories from the top down to ``cwd``, stopping below a ceiling."""
    ceilings = {os.path.normpath(c) for c in environ.get("MISE_CEILING_PATHS", "").split(":") if c}
    dirs: list[str] = []
    d = os.path.normpath(cwd)
    while True:
        if d in ceilings:
            break
        dirs.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    dirs.reverse()
    return dirs


def _listdir(path: str) -> set[str] | None:
    try:
        return set(os.listdir(path))
    except OSError:
        return None


def _in_directory(directory: str, profiles: list[str], watch: list[str]) -> list[str]:
    names = _listdir(directory)
    watch.append(directory)
    if not names:
        return []
    listings: dict[str, set[str] | None] = {"": names}

    def listing(sub: str) -> set[str] | None:
        if sub not in listings:
            parent, _, leaf = sub.rpartition("/")
            above = listing(parent)
            listings[sub] = (
                _listdir(os.path.join(directory, sub)) if above and leaf in above else None
            )
            if listings[sub] is not None:
                watch.append(os.path.join(directory, sub))
        return listings[sub]

    def exists(rel: str) -> bool:
        parent, _, leaf = rel.rpartition("/")
        entries = listing(parent)
        return bool(entries) and leaf in entries and os.path.isfile(os.path.join(directory, rel))

    for sub in _SUBDIRS:
        if sub.split("/", 1)[0] in names:
            listing(sub)

    found: list[str] = []
    for rel in PROJECT_FILES:
        if rel.endswith("conf.d"):
            entries = listing(rel)
            if entries:
                found.extend(
                    os.path.join(directory, rel, n)
                    for n in sorted(entries)
                    if n.endswith(".toml") and os.path.isfile(os.path.join(directory, rel, n))
                )
        elif exists(rel):
            found.append(os.path.join(directory, rel))
    for profile in profiles:
        for pattern in PROFILE_FILES:
            rel = pattern.format(p=profile)
            if exists(rel):
                found.append(os.path.join(directory, rel))
    return found


def _global_files(profiles: list[str], environ: Mapping[str, str], watch: list[str]) -> list[str]:
    single = environ.get("MISE_GLOBAL_CONFIG_FILE")
    if single:
        watch.append(single)
        return [single] if os.path.isfile(single) else []
    base = global_dir(environ)
    return _dir_files(base, profiles, watch) if base else []


def _dir_files(base: str, profiles: list[str], watch: list[str]) -> list[str]:
    """The files of a global or system config directory, lowest first."""
    watch.append(base)
    names = _listdir(base)
    if not names:
        return []
    order: list[str] = []
    if "conf.d" in names:
        conf_d = os.path.join(base, "conf.d")
        watch.append(conf_d)
        order.extend(
            os.path.join("conf.d", n) for n in sorted(_listdir(conf_d) or ()) if n.endswith(".toml")
        )
    order += ["config.toml", "mise.toml"]
    for p in profiles:
        order += [f"config.{p}.toml", f"mise.{p}.toml"]
    order += ["config.local.toml", "mise.local.toml"]
    for p in profiles:
        order += [f"config.{p}.local.toml", f"mise.{p}.local.toml"]
    return [os.path.join(base, rel) for rel in order if os.path.isfile(os.path.join(base, rel))]
