"""Errors that reach the user as one line: where, what, and what to do.

A message never contains a secret value or file content: callers pass names,
paths and line numbers only, and :func:`printable` escapes control characters in
all of it. The CLI prints ``str(error)`` and exits with ``exit_code``.
"""

from __future__ import annotations

import os


class EnvshimError(Exception):
    """A failure the user can act on. ``str()`` is the whole one-line report."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        self.col = col
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        text = where + self.message
        if self.hint:
            text += f"; {self.hint}"
        return printable(text.replace("\n", " "))


def printable(text: str) -> str:
    """``text`` safe to show on a terminal: every character that is not printable (C0 and
    C1 controls, ESC, DEL, bidi overrides, lone surrogates from undecodable file names)
    is written as its Python escape, so a file or directory name cannot clear the screen
    or set the clipboard (OSC 52). Every message passes through here."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class UsageError(EnvshimError):
    """The command line itself is wrong (exit 2, as argparse does)."""

    exit_code = 2


class ConfigError(EnvshimError):
    """A config or data file cannot be read as written."""


class DecryptError(EnvshimError):
    """A secret file cannot be decrypted or fails its integrity check."""


class MissingRequiredError(EnvshimError):
    """One or more variables marked required are absent."""
