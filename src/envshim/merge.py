"""Precedence and provenance.

Layers are applied in order into one :class:`Merger`; each assignment replaces
the previous one key by key and remembers what it shadowed. Lookups during the
mise layer (templates, ``$VAR``) see the base environment overlaid with every
assignment made so far, which is how mise evaluates ``[env]`` in written order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ._record import dataclass, field  # dataclasses without inspect: the export path
from .model import Origin, ResolvedVar

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


class Merger:
    def __init__(self, base: Mapping[str, str]) -> None:
        self.base = dict(base)
        self.vars: dict[str, ResolvedVar] = {}
        self.path_entries: list[tuple[str, Origin]] = []  # prepended to PATH, first wins

    def lookup(self, key: str) -> str | None:
        """The value a template or ``$VAR`` sees now."""
        if key == "PATH" and self.path_entries:
            return self._path_value()
        var = self.vars.get(key)
        if var is not None:
            return var.value
        return self.base.get(key)

    def current(self) -> dict[str, str]:
        """The whole environment as it stands after the assignments so far."""
        env = dict(self.base)
        for key, var in self.vars.items():
            if var.value is None:
                env.pop(key, None)
            else:
                env[key] = var.value
        if self.path_entries:
            env["PATH"] = self._path_value()
        return env

    def set(self, key: str, value: str | None, origin: Origin, *, secret: bool = False) -> None:
        """Assign (or, with ``value=None``, unset) ``key``; the previous winner becomes shadowed."""
        previous = self.vars.get(key)
        shadowed: list[Origin] = []
        if previous is not None:
            shadowed = [*previous.shadowed, previous.origin]
        elif key in self.base:
            shadowed = [Origin("base", detail="environment before envshim")]
        self.vars[key] = ResolvedVar(key, value, origin, secret or False, shadowed)

    def unset(self, key: str, origin: Origin) -> None:
        self.set(key, None, origin)

    def prepend_path(self, entries: list[str], origin: Origin) -> None:
        """``_.path``: later directives go in front of earlier ones, as mise does."""
        self.path_entries[0:0] = [(entry, origin) for entry in entries]

    def _path_value(self) -> str:
        var = self.vars.get("PATH")
        tail = var.value if var is not None else self.base.get("PATH")
        parts = [entry for entry, _ in self.path_entries]
        if tail:
            parts.append(tail)
        return os.pathsep.join(parts)

    def finish(self) -> dict[str, ResolvedVar]:
        """The final variables, PATH folded in, unsets of absent keys dropped."""
        out = dict(self.vars)
        if self.path_entries:
            previous = out.get("PATH")
            origin = self.path_entries[0][1]
            shadowed = [
                *(previous.shadowed if previous else []),
                *([previous.origin] if previous else []),
            ]
            out["PATH"] = ResolvedVar("PATH", self._path_value(), origin, False, shadowed)
        return {k: v for k, v in out.items() if v.value is not None or k in self.base}


@dataclass
class Resolution(Mapping[str, str]):
    """The merged result for one directory: a mapping of every variable envshim sets.

    Keys that envshim unsets are not in the mapping; they are in :attr:`unset`.
    ``vars`` keeps provenance for ``explain``; ``files`` lists every file that was
    read and ``watch`` every path whose change (or creation) must trigger a reload.
    """

    root: Path
    profile: list[str]
    vars: dict[str, ResolvedVar]
    files: list[Path] = field(default_factory=list)
    watch: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    secret_files: list[Path] = field(default_factory=list)  # read by the team/user layers
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # secret source -> names
    digests: dict[str, str] = field(default_factory=dict)  # config file -> sha256 parsed
    withheld: dict[str, str] = field(default_factory=dict)  # name -> "exec-only" | "agent"

    def __getitem__(self, key: str) -> str:
        var = self.vars[key]
        if var.value is None:
            raise KeyError(key)
        return var.value

    def __iter__(self) -> Iterator[str]:
        return (k for k, v in self.vars.items() if v.value is not None)

    def __len__(self) -> int:
        return sum(1 for v in self.vars.values() if v.value is not None)

    @property
    def unset(self) -> list[str]:
        return sorted(k for k, v in self.vars.items() if v.value is None)

    def changes(self) -> dict[str, str | None]:
        """Every key to export (its value) or to unset (``None``), sorted."""
        return {k: self.vars[k].value for k in sorted(self.vars)}

    def secret_keys(self) -> set[str]:
        return {k for k, v in self.vars.items() if v.secret}
