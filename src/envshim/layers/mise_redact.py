"""Which variables mise would redact, so every envshim output can hide them too.

mise (2026.9.15, ``config/mod.rs`` and ``env_directive``) redacts the value of a
variable when its name matches a pattern of some config's top-level
``redactions = [...]`` (``*`` any run of characters, ``?`` one character), or when
the entry that set it says ``redact = true`` (``_.file = { …, redact = true }``
covers every name the file sets; an inline ``age`` value is redacted unless it says
``redact = false``) — except when the last entry for that name said
``redact = false``, which wins over the patterns.

The mise layer marks these names secret in the merge (:meth:`Tracker.apply`), so
``export --format github`` masks them and ``explain`` hides them like any secret;
:func:`redacted_names` is the rule itself, for a caller that has names and patterns.
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..merge import Merger


def wildcard_match(name: str, pattern: str) -> bool:
    """mise's ``wildcard_match``: ``*`` any run (also empty), ``?`` one character."""
    i = j = 0
    star = -1
    star_i = 0
    while i < len(name):
        if j < len(pattern) and (pattern[j] == "?" or pattern[j] == name[i]):
            i += 1
            j += 1
        elif j < len(pattern) and pattern[j] == "*":
            star = j
            j += 1
            star_i = i
        elif star >= 0:
            j = star + 1
            star_i += 1
            i = star_i
        else:
            return False
    while j < len(pattern) and pattern[j] == "*":
        j += 1
    return j == len(pattern)


def redacted_names(
    names: Iterable[str], patterns: Iterable[str], excluded: Iterable[str] = ()
) -> set[str]:
    """The ``names`` mise redacts: those matching a pattern (a plain name matches itself),
    less the ``excluded`` ones (whose last entry said ``redact = false``)."""
    pats = [p for p in patterns if p]
    skip = set(excluded)
    return {n for n in names if n not in skip and any(wildcard_match(n, p) for p in pats)}


class Tracker:
    """What one evaluation learns about redaction, entry by entry, in mise's order."""

    __slots__ = ("excluded", "marked", "patterns")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: list[str] = list(patterns)  # the configs' `redactions`
        self.marked: list[str] = []  # names an entry marked `redact = true`
        self.excluded: set[str] = set()  # names whose last entry said `redact = false`

    def assigned(self, name: str, redact: bool | None, *, default: bool = False) -> None:
        """An entry set ``name``; ``redact`` as written (None: not written); ``default`` is
        what an unwritten ``redact`` means for it (True for an age value)."""
        if redact is False:
            self.excluded.add(name)
        else:
            self.excluded.discard(name)
        if redact is True or (redact is None and default):
            self.marked.append(name)

    def removed(self, name: str) -> None:
        self.excluded.discard(name)

    def apply(self, merger: Merger) -> None:
        """Mark every redacted variable the merge holds as secret."""
        from ..model import ResolvedVar

        names = redacted_names(merger.vars, [*self.patterns, *self.marked], self.excluded)
        for name in names:
            var = merger.vars[name]
            if var.value is not None and not var.secret:
                merger.vars[name] = ResolvedVar(name, var.value, var.origin, True, var.shadowed)
