"""Reading files that someone else may control: regular files only, bounded in size.

A committed symlink can point a config or secret path at ``/dev/zero`` (endless
bytes), ``/dev/tty`` (a read that eats the user's keystrokes) or a FIFO (a read
that never returns). Everything envshim reads from a project goes through
:func:`read_regular`: opened without blocking, checked to be a regular file with
``fstat`` on the open descriptor (no race with a swapped path), then read with a
size limit.
"""

from __future__ import annotations

import os

from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_LIMIT = 16 * 1024 * 1024  # a config or secret file is never this large
LIMIT_VAR = "ENVSHIM_MAX_FILE_BYTES"


def file_limit(environ: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get(LIMIT_VAR, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_LIMIT


def read_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Raises :class:`ConfigError` naming the file (and the limit); ``FileNotFoundError``
    passes through so callers can tell "absent" from "refused".
    """
    limit = file_limit() if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
    try:
        import stat

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(
                "not a regular file (a device, FIFO or directory is never read)",
                path=path,
                hint="replace it with an ordinary file",
            )
        if st.st_size > limit:
            raise ConfigError(
                f"larger than the {limit}-byte limit for one file",
                path=path,
                hint=f"raise {LIMIT_VAR} if the file is meant to be this large",
            )
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while we read it
                raise ConfigError(
                    f"larger than the {limit}-byte limit for one file",
                    path=path,
                    hint=f"raise {LIMIT_VAR} if the file is meant to be this large",
                )
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
    finally:
        os.close(fd)
