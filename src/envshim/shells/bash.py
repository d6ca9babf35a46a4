"""bash: ``export K='v'``; a value with a newline is written ``$'…'`` on one line.

Single quotes keep every byte and bash never applies ``!`` history expansion
inside them. But an interactive bash reading lines (a paste) treats a line that
starts with ``^`` as quick substitution even inside a multi-line quote, so a
value with a newline is written on one line (:func:`~.base.one_line_quote`).
"""

from __future__ import annotations

from .base import Renderer, one_line_quote

# Measured by tests/test_shells_reserved.py (non-interactive and interactive):
# names bash refuses (read-only) or does not keep as written (integer-typed,
# dynamic, arrays). Names that only warn (LC_ALL) are fine and not listed.
_BASH_RESERVED_NAMES = """
    BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_CMDS BASH_COMMAND BASH_LINENO
    BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO DIRSTACK EPOCHREALTIME EPOCHSECONDS EUID FUNCNAME
    GROUPS HISTCMD LINENO MAILCHECK OPTIND PIPESTATUS PPID RANDOM SECONDS SHELLOPTS SRANDOM UID
"""
BASH_RESERVED = frozenset(_BASH_RESERVED_NAMES.split())


class BashRenderer(Renderer):
    name = "bash"
    reserved = BASH_RESERVED

    def quote(self, value: str) -> str:
        return one_line_quote(value)

    def export(self, key: str, value: str) -> str:
        return f"export {key}={self.quote(value)}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
