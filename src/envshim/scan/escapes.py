"""Escapes that hide a value among plain characters: JSON ``\\u``, ``\\xNN``, URL ``%XX``.

:class:`DecodedView` decodes the escapes of a buffer, with a margin of plain
bytes around each cluster of them, into one view to search, and maps a span of
that view back to the buffer (and says which kinds of escape it holds).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import NamedTuple

_SIMPLE = {b'"': b'"', b"\\": b"\\", b"/": b"/", b"b": b"\b", b"f": b"\f", b"n": b"\n",
           b"r": b"\r", b"t": b"\t"}  # fmt: skip


def decode_escape(token: bytes) -> tuple[bytes, str]:
    if token[0] == 0x25:  # %XX
        return bytes((int(token[1:], 16),)), "url-encoded"
    letter = token[1]
    if letter == 0x78:  # \xNN
        return bytes((int(token[2:], 16),)), "hex-escaped"
    if letter == 0x75:  # \uXXXX, or a surrogate pair
        high = int(token[2:6], 16)
        point = high
        if len(token) == 12:
            point = 0x10000 + ((high - 0xD800) << 10) + (int(token[8:12], 16) - 0xDC00)
        return chr(point).encode("utf-8", "surrogatepass"), "json-escaped"
    return _SIMPLE[token[1:2]], "json-escaped"


def _hex(text: str) -> str:
    """A regex for hex digits in either case."""
    return "".join(c if c.isdigit() else f"[{c.lower()}{c.upper()}]" for c in text)


def escape_regexes(patterns: list[bytes]) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The escapes that can stand for a byte or character of some pattern, and no others:
    ``%XX``, and the backslash ones.

    Other escapes (a ``%20`` when no value holds a space) cannot be inside a hit:
    leaving them out keeps the decoded windows few in logs full of URLs. Two regexes,
    each starting with one literal character, which ``re`` finds as fast as ``find``
    (an alternation of both scans byte by byte, three times slower).
    """
    wanted = {b for p in patterns for b in p}
    chars = {c for p in patterns for c in p.decode("utf-8", "ignore")}
    byte_codes = "|".join(sorted(_hex(f"{b:02X}") for b in wanted))
    units = []
    for c in sorted(chars, key=ord, reverse=True):  # pairs (astral characters) first
        encoded = c.encode("utf-16-be", "surrogatepass")
        units.append(
            r"\\u".join(_hex(encoded[i : i + 2].hex().upper()) for i in (0, 2)[: len(encoded) // 2])
        )
    alts = [rf"x(?:{byte_codes})", r"u(?:" + "|".join(units) + ")"]
    letters = [k.decode() for k, v in _SIMPLE.items() if v[0] in wanted]
    if letters:
        alts.append("[" + re.escape("".join(letters)) + "]")
    percent = re.compile(rf"%(?:{byte_codes})".encode())
    return percent, re.compile((r"\\(?:" + "|".join(alts) + ")").encode())


class _Mark(NamedTuple):
    dec_start: int
    dec_end: int
    raw_start: int
    raw_end: int
    kind: str


class DecodedView:
    """Every cluster of escapes in a buffer decoded, with ``margin`` plain bytes around it.

    The windows are joined into one view (a search per window costs more than the
    window); a span must stay inside one window.
    """

    def __init__(self, buf: bytes, escapes: Iterable[re.Match[bytes]], margin: int) -> None:
        parts: list[bytes] = []
        self.marks: list[_Mark] = []
        self.windows: list[list[int]] = []  # [decoded start, decoded end, buffer start, mark]
        size = 0
        pos = -1  # buffer offset copied up to; -1: no window open
        last_end = 0
        for m in escapes:
            start = m.start()
            if pos >= 0 and start - last_end > margin:
                size = self._end_window(parts, buf, pos, last_end + margin, size)
                pos = -1
            if pos < 0:
                pos = max(0, start - margin)
                self.windows.append([size, -1, pos, len(self.marks)])
            parts.append(buf[pos:start])
            size += start - pos
            value, kind = decode_escape(m.group())
            self.marks.append(_Mark(size, size + len(value), start, m.end(), kind))
            parts.append(value)
            size += len(value)
            pos = last_end = m.end()
        if pos >= 0:
            self._end_window(parts, buf, pos, last_end + margin, size)
        self.data = b"".join(parts)
        self.window_starts = [w[0] for w in self.windows]
        self.mark_starts = [mk.dec_start for mk in self.marks]

    def _end_window(self, parts: list[bytes], buf: bytes, pos: int, hi: int, size: int) -> int:
        hi = min(len(buf), hi)
        parts.append(buf[pos:hi])
        size += hi - pos
        self.windows[-1][1] = size
        return size

    def span(self, start: int, stop: int) -> tuple[int, int, str] | None:
        """The buffer span of view bytes ``start:stop`` and the kinds of escape in it; None
        when it crosses windows or holds no escape (the literal view reports those)."""
        w_start, w_end, lo, first_mark = self.windows[bisect_right(self.window_starts, start) - 1]
        if stop > w_end:
            return None
        marks = self.marks
        kinds = set()
        i = bisect_left(self.mark_starts, stop) - 1
        while i >= first_mark and marks[i].dec_end > start:
            kinds.add(marks[i].kind)
            i -= 1
        if not kinds:
            return None

        def locate(offset: int, end: bool) -> int:
            """The buffer offset of a view byte (its first or, with ``end``, past its last)."""
            i = bisect_right(self.mark_starts, offset) - 1
            if i < first_mark:
                return lo + (offset - w_start) + end
            mk = marks[i]
            if offset < mk.dec_end:  # a byte an escape decoded to
                return mk.raw_end if end else mk.raw_start
            return mk.raw_end + (offset - mk.dec_end) + end

        return locate(start, False), locate(stop - 1, True), ", ".join(sorted(kinds))
