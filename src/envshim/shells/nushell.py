r"""nushell: ``$env.K = "v"``; ``hide-env -i K``.

A plain double-quoted string (not ``$"…"``) interprets only backslash escapes: the
renderer writes ``\\`` and ``\"`` for those two characters and ``\u{…}`` for
control characters; everything else stands as itself. (Raw strings ``r#'…'#`` were
tried first: nushell 0.115 cannot parse one whose text starts with ``#``.) nushell
converts ``PATH`` to a list on start-up and back to ``:``-joined text for every
external command, so a child process sees the value as written.
"""

from __future__ import annotations

from .base import Renderer

# Measured by tests/test_shells_more.py: nushell keeps these as its own structured
# values, or refuses to let a script assign them.
NU_MEASURED = frozenset({"ENV_CONVERSIONS", "PWD", "config"})
# From nushell's documentation: set by nushell itself after every command, or for the
# file being run.
NU_DOCUMENTED = frozenset({"LAST_EXIT_CODE", "CMD_DURATION_MS", "FILE_PWD", "CURRENT_FILE"})
NU_RESERVED = NU_MEASURED | NU_DOCUMENTED


def nu_quote(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class NushellRenderer(Renderer):
    name = "nu"
    reserved = NU_RESERVED
    measured = NU_MEASURED

    def quote(self, value: str) -> str:
        return nu_quote(value)

    def export(self, key: str, value: str) -> str:
        return f"$env.{key} = {self.quote(value)}"

    def unset(self, key: str) -> str:
        return f"hide-env -i {key}"
