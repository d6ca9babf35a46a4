"""The contract every output format meets (DESIGN.md §5).

A renderer turns a sorted mapping of ``key -> value`` (``None`` = unset) into
text that its shell evaluates exactly. Validation is shared: :func:`check`
rejects names the shell cannot hold or reserves and values with NUL, naming
the file and line the value came from, before a single byte is printed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from .._record import dataclass, field  # dataclasses without inspect: the export path
from ..errors import ConfigError
from ..model import Origin

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

# Plain string tests, not regexes: `re` (and the enum it imports) costs ~10 ms on every cd.
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_SAFE_CHARS = _NAME_CHARS | frozenset("+,-./=")


def is_valid_name(key: str) -> bool:
    """``[A-Za-z_][A-Za-z0-9_]*``: what every shell can hold as a variable name."""
    return bool(key) and key[0] in _NAME_START and _NAME_CHARS.issuperset(key)


# Names no shell lets a script set (or that would break envshim's own state).
COMMON_RESERVED = frozenset({"_", "ENVSHIM_STATE"})


def is_safe_bare(value: str) -> bool:
    """True when ``value`` needs no quoting in any shell: mise's rule, except that a
    leading ``=`` is quoted too (zsh's EQUALS option, on by default, expands ``=ls`` to
    ``/usr/bin/ls`` even in an assignment)."""
    return bool(value) and _SAFE_CHARS.issuperset(value) and not value.startswith("=")


def single_quote_posix(value: str) -> str:
    """POSIX single quoting: every byte literal, ``'`` written as ``'\\''``."""
    if is_safe_bare(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def ansi_c_quote(value: str) -> str:
    """``$'…'`` (bash, zsh): the value on one line; only ``\\``, ``'`` and newline escaped."""
    return "$'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def one_line_quote(value: str) -> str:
    """Single quotes, or ``$'…'`` for a value with a newline, so that every value is one
    line: read as typed lines (an interactive bash), a line that starts with ``^`` is
    history substitution even inside quotes, and zsh's ``csh_junkie_quotes`` refuses a
    newline inside ``'…'``. Neither form is subject to ``!`` history expansion."""
    return ansi_c_quote(value) if "\n" in value else single_quote_posix(value)


@dataclass(frozen=True)
class ExportContext:
    """What formats beyond a plain script need (github, k8s): which keys hold secrets,
    the command's options, the process environment and the project root."""

    secret: frozenset[str] = frozenset()
    options: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    root: str | None = None


class Renderer(ABC):
    name: str
    reserved: frozenset[str] = frozenset()

    @abstractmethod
    def export(self, key: str, value: str) -> str: ...

    def quote(self, value: str) -> str:
        """One shell word that evaluates to exactly ``value`` (the shell formats only)."""
        raise NotImplementedError(f"{self.name} is not a shell")

    @abstractmethod
    def unset(self, key: str) -> str: ...

    def render(self, changes: Mapping[str, str | None]) -> str:
        """The whole script: one line per key, sorted; callers validate first."""
        lines = [
            self.unset(k) if v is None else self.export(k, v) for k, v in sorted(changes.items())
        ]
        return "".join(line + "\n" for line in lines)

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        """Everything the format does: side effects (a file to append to) and the text for
        stdout. Raises before any side effect when something is wrong."""
        return self.render(changes)


def check(
    renderer: Renderer,
    changes: Mapping[str, str | None],
    origins: Mapping[str, Origin] | None = None,
) -> None:
    """Raise :class:`ConfigError` for the first bad name or value, naming its source."""
    for key in sorted(changes):
        value = changes[key]
        origin = (origins or {}).get(key)
        path = origin.path if origin else None
        line = origin.line if origin else None
        if not is_valid_name(key):
            raise ConfigError(
                f"{key!r} is not a valid variable name",
                path=path,
                line=line,
                hint="use letters, digits and '_', not starting with a digit",
            )
        if key in renderer.reserved or key in COMMON_RESERVED:
            raise ConfigError(
                f"{key} is reserved by {renderer.name}",
                path=path,
                line=line,
                hint="rename the variable",
            )
        if value is not None and "\0" in value:
            raise ConfigError(
                f"the value of {key} contains a NUL byte, which no environment can hold",
                path=path,
                line=line,
            )
        if value is not None:
            check_string_size(key, value, path=path, line=line)
            holds = getattr(renderer, "check_value", None)
            if holds is not None:  # what one shell cannot hold (tcsh: a line break)
                try:
                    holds(key, value)
                except ConfigError as exc:
                    exc.path, exc.line = path, line
                    raise


# Linux's limits on what a command starts with (execve): each "NAME=value" string, its NUL
# included, holds at most MAX_ARG_STRLEN bytes; all of them together, with a pointer each,
# at most ARG_MAX (a quarter of the stack limit: 2 MiB by default). Beyond them every later
# command fails with "Argument list too long", the hook's own included.
MAX_ARG_STRLEN = 32 * 4096
ARGV_ROOM = 128 * 1024  # kept free for a command line's own arguments


def check_string_size(
    key: str,
    value: str,
    *,
    what: str | None = None,
    path: str | None = None,
    line: int | None = None,
    hint: str | None = None,
) -> None:
    """Raise when ``key=value`` is longer than one environment string may be."""
    if len(key) + len(value) + 2 <= MAX_ARG_STRLEN // 4:
        return  # even at 4 bytes per character it fits: no need to encode
    size = len(key) + _bytes(value) + 2
    if size > MAX_ARG_STRLEN:
        raise ConfigError(
            f"{what or f'the value of {key}'} is {size // 1024} KiB; one environment variable "
            "holds at most 128 KiB (the kernel's MAX_ARG_STRLEN), so nothing was applied",
            path=path,
            line=line,
            hint=hint or "keep it in a file and point a variable at its path",
        )


def environment_size(environ: Mapping[str, str]) -> int:
    """What ``environ`` costs in the kernel's ARG_MAX: each string with its NUL, and a pointer."""
    return sum(len(k) + _bytes(v) + 2 + 8 for k, v in environ.items())


def _bytes(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def check_environment_size(environ: Mapping[str, str]) -> None:
    """Raise when a command could no longer be started with ``environ`` (ARG_MAX, less
    :data:`ARGV_ROOM` for the command's arguments)."""
    import os

    try:
        arg_max = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        arg_max = 2 * 1024 * 1024
    limit = max(arg_max - ARGV_ROOM, arg_max // 2)
    size = environment_size(environ)
    if size > limit:
        raise ConfigError(
            f"the environment would be {size // 1024} KiB, more than the {limit // 1024} KiB "
            "a command can start with (the kernel's ARG_MAX less room for arguments), so "
            "nothing was applied",
            hint="load fewer or shorter variables",
        )
