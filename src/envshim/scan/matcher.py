"""One matcher for ``scan`` and ``redact``: every form of every secret value, in one pass.

Two views of the same bytes are searched:

* **Literals**, with line breaks removed (so base64 wrapped at any width, with
  LF or CRLF, reads as one run): the value and its hex, base64, base64url,
  base32 and UTF-16 forms (:mod:`.forms`).
* **Escapes decoded**, only in windows around ``\\uXXXX``, ``\\xNN``, ``%XX``
  and the JSON one-letter escapes: the value (and its base64) written with any
  mix of escaped and plain characters, in either hex case. A hit here must
  contain an escape; the rest is the literal view's.

Many literals are found at once without a regex alternation (which Python
tries one branch at a time, about 0.1 MB/s for a thousand literals): every
occurrence of a literal at least ``S + W - 1`` bytes long covers a ``W``-byte
window starting at a multiple of ``S``. The buffer is read as machine words at
that stride (``memoryview.cast`` and ``tolist`` in C), each word is looked up
in a table of the literals' words at offsets ``0 .. S-1`` (``map`` and
``compress`` in C), and a candidate is checked with ``startswith``. Literals
too short for a word are found with ``bytes.find``.

Nothing here prints or logs a value; :class:`Needle` leaves its pattern out of
its ``repr``.
"""

from __future__ import annotations

import heapq
import re
import sys
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from .escapes import DecodedView, escape_regexes
from .forms import LINE_BREAKS, MIN_LENGTH, forms_of


@dataclass(frozen=True)
class Needle:
    pattern: bytes = field(repr=False)
    keys: tuple[str, ...]
    form: str
    escaped: bool = False  # looked for where escapes were decoded, not in the bytes as they are

    @property
    def label(self) -> str:
        return ", ".join(self.keys)


class Hit(NamedTuple):
    start: int  # byte offsets in the searched buffer, end exclusive
    end: int
    keys: tuple[str, ...]
    form: str


# -- needles ----------------------------------------------------------------


def _escapable_forms(value: str) -> list[tuple[str, bytes]]:
    """The forms also looked for with escapes decoded: the value (base64 needs no escape)."""
    raw = value.encode("utf-8", "surrogatepass")
    forms = [("plain", raw)]
    if " " in value:
        forms.append(("plain", raw.replace(b" ", b"+")))  # form encoding: space as '+'
    return forms


def build_needles(
    secrets: Mapping[str, str], min_length: int = MIN_LENGTH, *, line_fragments: bool = False
) -> tuple[list[Needle], list[str]]:
    """Needles for every value at least ``min_length`` characters long; and the keys skipped.

    ``line_fragments`` adds each line of a multi-line value as a value of its
    own (``redact`` passes output on line by line, so a private key printed
    across lines is still caught one line at a time).
    """
    by_pattern: dict[tuple[bytes, bool], tuple[list[str], str]] = {}

    def add(pattern: bytes, key: str, form: str, escaped: bool) -> None:
        if len(pattern) < min_length:
            return  # a short piece of a short value would match noise
        keys, _form = by_pattern.setdefault((pattern, escaped), ([], form))
        if key not in keys:
            keys.append(key)

    skipped = []
    for key in sorted(secrets):
        value = secrets[key]
        if len(value) < min_length:
            skipped.append(key)
            continue
        values = [value]
        if line_fragments and "\n" in value:
            values += [line.rstrip("\r") for line in value.split("\n")]
        for one in values:
            if len(one) < min_length:
                continue
            for form, pattern in forms_of(one):
                add(pattern.translate(None, LINE_BREAKS), key, form, False)
            for form, pattern in _escapable_forms(one):
                add(pattern, key, form, True)
    needles = [Needle(p, tuple(keys), form, esc) for (p, esc), (keys, form) in by_pattern.items()]
    return needles, skipped


# -- many literals at once ---------------------------------------------------------

