"""fish: ``set -gx K 'v'``; inside fish single quotes only ``\\'`` and ``\\\\`` are escapes.

UTF-8 is written as UTF-8 (direnv's byte escapes break ``string length``); every
code point round-trips, though fish itself counts U+F600..U+F6FF and U+FDD0..U+FDEF,
which it uses internally, as three bytes each.
fish splits a variable whose name ends in ``PATH`` on ``:`` and joins it again
for child processes, so the child sees the value as written; only for ``PATH``
and ``CDPATH`` fish writes an empty entry as ``.``, which means the same.
"""

from __future__ import annotations

from .base import Renderer, is_safe_bare

# Measured by tests/test_shells_reserved.py: read-only or fish-managed variables.
_FISH_MEASURED_NAMES = """
    FISH_VERSION PWD SHLVL fish_kill_signal fish_killring fish_pid history hostname
    pipestatus status status_generation umask version
"""
FISH_MEASURED = frozenset(_FISH_MEASURED_NAMES.split())
# Reserved on fish's documentation: ``argv`` is shadowed inside every function (the
# hook runs in one); fish overwrites ``CMD_DURATION`` after every interactive command.
FISH_DOCUMENTED = frozenset({"argv", "CMD_DURATION"})
FISH_RESERVED = FISH_MEASURED | FISH_DOCUMENTED


def fish_quote(value: str) -> str:
    if is_safe_bare(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class FishRenderer(Renderer):
    name = "fish"
    reserved = FISH_RESERVED
    reserved_documented = FISH_DOCUMENTED

    def quote(self, value: str) -> str:
        return fish_quote(value)

    def export(self, key: str, value: str) -> str:
        return f"set -gx {key} {self.quote(value)}"

    def unset(self, key: str) -> str:
        # -g: a plain `set -e` would erase a universal variable for good once the global
        # one is gone
        return f"set -e -g {key}"
