"""Replace secret values in output with ``[redacted KEY]``: the values and every form ``scan`` finds.

One matcher with ``envshim scan`` (:mod:`envshim.scan.matcher`): a value is
replaced plain, in hex (either case), base64 and base64url (at any alignment,
also wrapped across lines), base32, UTF-16, and written with JSON ``\\u``, URL
``%XX`` or ``\\xNN`` escapes mixed with plain characters. Every other byte
passes through unchanged, binary output included.

Values shorter than :data:`MIN_LENGTH` (6) characters are not redacted:
replacing every ``on`` or ``1234`` would destroy the output and still say
which value it was. Their keys are listed in :attr:`Redactor.skipped`; the
commands name them on stderr.

    >>> r = Redactor({"DB_PASSWORD": "hunter2-staging"})
    >>> r.redact("login failed for hunter2-staging")
    'login failed for [redacted DB_PASSWORD]'

Streams: :meth:`Redactor.stream` returns a :class:`RedactStream` whose
``feed(bytes)`` returns what can be written now and holds back only what may
be the start of a value continued in the next write: the unfinished last line,
at most as long as the longest form of a value (and a line that looks like
part of a wrapped base64 block, until the next one arrives). ``flush()``
releases what is held (at the end, or when the writer has been quiet for a
moment: :mod:`.pump` does that after 50 ms), so interactive output stays
interactive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..scan.forms import MIN_LENGTH
from ..scan.matcher import Hit, Matcher, build_needles

__all__ = ["MIN_LENGTH", "RedactStream", "Redactor"]

# A whole line of base64/base32/hex characters: maybe one line of a wrapped block whose
# next line completes a value, so it is held until that line comes (or a flush).
_ENCODED_LINE = re.compile(rb"[A-Za-z0-9+/=_-]{16,}\r?\n\Z")


class Redactor:
    """Replaces the given values (key → value) and their encoded forms."""

    def __init__(self, values: Mapping[str, str], *, min_length: int = MIN_LENGTH) -> None:
        needles, skipped = build_needles(values, min_length, line_fragments=True)
        self.skipped: list[str] = skipped  # keys of values too short to redact
        self.keys: list[str] = sorted({k for n in needles for k in n.keys})
        self.matcher = Matcher(needles)

    def __repr__(self) -> str:  # never the values
        return f"<Redactor of {len(self.keys)} values>"

    def redact_bytes(self, data: bytes) -> bytes:
        return _render(data, _spans(self.matcher.hits(data)), len(data))

    def redact(self, text: str) -> str:
        data = text.encode("utf-8", "surrogatepass")
        return self.redact_bytes(data).decode("utf-8", "surrogatepass")

    def stream(self) -> RedactStream:
        return RedactStream(self)


class RedactStream:
    """A byte stream's redaction, fed in pieces as they arrive."""

    def __init__(self, redactor: Redactor) -> None:
        self.matcher = redactor.matcher
        self.pending = b""

    def feed(self, data: bytes) -> bytes:
        """What can be written now; the rest waits for more data or :meth:`flush`."""
        buf = self.pending + data if self.pending else data
        spans = _spans(self.matcher.hits(buf))
        cut = self._cut(buf)
        for start, end, _ in spans:
            if start < cut < end:
                cut = start  # a value reaching past the cut waits whole
                break
        self.pending = buf[cut:]
        return _render(buf, [s for s in spans if s[1] <= cut], cut)

    def flush(self) -> bytes:
        """Everything held back, redacted: at the end of the stream, or when it went quiet."""
        buf, self.pending = self.pending, b""
        return _render(buf, _spans(self.matcher.hits(buf)), len(buf))

    def _cut(self, buf: bytes) -> int:
        """Where this write's output ends: after the last line break, keeping at least the
        bytes that may begin a value continued in the next write."""
        keep = self.matcher.tail_start(buf)  # before here, nothing can reach the next write
        line_end = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
        if line_end <= keep:
            return keep  # a long unfinished line: out, but its last bytes
        last_line = buf.rfind(b"\n", 0, line_end - 1) + 1
        if _ENCODED_LINE.match(buf, last_line, line_end):
            return keep  # maybe a wrapped block: its value may end on the next line
        return line_end


def _spans(hits: list[Hit]) -> list[tuple[int, int, str]]:
    """Overlapping hits merged, each named after its longest hit's keys; sorted."""
    spans: list[tuple[int, int, str]] = []
    longest = 0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        label = ", ".join(hit.keys)
        if spans and hit.start < spans[-1][1]:
            start, end, name = spans[-1]
            if hit.end - hit.start > longest:
                longest, name = hit.end - hit.start, label
            spans[-1] = (start, max(end, hit.end), name)
        else:
            spans.append((hit.start, hit.end, label))
            longest = hit.end - hit.start
    return spans


def _render(buf: bytes, spans: list[tuple[int, int, str]], stop: int) -> bytes:
    if not spans:
        return buf[:stop] if stop < len(buf) else buf
    parts = []
    pos = 0
    for start, end, name in spans:
        parts.append(buf[pos:start])
        parts.append(f"[redacted {name}]".encode())
        pos = end
    parts.append(buf[pos:stop])
    return b"".join(parts)
