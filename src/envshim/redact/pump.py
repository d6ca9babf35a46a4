"""Copy file descriptors through redaction: ``envshim redact`` and ``envshim run --redact``.

Each source is read as data arrives (no line buffering of our own to wait
for), redacted, and written to its own destination, so stdout and stderr stay
separate and in order. What a stream holds back (an unfinished line that may
continue a value) is released after :data:`QUIET` seconds without more data
for it, so a prompt without a newline still shows. When a destination is
closed (``| head``), its source is closed too: the writer gets SIGPIPE, as it
would without envshim in between.
"""

from __future__ import annotations

import os
import selectors
import time

from . import Redactor, RedactStream

QUIET = 0.05  # seconds a held unfinished line waits for the rest of it
READ = 1 << 16


def _write_all(fd: int, data: bytes) -> bool:
    """Write everything; False when the reader is gone."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BrokenPipeError:
            return False
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for safety
            continue
        view = view[written:]
    return True


def pump(redactor: Redactor, pairs: list[tuple[int, int]], quiet: float = QUIET) -> None:
    """Copy each (source, destination) pair through its own redacting stream until EOF."""
    # poll, not epoll: epoll refuses regular files (`envshim redact < file`)
    selector = (
        selectors.PollSelector()
        if hasattr(selectors, "PollSelector")
        else selectors.SelectSelector()
    )
    streams: dict[int, tuple[int, RedactStream]] = {}
    held_since: dict[int, float] = {}
    for src, dst in pairs:
        os.set_blocking(src, True)
        selector.register(src, selectors.EVENT_READ)
        streams[src] = (dst, redactor.stream())

    def close(src: int) -> None:
        selector.unregister(src)
        os.close(src)
        del streams[src]
        held_since.pop(src, None)

    def emit(src: int, data: bytes) -> None:
        if data and not _write_all(streams[src][0], data):
            close(src)  # the reader is gone: so is the writer's pipe

    try:
        while streams:
            timeout = None
            if held_since:
                timeout = max(0.0, min(held_since.values()) + quiet - time.monotonic())
            events = selector.select(timeout)
            for key, _ in events:
                src = key.fd
                if src not in streams:
                    continue
                try:
                    data = os.read(src, READ)
                except OSError:
                    data = b""
                stream = streams[src][1]
                if not data:
                    emit(src, stream.flush())
                    if src in streams:
                        close(src)
                    continue
                emit(src, stream.feed(data))
                if src in streams:
                    if stream.pending:
                        held_since.setdefault(src, time.monotonic())
                    else:
                        held_since.pop(src, None)
            now = time.monotonic()
            for src, since in list(held_since.items()):
                if now - since >= quiet and src in streams:
                    del held_since[src]
                    emit(src, streams[src][1].flush())
    finally:
        for src in list(streams):
            close(src)
        selector.close()
