"""Editing decrypted text safely: a private tmpfs directory and the user's editor.

Shared by ``secrets edit`` and ``user edit``. The plaintext lives only in a fresh
0700 directory on tmpfs where there is one (``$XDG_RUNTIME_DIR``, ``/dev/shm``),
removed on every exit path: return, error, Ctrl-C, SIGTERM and SIGHUP.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from . import paths
from .errors import ConfigError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any


@contextmanager
def private_workdir(
    environ: Mapping[str, str], warnings: list[str] | None = None
) -> Iterator[Path]:
    """A 0700 directory on tmpfs, removed however the block ends.

    SIGTERM and SIGHUP are turned into an exception for the duration, so the
    ``finally`` runs for them as it does for Ctrl-C. Without a tmpfs the system
    temp directory is used, with a warning (in ``warnings`` or on stderr).
    """
    import shutil
    import signal
    import tempfile

    base = next(iter(paths.private_tmp_dirs(environ)), None)
    if base is None:
        base = tempfile.gettempdir()
        text = f"no tmpfs found; the decrypted copy is kept in {base} while you edit"
        if warnings is None:
            sys.stderr.write(f"envshim: warning: {text}\n")
        else:
            warnings.append(text)

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with suppress(ValueError, OSError):  # not the main thread
            previous[sig] = signal.signal(sig, interrupted)
    path = Path(tempfile.mkdtemp(prefix="envshim-edit-", dir=base))
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def editor_argv(environ: Mapping[str, str]) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would."""
    import shlex

    editor = environ.get("VISUAL") or environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError:
        raise UsageError("$VISUAL/$EDITOR cannot be parsed", hint="check its quoting") from None
    if not argv:
        raise UsageError("$VISUAL/$EDITOR is empty", hint="export EDITOR=vim (or your editor)")
    return argv


def _restore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_editor(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run the editor with Ctrl-C going to it alone (as git does): an editor uses Ctrl-C
    itself. If the editor dies of it, its exit status tells the caller to change nothing."""
    import signal
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.run(argv, check=False, preexec_fn=_restore_sigint)
    except OSError as exc:
        raise ConfigError(
            f"cannot run the editor {argv[0]!r}: {exc.strerror}",
            hint="set VISUAL or EDITOR to an installed editor",
        ) from None
    finally:
        signal.signal(signal.SIGINT, previous)
