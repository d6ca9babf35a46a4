"""A cache of parsed, non-secret config files (DESIGN.md §9), so a warm ``cd`` skips ``tomllib``.

One small ``marshal`` file per parsed file in the user's cache directory, keyed
by the file's path **and the sha256 of the bytes being parsed**: the caller
hands in the bytes it read (and, on the hook's path, hashed for trust), so the
cached parse is always the parse of exactly those bytes, whatever the file's
mtime says. Only what a parser returns for a committed config goes in (inline
age values stay ciphertext); never a decrypted value.

The cache is private: created 0700 from the cache root down (whatever the
umask), files 0600, written atomically. A directory or file that is not owned
by the user, or that others may write, is never read (another local user could
plant a parse there); the cache is then simply not used.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any


def _private(st: os.stat_result, uid: int) -> bool:
    return st.st_uid == uid and not st.st_mode & 0o022


class ParseCache:
    """Parsed files under ``<cache dir>/<namespace>``; ``directory=None`` disables caching."""

    __slots__ = ("base", "checked", "directory")

    def __init__(self, directory: str | None, base: str | None = None) -> None:
        self.directory = directory
        self.base = base or directory  # the cache root: private from here down
        self.checked: bool | None = None

    @classmethod
    def for_environ(cls, environ: Any, namespace: str) -> ParseCache:
        if environ.get("ENVSHIM_NO_CACHE") == "1":
            return cls(None)
        from .paths import cache_dir

        base = str(cache_dir(environ))
        return cls(os.path.join(base, namespace), base)

    def _usable(self) -> bool:
        """Every directory from the cache root to ours is a real directory owned by us and
        closed to others (checked once per process)."""
        if self.checked is None:
            self.checked = self._chain_private()
        return self.checked

    def _chain_private(self) -> bool:
        if self.directory is None or self.base is None:
            return False
        uid = os.getuid()
        import stat

        path = self.directory
        while True:
            try:
                st = os.lstat(path)
            except OSError:
                return False
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
                return False
            if path == self.base or len(path) <= len(self.base):
                return True
            path = os.path.dirname(path)

    def _file(self, key: str) -> str:
        name = key.replace("%", "%25").replace("/", "%2F")
        if len(name.encode()) > 200:  # a file name holds 255 bytes
            import zlib

            name = f"{zlib.crc32(key.encode()):08x}-{name[-120:]}"
        return os.path.join(self.directory or "", name)

    def get(self, key: str, stamp: str) -> Any:
        if self.directory is None or not self._usable():
            return None
        import marshal

        try:
            fd = os.open(self._file(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not _private(os.fstat(fd), os.getuid()):
                return None
            with os.fdopen(fd, "rb") as fh:
                fd = -1
                entry = marshal.loads(fh.read())  # marshal.load(fh) reads in small pieces
        except (OSError, EOFError, ValueError, TypeError):
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == key and entry[1] == stamp:
            return entry[2]
        return None

    def put(self, key: str, stamp: str, raw: Any) -> None:
        if self.directory is None:
            return
        import marshal

        path = self._file(key)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            if not self._usable():
                from pathlib import Path

                from .atomic import ensure_private_dir

                ensure_private_dir(Path(self.directory))  # 0700 each level, whatever the umask
                self.checked = self._chain_private()
                if not self.checked:
                    return  # a directory we do not own on the way: no cache at all
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(marshal.dumps((key, stamp, raw)))
            os.replace(tmp, path)
        except (OSError, ValueError):  # a cache that cannot be written is only slower
            if os.path.exists(tmp):
                os.unlink(tmp)

    def load(self, path: Path | str, parse: Callable[[Path | str, bytes], Any], data: bytes) -> Any:
        """``parse(path, data)``, or the cached result of parsing these exact bytes."""
        from .trust.record import digest

        stamp = digest(data)
        raw = self.get(str(path), stamp)
        if raw is None:
            raw = parse(path, data)
            self.put(str(path), stamp, raw)
        return raw
