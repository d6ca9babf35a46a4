"""The dotenv parser shared by every layer.

Two dialects:

* :func:`parse` — the common dotenv rules (as python-dotenv reads them):
  ``export`` prefix, ``#`` comments, single quotes literal, double quotes with
  ``\\n \\t \\r \\" \\\\`` escapes, multi-line values inside quotes, unquoted
  values trimmed and cut at `` #``. Nothing is ever expanded here; callers that
  want expansion (mise's ``_.file``) get the quote style of each binding.
* :func:`parse_sops` — sops' literal dialect: everything after the first ``=``
  is the value, only ``\\n`` is unescaped, nothing is trimmed.

Every binding keeps its 1-based line number so that errors can name it.
"""

from __future__ import annotations

from .._record import dataclass  # dataclasses without inspect: the export path
from ..errors import ConfigError

_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$", "'": "'"}


@dataclass(frozen=True, slots=True)
class Binding:
    key: str
    value: str
    line: int
    quote: str = ""  # "'", '"' or "" (unquoted): how the value was written


def _is_key_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_.-"


def is_shell_name(key: str) -> bool:
    """``[A-Za-z_][A-Za-z0-9_]*`` (string code, no ``re``: this runs on every cd)."""
    return (
        bool(key)
        and key.isascii()
        and (key[0].isalpha() or key[0] == "_")
        and key.replace("_", "a").isalnum()
    )


def shown_key(key: str, line: int) -> str:
    """How a message names a binding: the key when it is a variable name, else its line.

    Anything else may be content that was never meant as a name (a pasted token
    or private key), so it is never shown.
    """
    return key if is_shell_name(key) else f"the key on line {line}"


def parse(text: str, path: str = "<dotenv>") -> list[Binding]:
    """Parse ``text`` with the common dotenv rules; raise :class:`ConfigError` naming the line."""
    out: list[Binding] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    n = len(text)
    i = 0
    line = 1
    while i < n:
        # skip blank space and whole-line comments
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
            continue
        if ch in " \t\r\f\v":
            i += 1
            continue
        if ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        start_line = line
        if text.startswith("export", i) and i + 6 < n and text[i + 6] in " \t":
            i += 6
            while i < n and text[i] in " \t":
                i += 1
        k = i
        while i < n and _is_key_char(text[i]):
            i += 1
        key = text[k:i]
        while i < n and text[i] in " \t":
            i += 1
        if not key or i >= n or text[i] != "=":
            # never quote the line: a bare token here is often a pasted secret
            what = "does not start with a name" if not key else "has no '='"
            raise ConfigError(
                f"invalid dotenv line: line {start_line} {what}",
                path=path,
                line=start_line,
                hint="write it as KEY=VALUE",
            )
        i += 1  # '='
        while i < n and text[i] in " \t":
            i += 1
        quote = text[i] if i < n and text[i] in "'\"" else ""
        if quote == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ConfigError(
                    f"unterminated single quote in the value of {shown_key(key, start_line)}",
                    path=path,
                    line=start_line,
                    hint="close the quote",
                )
            value = text[i + 1 : j]
            line += value.count("\n")
            i = j + 1
        elif quote == '"':
            buf: list[str] = []
            j = i + 1
            while True:
                if j >= n:
                    raise ConfigError(
                        f"unterminated double quote in the value of {shown_key(key, start_line)}",
                        path=path,
                        line=start_line,
                        hint="close the quote",
                    )
                c = text[j]
                if c == '"':
                    break
                if c == "\\" and j + 1 < n and text[j + 1] in _DOUBLE_ESCAPES:
                    buf.append(_DOUBLE_ESCAPES[text[j + 1]])
                    j += 2
                    continue
                if c == "\n":
                    line += 1
                buf.append(c)
                j += 1
            value = "".join(buf)
            i = j + 1
        else:
            j = text.find("\n", i)
            raw = text[i : n if j < 0 else j]
            # an unquoted value ends at a comment: '#' preceded by whitespace (`a=#b` is "#b",
            # `a= #b` is "", as python-dotenv reads them)
            for m in range(len(raw)):
                if raw[m] == "#" and text[i + m - 1] in " \t":
                    raw = raw[:m]
                    break
            value = raw.strip()
            i = n if j < 0 else j
        if quote:
            # after a closing quote only blanks and a comment may follow
            j = text.find("\n", i)
            rest = text[i : n if j < 0 else j].strip()
            if rest and not rest.startswith("#"):
                raise ConfigError(
                    f"unexpected text after the quoted value of {shown_key(key, start_line)}",
                    path=path,
                    line=line,
                    hint="quote the whole value",
                )
            i = n if j < 0 else j
        out.append(Binding(key, value, start_line, quote))
    return out


def parse_sops(text: str, path: str = "<dotenv>") -> list[Binding]:
    """sops' literal dotenv dialect, exactly as ``sops`` reads it: ``KEY=rest of line``,
    only ``\\n`` unescaped, nothing trimmed (not even a ``\\r``); a comment starts with
    ``#`` in the first column; an empty line is skipped, a blank one is an error."""
    out: list[Binding] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw or raw.startswith("#"):
            continue
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"invalid dotenv line: line {number} has no '='"
                if not sep
                else f"invalid dotenv line: line {number} has no name",
                path=path,
                line=number,
                hint="sops dotenv files hold one KEY=VALUE per line",
            )
        out.append(Binding(key, value.replace("\\n", "\n"), number))
    return out


def comment_lines(text: str) -> list[tuple[int, str]]:
    """The ``#`` comment lines of a sops dotenv file, with their line numbers."""
    return [
        (n, line) for n, line in enumerate(text.split("\n"), 1) if line.lstrip().startswith("#")
    ]
