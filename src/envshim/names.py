"""Names envshim writes: checked where they are written, so no teammate's shell breaks later.

A name gets into a secret file or the user store only if every supported shell
(bash, zsh, fish, sh) can hold it and none reserves it, and envshim does not
use it itself. The shells' rules are the renderers' own (``shells/``: the
same check ``export`` applies); envshim's are its state variable, its settings
(``ENVSHIM_*``) and the hook's shell variables (``_envshim_*``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .errors import ConfigError, UsageError

SHELLS = ("bash", "zsh", "fish", "posix")
ENVSHIM_PREFIX = "ENVSHIM_"


def _shown(name: str) -> str:
    """The name as a message may show it: quoted, control characters escaped."""
    return repr(name)


def problem(name: str) -> str | None:
    """Why ``name`` cannot be written, as one clause naming the rule; None when it can."""
    from .hook import HELPER_PREFIXES, STATE_VAR
    from .shells import get_renderer
    from .shells.base import COMMON_RESERVED, is_valid_name

    if not is_valid_name(name):
        return (
            f"{_shown(name)} is not a variable name every shell can hold "
            "(letters, digits and _, not starting with a digit)"
        )
    if name == STATE_VAR:
        return f"{name} is reserved by envshim (the hook keeps its state in it)"
    if name.startswith(ENVSHIM_PREFIX):
        return (
            f"{name} is reserved by envshim (names starting with {ENVSHIM_PREFIX} are its settings)"
        )
    if name.startswith(HELPER_PREFIXES):
        return f"{name} is reserved by envshim (the hook's own shell variables)"
    shells = [s for s in SHELLS if name in COMMON_RESERVED or name in get_renderer(s).reserved]
    if shells:
        shown = ["sh" if s == "posix" else s for s in shells]
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
        return f"{name} is reserved by {listed}"
    return None


def check(
    name: str,
    *,
    path: str | os.PathLike[str] | None = None,
    line: int | None = None,
    usage: bool = False,
) -> str:
    """``name`` when it may be written; else raise one line naming the rule (a
    :class:`UsageError` for a name typed on the command line)."""
    why = problem(name)
    if why is None:
        return name
    hint = "choose another name; nothing was changed"
    if usage:
        raise UsageError(why, hint=hint)
    raise ConfigError(why, path=path, line=line, hint=hint)


def check_all(
    names: Iterable[str],
    *,
    path: str | os.PathLike[str] | None = None,
    lines: Mapping[str, int | None] | None = None,
) -> None:
    """:func:`check` each of ``names``, naming its line when known."""
    for name in names:
        check(name, path=path, line=(lines or {}).get(name))
