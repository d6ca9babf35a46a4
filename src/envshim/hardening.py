"""No core dump from a process that holds a decrypted value.

A core file holds the whole address space, plaintext included, and with the
common ``core_pattern`` of ``core`` it lands in the working directory: the
project, a few keystrokes from ``git add``. :func:`forbid_core_dumps` sets the
core size limit to zero (soft and hard, so a child cannot raise it again; an
editor holding the decrypted copy inherits it) and, on Linux, marks the process
not dumpable, which also covers a ``core_pattern`` pipe (systemd-coredump,
apport) that ignores the size limit, and keeps other processes of the same user
from reading its memory through ``/proc`` or ``ptrace``.

Called where a process starts to hold plaintext: ``secrets``, ``recipients``,
``user`` and the editing directory. ``ctypes`` costs about 3 ms to import, so
callers on the export path pass ``dumpable=False`` and pay only ``resource``.
"""

from __future__ import annotations

import sys

_done: set[str] = set()

PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def forbid_core_dumps(*, dumpable: bool = True) -> None:
    """RLIMIT_CORE to 0 and, with ``dumpable`` on Linux, PR_SET_DUMPABLE 0. Idempotent;
    failures are ignored (a platform without either has no such core file to stop)."""
    if "rlimit" not in _done:
        _done.add("rlimit")
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ImportError, ValueError, OSError):
            pass
    if dumpable and "dumpable" not in _done and sys.platform.startswith("linux"):
        _done.add("dumpable")
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        except (ImportError, OSError, AttributeError):
            pass
