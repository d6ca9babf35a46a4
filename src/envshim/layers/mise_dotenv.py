"""dotenv files loaded through mise's ``_.file``, parsed exactly as mise's dotenvy (0.15) does.

mise reads a ``_.file`` that is not json/yaml/toml with the ``dotenvy`` crate,
whose rules differ from the common dotenv dialect (:mod:`envshim.formats.dotenv`):

* A logical line ends at a newline outside quotes (``\\r`` alone ends nothing,
  so ``a=b\\rc=d`` is one variable); a line starting with ``#`` is skipped.
* A key starts with an ASCII letter or ``_`` and continues with ASCII letters,
  digits, ``_`` and ``.`` (``KEY.Value`` is a key); ``export`` before a key is
  dropped; spaces around ``=`` are allowed.
* A value is made of unquoted, ``'single'`` (literal) and ``"double"`` pieces
  written next to each other (``'a'\\''b'`` is ``a'b``). Outside single quotes
  ``\\`` escapes only ``\\ ' " $``, a space and ``n`` (any other escape is an
  error, also inside double quotes: ``"\\t"`` is rejected); an unquoted space or
  tab ends the value, after which only ``# comment`` may follow (``a b`` is an
  error); a line that ends in whitespace at the end of the file is an error.
* ``$NAME`` (Unicode letters and digits, no ``_``) and ``${NAME}`` are replaced
  outside single quotes, from the process environment first, then from earlier
  lines, else by nothing. A ``$NAME`` ends at the first other character, which
  is then taken literally, even a closing quote (so ``"$A"`` is an unterminated
  quote, as in mise).

Errors name the file and the line, never the text.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from .mise_template import RUST_WHITESPACE

# Rust's char::is_whitespace (the Unicode White_Space property), not Python's isspace
_WS = frozenset(RUST_WHITESPACE)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "$": "$", " ": " ", "n": "\n"}


class _LineError(Exception):
    def __init__(self, line: int, what: str, hint: str = "", key: str = "") -> None:
        super().__init__(what)
        self.line = line
        self.what = what
        self.hint = hint
        self.key = key if _is_name(key) else ""  # named only when it is a variable name


def _is_name(key: str) -> bool:
    return (
        bool(key)
        and key.isascii()
        and (key[0] == "_" or key[0].isalpha())
        and all(c == "_" or c.isalnum() for c in key)
    )


_QUOTE_HINT = "quote a value that holds spaces or tabs: KEY='a b'"
_ESCAPE_HINT = "outside single quotes only \\\\ \\' \\\" \\$ \\n and an escaped space are allowed"


def _strip_end(text: str) -> str:
    end = len(text)
    while end and text[end - 1] in _WS:
        end -= 1
    return text[:end]


def _strip_start(text: str) -> str:
    i = 0
    while i < len(text) and text[i] in _WS:
        i += 1
    return text[i:]


def _logical_lines(text: str, skipped: list[int] | None = None) -> list[tuple[int, str]]:
    """dotenvy's QuotedLines: ``(first physical line, text)`` per logical line."""
    physical = text.split("\n")
    ends_with_newline = text.endswith("\n")
    if ends_with_newline:
        physical.pop()
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(physical):
        start = i
        buf = ""
        state = "complete"
        while True:
            if i >= len(physical):  # end of input inside a quote, an escape or after a space
                if skipped is None:
                    raise _LineError(
                        start + 1,
                        "a quote or an escape is not closed, or the last line ends in a space",
                        "close the quote, or remove the trailing space",
                    )
                skipped.append(start + 1)
                return out
            last = i == len(physical) - 1 and not ends_with_newline
            piece = physical[i] if last else physical[i] + "\n"
            i += 1
            buf_pos = len(buf)
            buf += piece
            if _strip_start(buf).startswith("#"):
                buf = ""
                break
            cut, state = _end_state(state, piece)
            if state == "complete":
                if buf.endswith("\n"):
                    buf = buf[:-1]
                    if buf.endswith("\r"):
                        buf = buf[:-1]
                break
            if state == "comment":
                buf = buf[: buf_pos + cut]
                break
        out.append((start + 1, buf))
    return out


def _end_state(state: str, piece: str) -> tuple[int, str]:
    pos = 0
    for pos, c in enumerate(piece):
        if state == "space":
            if c == "#":
                return pos, "comment"
            state = {"\\": "escape", '"': "weak", "'": "strong"}.get(c, "complete")
        elif state == "escape":
            state = "complete"
        elif state == "complete":
            if c in _WS and c not in "\n\r":
                state = "space"
            else:
                state = {"\\": "escape", '"': "weak", "'": "strong"}.get(c, "complete")
        elif state == "weak":
            state = {"\\": "weak_escape", '"': "complete"}.get(c, "weak")
        elif state == "weak_escape":
            state = "weak"
        elif state == "strong":
            state = {"\\": "strong_escape", "'": "complete"}.get(c, "strong")
        else:  # strong_escape
            state = "strong"
    return pos, state


