"""``envshim secrets edit``: the decrypted file in your editor, and back.

The plaintext lives only in a private directory (0700) on tmpfs where there is
one (``$XDG_RUNTIME_DIR``, ``/dev/shm``), and is removed on every exit path:
normal return, error, Ctrl-C, SIGTERM and SIGHUP. Unchanged values keep their
ciphertext (sops' IV stash), so the diff shows only what you changed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh 0700 directory, on tmpfs when possible, removed however the block ends."""
    from ..paths import private_tmp_dirs

    base = next(iter(private_tmp_dirs(os.environ)), None)
    if base is None:
        sys.stderr.write(
            "envshim: warning: no tmpfs found; the plaintext goes to the temp "
            "directory for the length of the edit\n"
        )
    path = Path(tempfile.mkdtemp(prefix="envshim-edit-", dir=base))
    os.chmod(path, 0o700)

    def _raise(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    for s in old:
        signal.signal(s, _raise)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        for s, handler in old.items():
            signal.signal(s, handler)


def _editor() -> list[str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError:
        raise UsageError("$VISUAL/$EDITOR cannot be parsed", hint="check its quoting") from None
    if not argv:
        raise UsageError("$VISUAL/$EDITOR is empty", hint="export EDITOR=vim (or your editor)")
    return argv


def _restore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_editor(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run the editor with Ctrl-C going to it alone (as git does): an editor uses Ctrl-C itself.

    If the editor dies of it, its exit status aborts the edit and the plaintext is removed.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.run(argv, check=False, preexec_fn=_restore_sigint)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ask_again() -> bool:
    if not sys.stdin.isatty():
        return False
    sys.stderr.write("edit again? [Y/n] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("", "y", "yes")


def edit(args: argparse.Namespace, ctx: Any) -> int:
    from ..formats.sops import load_plain_branches
    from .secrets import target_for_write

    path, doc = target_for_write(args, ctx, None)
    original = doc.plaintext()
    suffix = {"dotenv": ".env", "age": ".env", "yaml": ".yaml", "json": ".json", "ini": ".ini"}.get(
        doc.store, ".txt"
    )
    with private_dir() as directory:
        buffer = directory / f"{path.stem}{suffix}"
        fd = os.open(buffer, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        while True:
            proc = _run_editor([*_editor(), str(buffer)])
            if proc.returncode != 0:
                raise ConfigError(
                    f"the editor exited with {proc.returncode}; nothing was changed",
                    path=path,
                    hint="save and quit normally to apply the edit",
                )
            text = buffer.read_text(encoding="utf-8")
            if text == original:
                sys.stderr.write(f"envshim: no changes to {path}\n")
                return 0
            try:
                if doc.store == "age":
                    doc.replace_plaintext(text)
                else:
                    doc.branches = load_plain_branches(doc.store, text, path)
            except ConfigError as exc:
                sys.stderr.write(
                    f"envshim: {exc.message}{f' (line {exc.line})' if exc.line else ''}\n"
                )
                if _ask_again():
                    continue
                raise ConfigError(
                    "the edited file does not parse; nothing was changed",
                    path=path,
                    hint="run `envshim secrets edit` again",
                ) from None
            break
        doc.save()
    sys.stderr.write(f"envshim: saved {path}\n")
    return 0
