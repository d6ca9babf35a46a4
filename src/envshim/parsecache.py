"""A cache of parsed, non-secret config files (DESIGN.md §9), so a warm ``cd`` skips ``tomllib``.

One small ``marshal`` file per parsed file in the user's cache directory, keyed by
the path and ``(mtime_ns, size, inode)``. Only what a parser returns for a
committed config goes in (inline age values stay ciphertext); never a decrypted
value. Written atomically, 0600 in a 0700 directory; any damage just means a
re-parse, and a result ``marshal`` cannot hold is simply not cached.
"""

from __future__ import annotations

import os

from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any


class ParseCache:
    """Parsed files under ``<cache dir>/<namespace>``; ``directory=None`` disables caching."""

    __slots__ = ("directory",)

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    @classmethod
    def for_environ(cls, environ: Any, namespace: str) -> ParseCache:
        if environ.get("ENVSHIM_NO_CACHE") == "1":
            return cls(None)
        from .paths import cache_dir

        return cls(os.path.join(cache_dir(environ), namespace))

    def _file(self, key: str) -> str:
        name = key.replace("%", "%25").replace("/", "%2F")
        if len(name.encode()) > 200:  # a file name holds 255 bytes
            import zlib

            name = f"{zlib.crc32(key.encode()):08x}-{name[-120:]}"
        return os.path.join(self.directory or "", name)

    def get(self, key: str, stamp: tuple[int, int, int]) -> Any:
        if self.directory is None:
            return None
        import marshal

        try:
            with open(self._file(key), "rb") as fh:
                entry = marshal.loads(fh.read())  # marshal.load(fh) reads in small pieces
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == key and entry[1] == stamp:
            return entry[2]
        return None

    def put(self, key: str, stamp: tuple[int, int, int], raw: Any) -> None:
        if self.directory is None:
            return
        import marshal

        path = self._file(key)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps((key, stamp, raw)))
            os.replace(tmp, path)
        except (OSError, ValueError):  # a cache that cannot be written is only slower
            if os.path.exists(tmp):
                os.unlink(tmp)

    def load(self, path: Path, parse: Callable[[Path], Any]) -> Any:
        """``parse(path)``, or the cached result for this exact version of the file."""
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        raw = self.get(str(path), stamp)
        if raw is None:
            raw = parse(path)
            self.put(str(path), stamp, raw)
        return raw