# CPU time per MB of one pass (measured: bench/bench_scan.py --calibrate), used to choose
# how literals are split between word sizes and strides and plain ``bytes.find``.
_WORD_COST = {(8, 1): 4.3, (8, 2): 2.2, (8, 3): 1.5, (8, 4): 1.1, (4, 1): 8.6, (4, 2): 4.3}
_FIND_COST = 0.35
_BLOCK_WORDS = 1024  # words per list: few enough that finding a hit word in it is cheap


class _Words:
    """Literals at least ``step + width - 1`` bytes long, found through sampled words."""

    def __init__(self, width: int, mult: int, items: list[tuple[bytes, Needle]]) -> None:
        self.width = width
        self.code = "Q" if width == 8 else "I"
        self.mult = mult
        self.step = width * mult
        self.block = _BLOCK_WORDS * self.step
        table: dict[int, list[tuple[int, bytes, Needle]]] = {}
        for pattern, needle in items:
            # only the first sampled word inside an occurrence finds it: no duplicates
            for j in range(self.step):
                word = int.from_bytes(pattern[j : j + width], sys.byteorder)
                table.setdefault(word, []).append((j, pattern, needle))
        self.table = table
        self.words = frozenset(table)

    def find(self, buf: bytes) -> Iterator[tuple[int, bytes, Needle]]:
        table = self.table
        common = self.words.intersection
        step, width, mult = self.step, self.width, self.mult
        with memoryview(buf) as view:
            for base in range(0, len(buf), self.block):
                usable = (min(self.block, len(buf) - base) // width) * width
                if not usable:
                    break
                with view[base : base + usable] as part, part.cast(self.code) as cast:
                    words = cast[::mult].tolist() if mult > 1 else cast.tolist()
                # the words of literals this block holds, found in C; usually none
                for word in common(words):
                    index = words.index(word)
                    while True:
                        at = base + index * step
                        for j, pattern, needle in table[word]:
                            start = at - j
                            if start >= 0 and buf.startswith(pattern, start):
                                yield start, pattern, needle
                        try:
                            index = words.index(word, index + 1)
                        except ValueError:
                            break


class _Literals:
    """Every occurrence (overlapping ones too) of many byte strings."""

    def __init__(self, items: list[tuple[bytes, Needle]]) -> None:
        self.passes: list[_Words] = []
        self.short: list[tuple[bytes, Needle]] = []
        self.longest = max((len(p) for p, _ in items), default=0)
        if not items:
            return
        best: tuple[float, int, int] | None = None
        for mult in (1, 2, 3, 4):
            threshold = 8 * mult + 7
            below = [p for p, _ in items if len(p) < threshold]
            cost = _WORD_COST[(8, mult)] if len(below) < len(items) else 0.0
            cost += self._lower_cost(below)
            if best is None or cost < best[0]:
                best = (cost, mult, threshold)
        assert best is not None
        _, mult, threshold = best
        upper = [(p, n) for p, n in items if len(p) >= threshold]
        if upper:
            self.passes.append(_Words(8, mult, upper))
        lower = [(p, n) for p, n in items if len(p) < threshold]
        plan = self._lower_plan([p for p, _ in lower])
        if plan is None:
            self.short = lower
        else:
            mult4, threshold4 = plan
            mid = [(p, n) for p, n in lower if len(p) >= threshold4]
            self.passes.append(_Words(4, mult4, mid))
            self.short = [(p, n) for p, n in lower if len(p) < threshold4]

    @staticmethod
    def _lower_plan(patterns: list[bytes]) -> tuple[int, int] | None:
        """A 4-byte-word pass for the literals under the 8-byte threshold, or None (find each)."""
        best: tuple[float, tuple[int, int] | None] = (_FIND_COST * len(patterns), None)
        for mult in (1, 2):
            threshold = 4 * mult + 3
            short = sum(1 for p in patterns if len(p) < threshold)
            if short < len(patterns):
                cost = _WORD_COST[(4, mult)] + _FIND_COST * short
                if cost < best[0]:
                    best = (cost, (mult, threshold))
        return best[1]

    @classmethod
    def _lower_cost(cls, patterns: list[bytes]) -> float:
        plan = cls._lower_plan(patterns)
        if plan is None:
            return _FIND_COST * len(patterns)
        mult, threshold = plan
        return _WORD_COST[(4, mult)] + _FIND_COST * sum(1 for p in patterns if len(p) < threshold)

    def find(self, buf: bytes) -> Iterator[tuple[int, bytes, Needle]]:
        for words in self.passes:
            yield from words.find(buf)
        for pattern, needle in self.short:
            pos = buf.find(pattern)
            while pos != -1:
                yield pos, pattern, needle
                pos = buf.find(pattern, pos + 1)


# -- views -----------------------------------------------------------------------------

_BREAK = re.compile(b"[\r\n]")


class _Unstrip:
    """Offsets in a buffer with its line breaks removed, mapped back to the buffer."""

    def __init__(self, buf: bytes) -> None:
        # kept bytes before the i-th removed byte: a stripped offset past it moves by one more
        self.before = [m.start() - i for i, m in enumerate(_BREAK.finditer(buf))]

    def start(self, offset: int) -> int:
        return offset + bisect_right(self.before, offset)

    def end(self, offset: int) -> int:
        return self.start(offset - 1) + 1


class Matcher:
    """All needles' occurrences in a buffer, as :class:`Hit` spans of that buffer."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        self.literal = _Literals([(n.pattern, n) for n in needles if not n.escaped])
        escaped = [(n.pattern, n) for n in needles if n.escaped]
        self.escaped = _Literals(escaped)
        self.margin = self.escaped.longest  # decoded bytes a hit can reach beyond an escape
        self.escape_res = escape_regexes([p for p, _ in escaped]) if escaped else None
        # bytes to keep from one chunk to the next so that no occurrence is cut
        self.overlap_literal = max(self.literal.longest - 1, 0)
        self.overlap_raw = max(6 * self.escaped.longest - 1, 0)  # \uXXXX: 6 bytes per byte

    def hits(self, buf: bytes) -> list[Hit]:
        """Every occurrence in ``buf``, in no particular order; overlapping ones too."""
        out: list[Hit] = []
        view = buf.translate(None, LINE_BREAKS)
        unstrip = None
        for pos, pattern, needle in self.literal.find(view):
            if len(view) == len(buf):
                out.append(Hit(pos, pos + len(pattern), needle.keys, needle.form))
                continue
            unstrip = unstrip or _Unstrip(buf)
            start, end = unstrip.start(pos), unstrip.end(pos + len(pattern))
            out.append(Hit(start, end, needle.keys, needle.form))
        if self.escape_res is not None and (b"\\" in buf or b"%" in buf):
            out += self._escaped_hits(buf)
        return out

    def _escaped_hits(self, buf: bytes) -> list[Hit]:
        assert self.escape_res is not None
        percent, backslash = self.escape_res
        found = [rx.finditer(buf) for rx, c in ((percent, b"%"), (backslash, b"\\")) if c in buf]
        escapes = found[0] if len(found) == 1 else heapq.merge(*found, key=lambda m: m.start())
        view = DecodedView(buf, escapes, self.margin)
        out = []
        for start, pattern, needle in self.escaped.find(view.data) if view.data else ():
            span = view.span(start, start + len(pattern))
            if span is not None:
                first, last, kind = span
                form = kind if needle.form == "plain" else f"{needle.form}, {kind}"
                out.append(Hit(first, last, needle.keys, form))
        return out

    def tail_start(self, buf: bytes) -> int:
        """Where the bytes start that must be searched again with the next chunk."""
        n = len(buf)
        start = max(0, n - self.overlap_literal)
        while start > 0:
            kept = (n - start) - buf.count(b"\n", start) - buf.count(b"\r", start)
            if kept >= self.overlap_literal:
                break
            start = max(0, start - max(self.overlap_literal - kept, n - start))
        return min(start, max(0, n - self.overlap_raw))
