"""``envshim secrets edit``: the decrypted file in your editor, and back.

The plaintext lives only in a private directory (0700) on tmpfs where there is
one (``$XDG_RUNTIME_DIR``, ``/dev/shm``), and is removed on every exit path and
every signal that would end envshim (see :mod:`envshim.editing`). The file is
locked from before it is read until it is written back, so a ``secrets set``
meanwhile waits instead of being lost. Unchanged values keep their ciphertext
(sops' IV stash), so the diff shows only what you changed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..editing import describe_exit, editor_argv, private_workdir, run_editor
from ..errors import ConfigError

_SUFFIXES = {"dotenv": ".env", "age": ".env", "yaml": ".yaml", "json": ".json", "ini": ".ini"}


def _ask_again() -> bool:
    if not sys.stdin.isatty():
        return False
    sys.stderr.write("edit again? [Y/n] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("", "y", "yes")


def _apply(doc: Any, text: str, path: Any, before: set[str]) -> list[str]:
    """Put the edited text into ``doc``; the names it adds, each checked (a name no shell
    can hold, or one a shell or envshim reserves, is refused with its line)."""
    from .. import names
    from ..formats.sops import load_plain_branches

    if doc.store == "age":
        doc.replace_plaintext(text)
    else:
        doc.branches = load_plain_branches(doc.store, text, path)
    added = [(name, line) for name, _value, line in doc.values() if name not in before]
    for name, line in added:
        names.check(name, path=path, line=line)
    return [name for name, _line in added]


def edit(args: argparse.Namespace, ctx: Any) -> int:
    from .secrets import target_for_write, write_candidates
    from .secrets_write import config_lock, confirm_recipients, file_locks, note_names

    confirm_recipients(ctx, args)
    with config_lock(ctx), file_locks(ctx, write_candidates(args, ctx)):
        path, doc = target_for_write(args, ctx, None)
        original = doc.plaintext()
        before = set(doc.names())
        suffix = _SUFFIXES.get(doc.store, ".txt")
        with private_workdir(os.environ) as directory:
            buffer = directory / f"{path.stem}{suffix}"
            fd = os.open(buffer, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(original)
            while True:
                proc = run_editor([*editor_argv(os.environ), str(buffer)])
                if proc.returncode != 0:
                    raise ConfigError(
                        f"the editor {describe_exit(proc.returncode)}; nothing was changed",
                        path=path,
                        hint="save and quit normally to apply the edit",
                    )
                text = buffer.read_text(encoding="utf-8")
                if text == original:
                    sys.stderr.write(f"envshim: no changes to {path}\n")
                    return 0
                try:
                    added = _apply(doc, text, path, before)
                except ConfigError as exc:
                    if sys.stdin.isatty():
                        sys.stderr.write(
                            f"envshim: {exc.message}{f' (line {exc.line})' if exc.line else ''}\n"
                        )
                        if _ask_again():
                            continue
                    raise ConfigError(
                        f"{exc.message}; the edit was not applied",
                        path=path,
                        line=exc.line,
                        hint="nothing was changed; run `envshim secrets edit` again",
                    ) from None
                break
        # the decrypted copy is gone before the file is replaced
        doc.save()
    sys.stderr.write(f"envshim: saved {path}\n")
    note_names(ctx, path, added)
    return 0
