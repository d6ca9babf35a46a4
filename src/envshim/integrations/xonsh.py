"""The xonsh integration: ``xontrib load envshim`` loads projects in-process.

xonsh is Python, so the hook needs no process at all, not even on ``cd``: the
xontrib calls :func:`envshim.trust.load_allowed` in the shell's own interpreter
on every directory change, and on each prompt compares the mtimes of the files
the last load read or watched (a few ``stat`` calls). The rules are the other
shells': a project loads only after ``envshim allow``; leaving it (or failing to
load the next one) restores every variable envshim changed, except one the user
changed by hand since; exec-only values and agents' shells are handled by the
same resolution.

The state of a load lives in this xonsh process (the previous value of every
variable changed and the value set), not in an exported variable: a child
shell started from xonsh simply inherits the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_UNSET = object()


class Loader:
    """What the xontrib loaded in this shell, and how to undo it."""

    def __init__(self, env: Any) -> None:
        self.env = env  # xonsh's Env (a MutableMapping)
        self.root: str | None = None
        self.previous: dict[str, object] = {}  # name -> value before the load, or _UNSET
        self.applied: dict[str, str | None] = {}  # name -> what envshim set (None: unset)
        self.stamps: dict[str, tuple[int, int] | None] = {}
        self.noticed: set[str] = set()
        self.cwd: str | None = None

    # --- the environment -------------------------------------------------------------

    def _get(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or isinstance(value, str):
            return value
        return self.env.detype().get(name, str(value))  # a typed xonsh setting

    def _set(self, name: str, value: str | None) -> None:
        if value is None:
            self.env.pop(name, None)
        else:
            self.env[name] = value

    def base(self) -> dict[str, str]:
        """The environment as it would be without envshim's load (for the next resolve)."""
        env = dict(self.env.detype())
        for name, before in self.previous.items():
            if before is _UNSET:
                env.pop(name, None)
            else:
                env[name] = str(before)
        return env

    def revert(self) -> list[str]:
        changed = []
        for name, value in self.applied.items():
            if self._get(name) != value:
                continue  # changed by hand since the load: the user's value stays
            before = self.previous.get(name, _UNSET)
            self._set(name, None if before is _UNSET else str(before))
            changed.append(name)
        self.previous, self.applied, self.root, self.stamps = {}, {}, None, {}
        return changed

    # --- loading -----------------------------------------------------------------------

    def _stamp(self, path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def stale(self) -> bool:
        return any(self._stamp(p) != s for p, s in self.stamps.items())

    def load(self, cwd: str) -> None:
        from envshim import trust
        from envshim.errors import EnvshimError
        from envshim.project import find_root

        self.cwd = cwd
        base = self.base()
        self.revert()
        root = find_root(Path(cwd))
        watch = [str(root / name) for name in ("envshim.toml", "mise.toml", ".sops.yaml")]
        if not trust.is_project(root):
            self.stamps = {cwd: self._stamp(cwd)}
            return
        try:
            verdict, resolution = trust.load_allowed(cwd, environ=base)
        except EnvshimError as exc:  # a damaged file: the previous project is gone already
            _say(str(exc))
            self.stamps = {p: self._stamp(p) for p in watch}
            return
        if resolution is None:
            if str(root) not in self.noticed:
                self.noticed.add(str(root))
                _say(trust.notice(verdict))
            files = verdict.record.files if verdict.record else {}
            recorded = trust.record_path(root, base)
            self.stamps = {p: self._stamp(p) for p in [*watch, *files, str(recorded)]}
            return
        from envshim.shells import get_renderer
        from envshim.shells.base import check

        changes = resolution.changes()
        check(get_renderer("xonsh"), changes, {k: v.origin for k, v in resolution.vars.items()})
        for warning in resolution.warnings:
            _say(f"envshim: {warning}")
        summary = []
        for name, value in sorted(changes.items()):
            current = self._get(name)
            if current == value:
                continue
            self.previous[name] = _UNSET if current is None else current
            self.applied[name] = value
            self._set(name, value)
            summary.append(("-" if value is None else "+" if current is None else "~") + name)
        self.root = str(resolution.root)
        paths = {str(p) for p in [*resolution.files, *resolution.watch]}
        paths.add(str(trust.record_path(root, base)))
        self.stamps = {p: self._stamp(p) for p in paths}
        if summary and self.env.get("ENVSHIM_QUIET") != "1":
            _say("envshim: " + " ".join(summary))


def _say(line: str) -> None:
    from envshim.trust import printable

    sys.stderr.write(printable(line.rstrip("\n")) + "\n")


_LOADER: Loader | None = None


def _on_chdir(olddir: str = "", newdir: str = "", **_: Mapping[str, Any]) -> None:
    if _LOADER is not None:
        _LOADER.load(newdir or os.getcwd())


def _on_pre_prompt(**_: Mapping[str, Any]) -> None:
    if _LOADER is None:
        return
    cwd = os.getcwd()
    if cwd != _LOADER.cwd or _LOADER.stale():
        _LOADER.load(cwd)


def _load_xontrib_(xsh: Any, **_: Any) -> dict[str, Any]:
    """Called by ``xontrib load envshim``."""
    global _LOADER
    _LOADER = Loader(xsh.env)
    xsh.builtins.events.on_chdir(_on_chdir)
    xsh.builtins.events.on_pre_prompt(_on_pre_prompt)
    _LOADER.load(os.getcwd())
    return {}


def _unload_xontrib_(xsh: Any, **_: Any) -> dict[str, Any]:
    """``xontrib unload envshim``: the project's variables go back as they were."""
    global _LOADER
    if _LOADER is not None:
        _LOADER.revert()
    xsh.builtins.events.on_chdir.discard(_on_chdir)
    xsh.builtins.events.on_pre_prompt.discard(_on_pre_prompt)
    _LOADER = None
    return {}
