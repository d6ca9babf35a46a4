"""tcsh: ``setenv K 'v'``; ``unsetenv K``.

Inside tcsh single quotes everything is literal except ``!`` (history
substitution, written ``\\!``) and a backslash before a newline. A value is
written as single-quoted runs with each ``'``, ``!`` and ``\\`` written outside
the quotes as ``\\'``, ``\\!`` and ``\\\\``.

tcsh cannot hold one thing the other shells can, and envshim refuses it with one
line instead of loading a wrong value: a line break (LF or CR) in a value. The
hook evaluates ``eval "`envshim …`"``, and tcsh turns every newline of a command
substitution into a word break, so each command ends with ``;``. Long values are
fine (measured through ``eval`` up to 120,000 characters; the kernel's 128 KiB
per variable is checked for every shell).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from .base import Renderer, is_safe_bare

# Measured by tests/test_shells_more.py: tcsh mirrors PATH, HOME, USER, TERM into its
# own variables both ways, and hands every variable a script sets to children as written.
TCSH_MEASURED: frozenset[str] = frozenset()
TCSH_RESERVED = TCSH_MEASURED


def tcsh_quote(value: str) -> str:
    if is_safe_bare(value):
        return value
    out = ["'"]
    for ch in value:
        if ch in "'!\\":
            out.append(f"'\\{ch}'")
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


class TcshRenderer(Renderer):
    name = "tcsh"
    reserved = TCSH_RESERVED
    measured = TCSH_MEASURED

    def quote(self, value: str) -> str:
        return tcsh_quote(value)

    def check_value(self, key: str, value: str) -> None:
        if "\n" in value or "\r" in value:
            raise ConfigError(
                f"the value of {key} has a line break, which tcsh cannot hold",
                hint="keep it out of tcsh (exec_only, or `envshim run`), or use another shell",
            )

    def export(self, key: str, value: str) -> str:
        self.check_value(key, value)
        return f"setenv {key} {self.quote(value)}"

    def unset(self, key: str) -> str:
        return f"unsetenv {key}"

    def render(self, changes: Mapping[str, str | None]) -> str:
        # `eval "`envshim …`"` turns newlines into spaces: every command ends with `;`
        lines = [
            self.unset(k) if v is None else self.export(k, v) for k, v in sorted(changes.items())
        ]
        return "".join(line + ";\n" for line in lines)
