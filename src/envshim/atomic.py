"""Atomic, locked writes of private files.

A reader sees either the old file or the new one, never half of either: the
data goes to a temp file in the same directory, is fsynced, then renamed over
the target (and the directory fsynced). Writers serialise on ``flock`` of a
sibling lock file, taken before they read what they will change. Files that
others commit (a secret file, ``.sops.yaml``) are locked through a lock file in
the user's cache directory instead (:func:`locked_files`), so that no lock file
lands in the repository. New directories are 0700 and files 0600 unless asked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
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
def locked(path: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``'s sibling lock file.

    ``waiting`` is called once when another process holds it, before blocking.
    """
    ensure_private_dir(path.parent)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def file_lock(path: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where the lock of a repository file lives: the user's cache directory, one name
    per real path (the same file reached through a symlink gets the same lock)."""
    import hashlib

    from . import paths

    real = os.path.realpath(path)
    name = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
    return paths.cache_dir(os.environ if environ is None else environ) / "locks" / name


@contextlib.contextmanager
def locked_files(
    files: Iterable[Path],
    environ: Mapping[str, str] | None = None,
    waiting: Callable[[Path], None] | None = None,
) -> Iterator[None]:
    """One lock per file, all held for the block; taken in the order of their real paths,
    so two writers of overlapping sets cannot deadlock. Locks taken in an outer block
    (``.sops.yaml`` before the secret files) keep that order everywhere."""
    unique = sorted({os.path.realpath(p): Path(p) for p in files}.items())
    with contextlib.ExitStack() as stack:
        for _real, path in unique:
            note = (lambda p=path: waiting(p)) if waiting is not None else None
            stack.enter_context(locked(file_lock(path, environ), note))
        yield


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
