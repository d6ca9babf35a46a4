"""Scanning a byte stream in chunks, with an overlap so no occurrence is cut in two."""

from __future__ import annotations

from typing import BinaryIO

from .matcher import Hit, Matcher, Needle
from .report import Finding, Report

CHUNK = 1 << 20  # bytes read at a time

_cached: tuple[list[Needle], Matcher] | None = None


def matcher_for(needles: list[Needle]) -> Matcher:
    """One matcher per needle list (a run builds one list and scans every file with it)."""
    global _cached
    if _cached is None or _cached[0] is not needles:
        _cached = (needles, Matcher(needles))
    return _cached[1]


class StreamScanner:
    """Finds needles in a byte stream fed in chunks; yields (line, byte offset, hit)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.matcher = matcher_for(needles)
        self.tail = b""
        self.offset = 0  # stream offset of tail[0]
        self.lines = 0  # newlines before tail[0]

    def feed(self, chunk: bytes) -> list[tuple[int, int, Hit]]:
        buf = self.tail + chunk if self.tail else chunk
        fresh = len(self.tail)  # a hit must end past here, or it was reported already
        found = []
        for hit in sorted(self.matcher.hits(buf)):
            if hit.end > fresh:
                line = self.lines + buf.count(b"\n", 0, hit.start) + 1
                found.append((line, self.offset + hit.start, hit))
        cut = self.matcher.tail_start(buf)
        self.lines += buf.count(b"\n", 0, cut)
        self.offset += cut
        self.tail = buf[cut:]
        return found


def scan_stream(stream: BinaryIO, needles: list[Needle], size: int | None = None):
    """Hits in a readable binary stream, reading at most ``size`` bytes when given."""
    scanner = StreamScanner(needles)
    remaining = size
    while remaining is None or remaining > 0:
        want = CHUNK if remaining is None else min(CHUNK, remaining)
        chunk = stream.read(want)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        yield from scanner.feed(chunk)


def scan_text(text: str, needles: list[Needle]) -> list[tuple[int, int, Hit]]:
    return StreamScanner(needles).feed(text.encode("utf-8", "surrogatepass"))


def looks_binary(head: bytes) -> bool:
    return b"\0" in head[:8192]


def report_stream(
    stream: BinaryIO,
    label: str,
    binary: bool,
    needles: list[Needle],
    report: Report,
    size: int | None = None,
) -> None:
    for line, offset, hit in scan_stream(stream, needles, size):
        where = f"{label}: binary file, byte {offset}" if binary else f"{label}:{line}"
        report.add(Finding(where, hit.keys, hit.form))
