"""``envshim run --redact``: the command's stdout and stderr piped through the filter.

The child shares envshim's stdin, terminal and process group, so it stays an
ordinary foreground program (it can read the terminal, and Ctrl-C reaches it
directly). Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are taken by a thread
with ``sigwaitinfo``; one sent to envshim by a process (``kill``) is passed to
the child, one the terminal sent to the whole foreground group is not (the
child got it already, and a second Ctrl-C would cut its clean-up short).

Exit: the child's exit code; when the child died by a signal, envshim kills
itself with the same signal after the output is written (core dumps off), so
the calling shell sees what it would have seen without envshim (bash stops a
script on a child's SIGINT only when it sees the signal). Where that is not
possible, it exits 128 + the signal number, as shells report it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from . import MIN_LENGTH, Redactor
from .pump import pump

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
SI_KERNEL = 0x80  # si_code of a signal the kernel sent: the terminal's Ctrl-C, Ctrl-\, hang-up


def _forward(pid: int, stop: threading.Event) -> None:
    while not stop.is_set():
        info = signal.sigwaitinfo(FORWARDED)
        if info.si_code == SI_KERNEL:
            continue  # sent to the whole foreground group: the child has it too
        try:
            os.kill(pid, info.si_signo)
        except ProcessLookupError:
            return


def run_redacted(command: list[str], env: dict[str, str], redactor: Redactor) -> int:
    """Run ``command`` with its output redacted; its exit code (a signal is raised again)."""
    from ..hardening import forbid_core_dumps

    forbid_core_dumps()  # this process holds the values
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=out_w,
            stderr=err_w,
            # the child starts with the signal mask envshim had, not the blocked one
            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, old_mask),
        )
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(err_w)
    stop = threading.Event()
    threading.Thread(target=_forward, args=(proc.pid, stop), daemon=True).start()
    pump(redactor, [(out_r, 1), (err_r, 2)])
    code = proc.wait()
    stop.set()
    if code < 0:
        _die_by(-code)
        return 128 - code
    return code


def _die_by(signum: int) -> None:
    """End this process with ``signum``; returns only when that signal does not kill."""
    if signum == signal.SIGKILL:
        os.kill(os.getpid(), signal.SIGKILL)
    if signum not in signal.valid_signals() or signum in (signal.SIGSTOP, signal.SIGKILL):
        return
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):
        return
    # aimed at this thread, so the forwarding thread's sigwaitinfo cannot take it
    signal.pthread_kill(threading.get_ident(), signum)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})


def redactor_for(resolution: object, what: str) -> Redactor:
    """The redactor of a resolution's secret values; says on stderr what it leaves out."""
    from ..commands.common import plural
    from ..errors import printable
    from ..scan import secret_values

    redactor = Redactor(secret_values(resolution))
    if redactor.skipped:
        sys.stderr.write(
            f"envshim: not redacting {plural(len(redactor.skipped), 'value')} shorter than "
            f"{MIN_LENGTH} characters (they would match everywhere): "
            f"{printable(', '.join(redactor.skipped))}\n"
        )
    if os.isatty(1) or os.isatty(2):
        sys.stderr.write(
            f"envshim: {what} is redacted: {plural(len(redactor.keys), 'secret value')}, also in "
            "base64, hex, URL and JSON forms, show as [redacted NAME]\n"
        )
    sys.stderr.flush()
    return redactor
