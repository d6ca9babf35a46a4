"""Each shell's stamp files: the prompt compares watched paths against their mtimes.

``stamp-PID`` has the mtime of the moment the slow path started reading (a little
earlier: a coarse filesystem clock may lag), so a file changed during the load is
seen at the next prompt. ``stamp-PID-m`` is touched by the shell itself (a
truncating redirection, no process) when it moves inside a project or leaves one
in pure shell; the directories it then watches are compared against that one.
Both live in ``$XDG_RUNTIME_DIR/envshim`` (else the cache directory), 0700, and are
empty 0600 files made here, never by the shell.
"""

from __future__ import annotations

import os

from .. import paths

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping

STAMP_SLACK_NS = 20_000_000  # a coarse filesystem clock may lag the wall clock by a tick
MOVE_SUFFIX = "-m"


def stamp_dir(environ: Mapping[str, str]) -> str:
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "envshim")
    return os.path.join(paths.cache_dir(environ), "stamps")


def touch_stamps(environ: Mapping[str, str], when_ns: int, pid: str = "") -> tuple[str, str]:
    """The two stamp files of the shell ``pid`` (made on its first load), the first one's
    mtime set to ``when_ns``, the second one's to now."""
    if not pid.isdigit():
        pid = str(os.getppid())
    directory = stamp_dir(environ)
    stamp = os.path.join(directory, f"stamp-{pid}")
    moved = stamp + MOVE_SUFFIX
    if not (os.path.exists(stamp) and os.path.exists(moved)):
        from pathlib import Path

        from ..atomic import ensure_private_dir  # tempfile & co: only on a shell's first load

        ensure_private_dir(Path(directory))
        prune_stamps(directory)
        for path in (stamp, moved):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            os.close(fd)
    os.utime(stamp, ns=(when_ns, when_ns))
    os.utime(moved)
    return stamp, moved


def prune_stamps(directory: str) -> None:
    """Remove the stamps of shells that have exited."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for name in entries:
        if not name.startswith("stamp-"):
            continue
        pid = name[6:].removesuffix(MOVE_SUFFIX)
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:  # noqa: SIM105 - contextlib is one more import on every cd
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass
        except OSError:
            pass
