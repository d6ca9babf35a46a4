"""What every write of team secrets does first: confirm the recipients, take the locks.

``secrets set/rm/edit/encrypt`` and ``recipients add/rm`` encrypt only to
recipients the user confirmed (``envshim allow`` records them, as does the
user's own ``recipients add/rm``): a recipient that a pulled ``.sops.yaml``
gained since would otherwise receive the next value written. And they read,
change and write each file under that file's lock, taken before the read, so
that two writers never lose each other's change. ``.sops.yaml`` is locked first
(every writer may read it), then the secret files in one global order.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FLAG = "--trust-recipients"


def add_flag(parser: argparse.ArgumentParser, default: Any = False) -> None:
    parser.add_argument(
        FLAG,
        action="store_true",
        default=default,
        help="confirm the recipients .sops.yaml names now (as `envshim allow` does)",
    )


def _show(recipient: str) -> str:
    from ..trust.recipients import short

    return short(recipient)


def confirm_recipients(ctx: Any, args: argparse.Namespace, named: str | None = None) -> None:
    """Stop before anything is read or written when ``.sops.yaml`` names a recipient the
    user has not confirmed; with ``--trust-recipients`` the user confirms them here.

    ``named``: the key ``recipients add/rm`` names on its command line, which needs no
    other confirmation (adding it confirms it; removing a stranger is always safe).
    """
    from .. import trust
    from ..keys import normalize_recipient

    skip = normalize_recipient(named) if named else None
    unconfirmed = [
        r
        for r in trust.unconfirmed_recipients(ctx.root, ctx.environ)
        if normalize_recipient(r) != skip
    ]
    if not unconfirmed:
        return
    shown = ", ".join(_show(r) for r in unconfirmed)
    if getattr(args, "trust_recipients", False):
        trust.note_recipients(ctx.root, trust.sops_recipients(ctx.root), ctx.environ)
        sys.stderr.write(f"envshim: confirmed the recipients {shown}\n")
        return
    raise ConfigError(
        f"names recipients you have not confirmed: {shown}; nothing was written",
        path=ctx.root / ".sops.yaml",
        hint=f"check who they are, then run `envshim allow` (or repeat with {FLAG})",
    )


def config_paths(ctx: Any) -> list[Path]:
    """The ``.sops.yaml`` files a write may read: the project's, and the one sops would
    find above it when the project has none."""
    from ..sopsconfig import find_config

    out = [ctx.root / ".sops.yaml"]
    found = find_config(ctx.root)
    if found is not None:
        out.append(found)
    return list(dict.fromkeys(out))


def _waiting(path: Path) -> None:
    sys.stderr.write(f"envshim: waiting for another envshim writing {path}\n")
    sys.stderr.flush()


@contextmanager
def config_lock(ctx: Any) -> Iterator[None]:
    """The lock of every ``.sops.yaml`` a write may read: taken first, by every writer."""
    from ..atomic import locked_files

    with locked_files(config_paths(ctx), ctx.environ, _waiting):
        yield


@contextmanager
def file_locks(ctx: Any, files: Iterable[Path]) -> Iterator[None]:
    """The locks of the secret files a write reads and replaces (inside :func:`config_lock`;
    list the files after taking it, so that no writer can add one unseen)."""
    from ..atomic import locked_files

    with locked_files(files, ctx.environ, _waiting):
        yield


def note_names(ctx: Any, path: Path, names: Iterable[str]) -> None:
    """The user's own new key keeps their project allowed (a teammate's still needs allow)."""
    added = list(names)
    if added:
        from .. import trust

        trust.note_names(ctx.root, path, added, ctx.environ)
