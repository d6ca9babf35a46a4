"""Changing plain age secret files (``secrets.env.age``): set, remove, edit, in memory.

The plaintext is a dotenv file read with the common rules
(:func:`envshim.formats.dotenv.parse`). A change touches only the lines of the
binding it changes, so comments and the order of everything else stay. The
file is encrypted again, armored if it was (new files are armored: text diffs
in git), to the recipients of its ``.sops.yaml`` creation rule: age files do
not record who could read them, so the rule is the only list there is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError

_BARE = re.compile(r"[A-Za-z0-9_./:@+,%=-]+")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def quote(value: str) -> str:
    """A dotenv value that the common rules read back as exactly ``value``."""
    if _BARE.fullmatch(value) and not value.startswith("#"):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _end_line(lines: list[str], start: int, quote_char: str) -> int:
    """The 0-based last line of the binding starting at ``start`` (multi-line quoted values)."""
    if not quote_char:
        return start
    text = "\n".join(lines[start:])
    i = text.index("=") + 1
    while text[i] in " \t":
        i += 1
    i += 1  # the opening quote
    while i < len(text):
        c = text[i]
        if quote_char == '"' and c == "\\":
            i += 2
            continue
        if c == quote_char:
            return start + text.count("\n", 0, i)
        i += 1
    return len(lines) - 1


class AgeDocument:
    """A decrypted age secret file held in memory, with the same interface as a sops document."""

    store = "age"

    def __init__(self, path: Path, text: str, armored: bool) -> None:
        self.path = path
        self.text = text
        self.armored = armored

    @classmethod
    def open(cls, path: Path, identities: list[Any]) -> AgeDocument:
        from ..safeio import read_regular
        from .age import ARMOR_BEGIN, decrypt_bytes

        data = read_regular(path)
        plain = decrypt_bytes(data, identities, path)
        try:
            text = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                "the decrypted content is not UTF-8 text",
                path=path,
                hint="envshim changes age files that hold dotenv text",
            ) from None
        doc = cls(path, text, data.lstrip().startswith(ARMOR_BEGIN))
        doc._bindings()  # a file that does not parse is not rewritten
        return doc

    @classmethod
    def empty(cls, path: Path) -> AgeDocument:
        return cls(path, "", True)

    def _bindings(self) -> list[Any]:
        from .dotenv import parse

        return parse(self.text, str(self.path))

    def names(self) -> list[str]:
        return [b.key for b in self._bindings()]

    def values(self) -> list[tuple[str, str, int | None]]:
        return [(b.key, b.value, b.line) for b in self._bindings()]

    def set(self, name: str, value: str) -> None:
        if not _KEY.fullmatch(name):
            raise ConfigError(
                f"{name!r} cannot be a key in a dotenv file",
                path=self.path,
                hint="use letters, digits and _",
            )
        line = f"{name}={quote(value)}"
        lines = self.text.split("\n")
        found = [b for b in self._bindings() if b.key == name]
        if found:
            b = found[-1]
            start = b.line - 1
            end = _end_line(lines, start, b.quote)
            lines[start : end + 1] = [line]
            self.text = "\n".join(lines)
        else:
            if self.text and not self.text.endswith("\n"):
                self.text += "\n"
            self.text += line + "\n"

    def remove(self, name: str) -> None:
        lines = self.text.split("\n")
        for b in reversed([b for b in self._bindings() if b.key == name]):
            start = b.line - 1
            del lines[start : _end_line(lines, start, b.quote) + 1]
        self.text = "\n".join(lines)

    def plaintext(self) -> str:
        return self.text

    def replace_plaintext(self, text: str) -> None:
        old = self.text
        self.text = text
        try:
            self._bindings()
        except ConfigError:
            self.text = old
            raise

    def recipients(self) -> list[str]:
        from ..sopsconfig import creation_rule

        rule = creation_rule(self.path.resolve() if self.path.exists() else self.path)
        return [r for group in rule.groups for r in group]

    def save(self) -> list[str]:
        """Encrypt to the creation rule's recipients and write atomically; return them."""
        import pyrage

        from ..atomic import replace_preserving_mode, write_atomic
        from ..keys import parse_recipient

        recipients = self.recipients()
        if not recipients:
            raise ConfigError(
                "no age recipients for this file",
                path=self.path,
                hint="add one with `envshim recipients add <age1…>`",
            )
        data = pyrage.encrypt(
            self.text.encode("utf-8"),
            [parse_recipient(r) for r in recipients],
            armored=self.armored,
        )
        if self.path.exists():
            replace_preserving_mode(self.path, data)
        else:
            write_atomic(self.path, data, mode=0o644, lock=False)
        return recipients