def parse(
    text: str,
    path: str,
    environ: Mapping[str, str],
    seed: Mapping[str, str] | None = None,
    skipped: list[int] | None = None,
) -> list[tuple[str, str, int]]:
    """``(key, value, line)`` in file order. ``seed`` holds values that ``${NAME}`` may use
    as if they were set on earlier lines (mise's ``expand = true``). With ``skipped`` a
    line mise cannot read is left out and its number appended there, instead of an error."""
    if text.startswith("\ufeff"):
        text = text[1:]
    known: dict[str, str | None] = dict(seed or {})
    out: list[tuple[str, str, int]] = []
    try:
        for number, line in _logical_lines(text, skipped):
            try:
                parsed = _parse_line(line, number, known, environ)
            except _LineError:
                if skipped is None:
                    raise
                skipped.append(number)
                continue
            if parsed is not None:
                out.append((parsed[0], parsed[1], number))
    except _LineError as exc:
        what = f"{exc.key}: {exc.what}" if exc.key else exc.what
        raise ConfigError(
            f"mise cannot read this dotenv line ({what})",
            path=path,
            line=exc.line,
            hint=exc.hint or None,
        ) from None
    return out


def _parse_line(
    line: str, number: int, known: dict[str, str | None], environ: Mapping[str, str]
) -> tuple[str, str] | None:
    rest = _strip_start(_strip_end(line))
    if not rest or rest.startswith("#"):
        return None
    key, rest = _key(rest, number)
    rest = _strip_start(rest)
    if key == "export" and not rest.startswith("="):
        key, rest = _key(rest, number)
        rest = _strip_start(rest)
    if not rest.startswith("="):
        # the line may be a bare token (a key, a JWT): never shown, not even its first word
        raise _LineError(number, "no '=' after the first word", "write KEY=value", None)
    rest = _strip_start(rest[1:])
    if not rest or rest.startswith("#"):
        known[key] = None
        return key, ""
    value = _value(rest, number, known, environ, key)
    known[key] = value
    return key, value


def _key(text: str, number: int) -> tuple[str, str]:
    if not text or not (text[0] == "_" or (text[0].isascii() and text[0].isalpha())):
        raise _LineError(
            number,
            "the line does not start with a name",
            "a name starts with a letter or _ (then letters, digits, _ and .)",
        )
    end = 1
    while end < len(text) and (text[end] in "_." or (text[end].isascii() and text[end].isalnum())):
        end += 1
    return text[:end], text[end:]


def _value(
    text: str, number: int, known: dict[str, str | None], environ: Mapping[str, str], key: str
) -> str:
    out: list[str] = []
    strong = weak = escaped = expecting_end = False
    mode = ""  # "" | "block" ($NAME) | "braced" (${NAME})
    name: list[str] = []

    def substitute() -> None:
        key = "".join(name)
        name.clear()
        found = environ.get(key)
        if found is None:
            found = known.get(key) or ""
        out.append(found)

    for c in text:
        if expecting_end:
            if c in " \t":
                continue
            if c == "#":
                break
            raise _LineError(number, "an unquoted space or tab inside the value", _QUOTE_HINT, key)
        if escaped:
            if c not in _ESCAPES:
                raise _LineError(number, "an escape mise does not know", _ESCAPE_HINT, key)
            out.append(_ESCAPES[c])
            escaped = False
        elif strong:
            if c == "'":
                strong = False
            else:
                out.append(c)
        elif mode:
            if c.isalnum():
                name.append(c)
            elif mode == "block":
                if c == "{" and not name:
                    mode = "braced"
                else:
                    substitute()
                    if c == "$":
                        mode = "block"
                    else:
                        mode = ""
                        out.append(c)  # taken literally, even a quote (as dotenvy does)
            elif c == "}":  # braced
                mode = ""
                substitute()
            else:
                name.append(c)
        elif c == "$":
            mode = "block"
        elif weak:
            if c == '"':
                weak = False
            elif c == "\\":
                escaped = True
            else:
                out.append(c)
        elif c == "'":
            strong = True
        elif c == '"':
            weak = True
        elif c == "\\":
            escaped = True
        elif c in " \t":
            expecting_end = True
        else:
            out.append(c)
    if mode == "braced" or strong or weak:
        raise _LineError(
            number,
            "a quote or ${ is not closed",
            'close it; note that "$NAME" ends at the quote (write "${NAME}")',
            key,
        )
    substitute()
    return "".join(out)
