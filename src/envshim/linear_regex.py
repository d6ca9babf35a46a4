"""Regular expressions from files others write, matched in linear time, as Go matches them.

sops evaluates ``unencrypted_regex``, ``encrypted_regex`` and ``.sops.yaml``'s
``path_regex`` with Go's ``regexp`` (RE2 semantics: no backtracking, time linear
in the input). Python's ``re`` backtracks: ``^(a+)+$`` against a long key takes
longer than the universe. So these patterns go through Google's RE2 (the
``google-re2`` package), which also reads Go's syntax; it is imported only when
a file has such a pattern (about 4 ms).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


class RegexError(ValueError):
    """The pattern cannot be used; the message names the reason, never the pattern."""


def compile_linear(pattern: str) -> Any:
    """An RE2 pattern object (``.search(text)``) for ``pattern``; raises :class:`RegexError`."""
    try:
        import re2  # type: ignore[import-not-found]
    except ImportError:
        raise RegexError(
            "the google-re2 package, which envshim uses for sops' regexes, is not installed"
        ) from None
    options = re2.Options()
    options.log_errors = False  # RE2 would print the pattern to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error:
        raise RegexError("not valid in Go's regexp syntax") from None
