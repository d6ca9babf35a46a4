"""Editing decrypted text safely: a private tmpfs directory and the user's editor.

Shared by ``secrets edit`` and ``user edit``. The plaintext lives only in a fresh
0700 directory on tmpfs where there is one (``$XDG_RUNTIME_DIR``, ``/dev/shm``),
removed on every exit path: return, error, Ctrl-C and every signal that would
otherwise end the process (then envshim dies of that signal, as it would have).
The process dumps no core (:mod:`envshim.hardening`). SIGKILL cannot be caught:
the directory's name carries the owner's pid and start time, so the next edit
(and ``doctor``, through :func:`stale_edit_dirs`) finds what a dead run left.
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

PREFIX = "envshim-edit-"
# a directory from before the pid was in the name counts as stale once it is this old
_UNNAMED_STALE_AFTER = 12 * 3600

# Signals whose default action ends the process, minus the synchronous faults
# (SIGSEGV, SIGBUS, SIGFPE, SIGILL): a Python handler cannot run for a real fault,
# the instruction would only fault again.
_FATAL_NAMES = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTRAP", "SIGABRT", "SIGEMT", "SIGUSR1", "SIGUSR2",
    "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGXCPU", "SIGXFSZ", "SIGVTALRM",
    "SIGPROF", "SIGIO", "SIGPOLL", "SIGPWR", "SIGLOST", "SIGSYS",
)  # fmt: skip


class _Signalled(BaseException):
    """A fatal signal arrived while plaintext was on disk (not an ``Exception``, so that
    no ``except Exception`` on the way swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def fatal_signals() -> list[int]:
    """Every catchable signal that would end this process by default."""
    import signal

    found = {int(getattr(signal, n)) for n in _FATAL_NAMES if hasattr(signal, n)}
    if hasattr(signal, "SIGRTMIN"):
        found.update(range(int(signal.SIGRTMIN), int(signal.SIGRTMAX) + 1))
    return sorted(found & {int(s) for s in signal.valid_signals()})


def _raise_signalled(signum: int, frame: Any) -> None:
    raise _Signalled(signum)


def _install(signals: list[int]) -> dict[int, Any]:
    """Our handler for each signal that would end us now; an ignored one stays ignored
    (``nohup``, Python's own SIGPIPE), Python's Ctrl-C handler stays (it raises too)."""
    import signal

    previous: dict[int, Any] = {}
    for sig in signals:
        try:
            current = signal.getsignal(sig)
            if current in (signal.SIG_IGN, signal.default_int_handler) or current is None:
                continue
            if callable(current):  # someone else's handler: theirs to keep
                continue
            previous[sig] = signal.signal(sig, _raise_signalled)
        except (ValueError, OSError):  # not the main thread, or not settable here
            continue
    return previous


def _block(signals: list[int]) -> set[int] | None:
    import signal

    try:
        return set(signal.pthread_sigmask(signal.SIG_BLOCK, signals))
    except (AttributeError, OSError, ValueError):
        return None


def _set_mask(mask: set[int] | None) -> None:
    import signal

    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _die_of(signum: int) -> None:
    """End the process by ``signum`` as if it had never been caught (the parent sees the
    real cause); the plaintext is gone and core dumps are off by now."""
    import signal

    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    with suppress(OSError, ValueError):
        sys.stderr.write(f"envshim: stopped by {name}; the decrypted copy was removed\n")
        sys.stderr.flush()
    with suppress(OSError, ValueError):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    raise SystemExit(128 + signum)  # only if the signal did not end us


# --- the owner of a directory: pid and start time, so a reused pid does not pass as alive


def _proc_stat(pid: int) -> list[bytes] | None:
    """``/proc/PID/stat`` from field 3 (state) on; None without procfs or process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2 :].split()


def _start_time(pid: int) -> str:
    fields = _proc_stat(pid)
    return fields[19].decode() if fields and len(fields) > 19 else "0"


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds the pid: alive, and not ours to judge
    except OSError:
        return True
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no procfs: the pid answered, take it as alive
    if fields[0] in (b"Z", b"X"):
        return False  # dead, not yet reaped
    return start == "0" or fields[19].decode() == start


def _owner_of(name: str) -> tuple[int, str] | None:
    """``envshim-edit-<pid>-<start>-<random>`` -> (pid, start); None for another shape."""
    parts = name[len(PREFIX) :].split("-")
    if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), parts[1]
    return None


def _candidate_bases(environ: Mapping[str, str]) -> list[str]:
    import tempfile

    bases = [*paths.private_tmp_dirs(environ), tempfile.gettempdir()]
    tmpdir = environ.get("TMPDIR")
    if tmpdir and os.path.isdir(tmpdir):
        bases.append(tmpdir)
    return list(dict.fromkeys(os.path.realpath(b) for b in bases))


def stale_edit_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Editing directories of this user whose envshim process is gone (killed by SIGKILL,
    or the machine lost power with a disk-backed temp dir): they may hold plaintext."""
    import stat
    import time

    environ = os.environ if environ is None else environ
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    out = []
    for base in _candidate_bases(environ):
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(PREFIX):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            owner = _owner_of(entry.name)
            if owner is None:
                stale = now - st.st_mtime > _UNNAMED_STALE_AFTER
            else:
                stale = owner[0] != os.getpid() and not _alive(*owner)
            if stale:
                out.append(Path(entry.path))
    return sorted(out)


def remove_stale_edit_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Remove what :func:`stale_edit_dirs` finds; returns the directories removed."""
    import shutil

    removed = []
    for path in stale_edit_dirs(environ):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


@contextmanager
def private_workdir(
    environ: Mapping[str, str], warnings: list[str] | None = None
) -> Iterator[Path]:
    """A 0700 directory on tmpfs, removed however the block ends.

    Every signal that would end the process is caught for the duration: the
    directory goes, then the process dies of that signal. Signals are blocked
    while the directory is made and while it is removed, so neither is cut in
    half. Without a tmpfs the system temp directory is used, with a warning (in
    ``warnings`` or on stderr).
    """
    import shutil
    import tempfile

    from .hardening import forbid_core_dumps

    forbid_core_dumps()
    for path in remove_stale_edit_dirs(environ):
        text = f"removed {path}, a decrypted copy left by an edit that was killed"
        if warnings is None:
            sys.stderr.write(f"envshim: {text}\n")
        else:
            warnings.append(text)
    base = next(iter(paths.private_tmp_dirs(environ)), None)
    if base is None:
        base = tempfile.gettempdir()
        text = f"no tmpfs found; the decrypted copy is kept in {base} while you edit"
        if warnings is None:
            sys.stderr.write(f"envshim: warning: {text}\n")
        else:
            warnings.append(text)

    signals = fatal_signals()
    old_mask = _block(signals)
    died = 0
    try:
        previous = _install(signals)
        pid = os.getpid()
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-{_start_time(pid)}-", dir=base))
    except BaseException:
        _set_mask(old_mask)
        raise
    try:
        os.chmod(path, 0o700)
        _set_mask(old_mask)  # a signal that came meanwhile is delivered here, inside the try
        yield path
    except _Signalled as exc:
        died = exc.signum
    finally:
        _block(signals)
        shutil.rmtree(path, ignore_errors=True)
        import signal

        for sig, handler in previous.items():
            with suppress(ValueError, OSError):
                signal.signal(sig, handler)
        if died:
            _die_of(died)
        _set_mask(old_mask)


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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask the editor to quit (it may restore the terminal), then make it."""
    import subprocess

    with suppress(OSError):
        proc.terminate()
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        with suppress(OSError):
            proc.kill()
        proc.wait()


def run_editor(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run the editor with Ctrl-C going to it alone (as git does): an editor uses Ctrl-C
    itself. If the editor dies of it, its exit status tells the caller to change nothing.
    When envshim itself is stopped meanwhile, the editor is stopped first, so it cannot
    write the buffer back after the directory is gone."""
    import signal
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(argv, preexec_fn=_restore_sigint)
        except OSError as exc:
            raise ConfigError(
                f"cannot run the editor {argv[0]!r}: {exc.strerror}",
                hint="set VISUAL or EDITOR to an installed editor",
            ) from None
        try:
            code = proc.wait()
        except BaseException:
            mask = _block(fatal_signals())
            try:
                _stop(proc)
            finally:
                _set_mask(mask)
            raise
        return subprocess.CompletedProcess(argv, code)
    finally:
        signal.signal(signal.SIGINT, previous)


def describe_exit(code: int) -> str:
    """``exited with 3`` or ``was killed by SIGTERM`` (not "exited with -15")."""
    import signal

    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with {code}"
