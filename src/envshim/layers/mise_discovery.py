"""Which mise config files apply to a directory, lowest precedence first.

Measured with mise 2026.9.15 (``mise config ls`` and ``mise env --json``); the
settings come from :mod:`.mise_settings` (environment and ``.miserc.toml``):

* nothing at all with ``MISE_NO_CONFIG=1``;
* the system directory (``$MISE_SYSTEM_CONFIG_DIR``, else ``/etc/mise``; or the one
  file ``$MISE_SYSTEM_CONFIG_FILE``), then the global directory
  (``$MISE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/mise``, else ``~/.config/mise``):
  ``conf.d/*.toml`` (hidden files never), ``config.toml``, ``mise.toml``, per
  profile ``config.<p>.toml`` and ``mise.<p>.toml``, then ``config.local.toml``,
  ``mise.local.toml``, per profile ``config.<p>.local.toml``, ``mise.<p>.local.toml``.
  ``$MISE_GLOBAL_CONFIG_FILE`` (or ``$MISE_CONFIG_FILE``) replaces the global ones
  with that one file. Their config_root is ``$MISE_GLOBAL_CONFIG_ROOT``, else home.
* then every directory from ``/`` down to the current one (stopping below a
  ceiling, which is itself excluded), each in the order of :data:`PROJECT_FILES`
  (or the ``override_config_filenames``), then per profile (platform profiles of
  ``auto_env`` first, then ``MISE_ENV`` in order, the last wins) :data:`PROFILE_FILES`.
* with ``env_conf_d`` a conf.d fragment named ``<name>.<profile>[.local].toml``
  loads only for that profile, just before that directory's ``config.<profile>``.
* a file reached twice (the home directory's ``.config/mise/config.toml`` found
  again by the walk, a symlink) counts once, at its highest place;
  ``ignored_config_paths`` drop a directory, a file or a glob; with
  ``$MISE_CONFIG_DIR`` elsewhere nothing under the default directory is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .._record import dataclass  # dataclasses without inspect: the export path
from .mise_settings import EarlySettings, config_dir, default_config_dir, flag, system_dir

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
    return config_dir(environ)


def discover(
    cwd: str, early: EarlySettings, environ: Mapping[str, str], watch: list[str]
) -> list[Found]:
    """Every config that applies to ``cwd``, lowest first; appends to ``watch`` where one
    could appear. ``early``: the settings read before any config (:mod:`.mise_settings`)."""
    if flag(environ, "MISE_NO_CONFIG"):
        return []
    ignored = _Ignored(early.ignored)
    project: list[str] = []
    for directory in _chain(cwd, early.ceilings):
        if ignored.match(directory):
            continue
        project.extend(_in_directory(directory, early, watch))
    outside = [*_system_files(early, environ, watch), *_global_files(early, environ, watch)]
    global_set = set(outside)
    default_dir = default_config_dir(environ)
    moved = bool(environ.get("MISE_CONFIG_DIR")) and config_dir(environ) != default_dir
    # lowest first; a file reached twice (a symlink, or the home directory's global
    # config found again by the walk) counts once, at its highest place, as in mise
    ordered = [(p, True) for p in outside] + [(p, False) for p in project]
    last: dict[str, int] = {}
    for i, (p, _g) in enumerate(ordered):
        last[os.path.realpath(p)] = i
    out: list[Found] = []
    for i, (p, is_global) in enumerate(ordered):
        if last[os.path.realpath(p)] != i:
            continue
        if moved and default_dir and p not in global_set and _under(p, default_dir):
            continue  # MISE_CONFIG_DIR elsewhere: the default directory is not read at all
        is_global = is_global or p in global_set
        if ignored.match(p) or ignored.match(_trust_root(p, is_global, environ)):
            continue
        out.append(Found(p, is_global))
    return out


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _trust_root(path: str, is_global: bool, environ: Mapping[str, str]) -> str:
    from pathlib import Path

    from .mise_config import config_root

    return config_root(Path(path), global_root(environ), is_global)


def global_root(environ: Mapping[str, str]) -> str | None:
    """The config_root of global and system configs: ``$MISE_GLOBAL_CONFIG_ROOT``, else home."""
    return environ.get("MISE_GLOBAL_CONFIG_ROOT") or environ.get("HOME")


def _chain(cwd: str, ceilings: list[str]) -> list[str]:
    """Directories from the top down to ``cwd``, stopping below a ceiling."""
    stop = {os.path.normpath(c) for c in ceilings}
    dirs: list[str] = []
    d = os.path.normpath(cwd)
    while True:
        if d in stop:
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


def _conf_d_profile(name: str) -> tuple[str, bool] | None:
    """``(profile, local)`` of an env-named conf.d fragment (``tools.dev.toml``,
    ``tools.dev.local.toml``); None for an unconditional one (``tools.toml``)."""
    stem = name[: -len(".toml")]
    local = stem.endswith(".local")
    if local:
        stem = stem[: -len(".local")]
    head, dot, profile = stem.partition(".")
    if not dot or not head or not profile:
        return None
    return profile, local


def _conf_d(entries: set[str], env_conf_d: bool, profile: str | None, local: bool) -> list[str]:
    """The fragments of one conf.d listing: unconditional ones (``profile`` None), or those
    of one profile; hidden files never."""
    out = []
    for n in sorted(entries):
        if n.startswith(".") or not n.endswith(".toml"):
            continue
        tag = _conf_d_profile(n) if env_conf_d else None
        if profile is None:
            if tag is None:
                out.append(n)
        elif tag == (profile, local):
            out.append(n)
    return out


def _patterns(early: EarlySettings) -> list[str]:
    """The names looked for in one directory, lowest first (``<dir>/conf.d`` stands for
    its fragments; ``<dir>/conf.d@<profile>[.local]`` for one profile's)."""
    names = list(early.override_names) if early.override_names else list(PROJECT_FILES)
    for p in early.profiles:
        pats = [pat.format(p=p) for pat in PROFILE_FILES]
        if early.env_conf_d:
            # mise: each conf.d of a profile just before that directory's config.<p>.toml
            for base in (".config/mise", "mise", ".mise"):
                for local in ("", ".local"):
                    anchor = f"{base}/config.{p}{local}.toml"
                    pats.insert(pats.index(anchor), f"{base}/conf.d@{p}{local}")
        names.extend(pats)
    return names


def _in_directory(directory: str, early: EarlySettings, watch: list[str]) -> list[str]:
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
    for rel in _patterns(early):
        base, at, tag = rel.partition("@")
        if base.endswith("conf.d"):
            entries = listing(base)
            if not entries:
                continue
            profile, local = (
                (tag.removesuffix(".local"), tag.endswith(".local")) if at else (None, False)
            )
            found.extend(
                os.path.join(directory, base, n)
                for n in _conf_d(entries, early.env_conf_d, profile, local)
                if os.path.isfile(os.path.join(directory, base, n))
            )
        elif "*" in rel or "?" in rel or "[" in rel:
            found.extend(_glob_names(directory, rel))
        elif exists(rel):
            found.append(os.path.join(directory, rel))
    # a file two names reach (a profile named "local") counts once, at its last place
    return list(reversed(dict.fromkeys(reversed(found))))


def _glob_names(directory: str, pattern: str) -> list[str]:
    """An override file name with glob characters, matched in ``directory``."""
    import glob

    return sorted(p for p in glob.glob(os.path.join(directory, pattern)) if os.path.isfile(p))


def _global_files(early: EarlySettings, environ: Mapping[str, str], watch: list[str]) -> list[str]:
    single = environ.get("MISE_GLOBAL_CONFIG_FILE") or environ.get("MISE_CONFIG_FILE")
    if single:
        watch.append(single)
        return [single] if os.path.isfile(single) else []
    base = config_dir(environ)
    return _dir_files(base, early, watch) if base else []


def _system_files(early: EarlySettings, environ: Mapping[str, str], watch: list[str]) -> list[str]:
    single = environ.get("MISE_SYSTEM_CONFIG_FILE")
    if single:
        watch.append(single)
        return [single] if os.path.isfile(single) else []
    return _dir_files(system_dir(environ), early, watch)


def _dir_files(base: str, early: EarlySettings, watch: list[str]) -> list[str]:
    """The files of a global or system config directory, lowest first."""
    watch.append(base)
    names = _listdir(base)
    if not names:
        return []
    conf_d: set[str] = set()
    if "conf.d" in names:
        conf_d_dir = os.path.join(base, "conf.d")
        watch.append(conf_d_dir)
        conf_d = _listdir(conf_d_dir) or set()
    order: list[str] = []
    order.extend(os.path.join("conf.d", n) for n in _conf_d(conf_d, early.env_conf_d, None, False))
    order += ["config.toml", "mise.toml"]
    for p in early.profiles:
        if early.env_conf_d:
            order.extend(os.path.join("conf.d", n) for n in _conf_d(conf_d, True, p, False))
        order += [f"config.{p}.toml", f"mise.{p}.toml"]
    order += ["config.local.toml", "mise.local.toml"]
    for p in early.profiles:
        if early.env_conf_d:
            order.extend(os.path.join("conf.d", n) for n in _conf_d(conf_d, True, p, True))
        order += [f"config.{p}.local.toml", f"mise.{p}.local.toml"]
    out = [os.path.join(base, rel) for rel in order if os.path.isfile(os.path.join(base, rel))]
    return list(dict.fromkeys(out))


class _Ignored:
    """``ignored_config_paths``: a path under a listed one, or matching a listed glob
    (``*`` within one path component, ``**`` across), as written or with symlinks resolved."""

    def __init__(self, entries: list[str]) -> None:
        self.literals = [e for e in entries if not any(c in e for c in "*?[{")]
        self.globs = [_glob_regex(e) for e in entries if any(c in e for c in "*?[{")]

    def match(self, path: str) -> bool:
        if not self.literals and not self.globs:
            return False
        real = os.path.realpath(path)
        for candidate in dict.fromkeys((path, real)):
            for lit in self.literals:
                if _under(candidate, lit.rstrip("/") or "/") or _under(
                    candidate, os.path.realpath(lit)
                ):
                    return True
            if any(g.fullmatch(candidate) for g in self.globs):
                return True
        return False


def _glob_regex(pattern: str):  # -> re.Pattern[str]
    """globset with ``literal_separator``: ``*``/``?`` stay within a component, ``**`` crosses."""
    import re

    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append(
                    "(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : end].split(",")) + ")"
                )
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))
