"""Atomic, locked writes of private files.

A reader sees either the old file or the new one, never half of either: the
data goes to a temp file in the same directory, is fsynced, then renamed over
the target (and the directory fsynced). Writers serialise on ``flock`` of a
sibling lock file. New directories are 0700 and files 0600 unless asked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError


def ensure_private_dir(path: Path, mode: int = 0o700) -> None:
    """Create ``path`` (and missing parents) with ``mode``; leave existing dirs alone."""
    if path.is_dir():
        return
    # parents we create get the same private mode: a key's directory must not be world-listable
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=mode)
        except FileExistsError:
            continue
        os.chmod(d, mode)  # mkdir's mode is filtered by umask


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``'s sibling lock file."""
    ensure_private_dir(path.parent)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    mode: int = 0o600,
    dir_mode: int = 0o700,
    overwrite: bool = True,
    lock: bool = True,
) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    With ``overwrite=False`` an existing file is never replaced: the new file is
    hard-linked into place, which fails if the name exists (no race window).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    ensure_private_dir(path.parent, dir_mode)
    ctx = locked(path) if lock else contextlib.nullcontext()
    with ctx:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), mode)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise ConfigError(
                        "already exists; not overwriting it",
                        path=path,
                        hint="move it away first if you really want a new one",
                    ) from None
                os.unlink(tmp)
            tmp = ""
            _fsync_dir(path.parent)
        finally:
            if tmp:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)


def replace_preserving_mode(path: Path, data: bytes | str) -> None:
    """Atomically rewrite an existing file (e.g. a committed secret file), keeping its mode."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    # lock the directory itself: a lock file would litter the repository
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(dfd, fcntl.LOCK_EX)
        write_atomic(path, data, mode=mode, lock=False)
    finally:
        os.close(dfd)
