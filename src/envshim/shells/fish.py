"""fish: ``set -gx K 'v'``; inside fish single quotes only ``\\'`` and ``\\\\`` are escapes.

UTF-8 is written as UTF-8 (direnv's byte escapes break ``string length``).
"""

from __future__ import annotations

from .base import Renderer, is_safe_bare

# fish's read-only and special variables (``set --help``, fish-doc "Special variables").
FISH_RESERVED = frozenset({
    "PWD", "SHLVL", "FISH_VERSION", "fish_pid", "hostname", "history", "last_pid",
    "pipestatus", "status", "status_generation", "version", "argv", "fish_kill_signal",
    "umask", "CMD_DURATION", "EUID", "fish_private_mode",
})


def fish_quote(value: str) -> str:
    if is_safe_bare(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class FishRenderer(Renderer):
    name = "fish"
    reserved = FISH_RESERVED

    def export(self, key: str, value: str) -> str:
        return f"set -gx {key} {fish_quote(value)}"

    def unset(self, key: str) -> str:
        return f"set -e {key}"
