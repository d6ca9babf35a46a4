"""``envshim secrets edit``: the decrypted file in your editor, and back.

The plaintext lives only in a private directory (0700) on tmpfs where there is
one (``$XDG_RUNTIME_DIR``, ``/dev/shm``), and is removed on every exit path:
normal return, error, Ctrl-C, SIGTERM and SIGHUP. Unchanged values keep their
ciphertext (sops' IV stash), so the diff shows only what you changed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..editing import editor_argv, private_workdir, run_editor
from ..errors import ConfigError


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
    with private_workdir(os.environ) as directory:
        buffer = directory / f"{path.stem}{suffix}"
        fd = os.open(buffer, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        while True:
            proc = run_editor([*editor_argv(os.environ), str(buffer)])
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
