"""bash: ``export K='v'`` with POSIX single quotes."""

from __future__ import annotations

from .base import Renderer, single_quote_posix

# Read-only or special in bash: assigning them fails or changes the shell itself.
BASH_RESERVED = frozenset({
    "BASHOPTS", "BASHPID", "BASH_ALIASES", "BASH_ARGC", "BASH_ARGV", "BASH_ARGV0",
    "BASH_CMDS", "BASH_COMMAND", "BASH_LINENO", "BASH_REMATCH", "BASH_SOURCE",
    "BASH_SUBSHELL", "BASH_VERSINFO", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS",
    "EUID", "FUNCNAME", "GROUPS", "HISTCMD", "LINENO", "PIPESTATUS", "PPID", "RANDOM",
    "SECONDS", "SHELLOPTS", "SRANDOM", "UID",
})


class BashRenderer(Renderer):
    name = "bash"
    reserved = BASH_RESERVED

    def export(self, key: str, value: str) -> str:
        return f"export {key}={single_quote_posix(value)}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
