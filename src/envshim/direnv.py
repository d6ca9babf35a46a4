"""``envshim export bash --direnv``: what ``use envshim`` evaluates inside an ``.envrc``.

The script exports the merged environment and declares, in one ``watch_file``
call, every file envshim read or could read (so editing or creating one makes
direnv reload) plus the project's trust record. direnv's own diff reverts on
leaving. A project that is not allowed, or that cannot be loaded for any other
reason, loads nothing: the script then logs one line and watches, so
``envshim allow`` (or fixing the file) reloads it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .shells.bash import BashRenderer

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    import argparse


# direnv evaluates the script with bash: the bash renderer's quoting (one line per word)
_quote = BashRenderer().quote


def _watch_line(paths: list[Path | str], root: Path) -> str:
    """One ``watch_file`` call. Directories above the root are left out: they change
    all the time and a config file created there is picked up on the next ``cd``."""
    above = {str(d) for d in root.parents}
    seen: dict[str, None] = {}
    for path in paths:
        text = os.path.abspath(os.fspath(path))
        if text not in above:
            seen[text] = None
    return "watch_file " + " ".join(_quote(p) for p in seen) + "\n"


def direnv_export(args: argparse.Namespace) -> int:
    """Print what ``use envshim`` evaluates. Fail safe, as the hook: when the directory
    cannot be loaded for any reason the script loads nothing (direnv then drops what this
    ``.envrc`` loaded before), logs one line that says why, and watches the files whose
    change retries."""
    from .project import ROOT_MARKERS, find_root

    cwd = Path(os.path.abspath(args.dir))
    root = find_root(cwd)
    candidates: list[Path | str] = [root / name for name in ROOT_MARKERS]
    try:
        text = _load(cwd, root, candidates, args)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # any failure: nothing loaded, one line
        from .hook.plan import failure_line

        culprit = getattr(exc, "path", None) or getattr(exc, "filename", None)
        if isinstance(culprit, str | os.PathLike):
            candidates.append(os.fspath(culprit))
        text = f"log_error {_quote(failure_line(exc))}\n" + _watch_line(candidates, root)
    sys.stdout.write(text)
    return 0


def _load(cwd: Path, root: Path, candidates: list[Path | str], args: argparse.Namespace) -> str:
    from . import trust
    from .shells import get_renderer
    from .shells.base import check, check_environment_size

    candidates.append(trust.record_path(root))
    if not trust.is_project(root):
        return _watch_line(candidates, root)
    # trust first: nothing of the project is parsed unless its record matches
    verdict, resolution = trust.load_allowed(
        cwd, args.env, environ=os.environ, missing_key=args.missing_key
    )
    if resolution is None or not verdict.allowed:
        watched = [*candidates, *(verdict.record.files if verdict.record else [])]
        notice = trust.notice(verdict)
        return f"log_error {_quote(notice)}\n" + _watch_line(watched, root)
    renderer = get_renderer("bash")
    changes = resolution.changes()
    check(renderer, changes, {k: v.origin for k, v in resolution.vars.items()})
    final = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            final.pop(key, None)
        else:
            final[key] = value
    check_environment_size(final)
    for warning in resolution.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    text = renderer.render(changes)
    return text + _watch_line([*resolution.files, *resolution.watch, *candidates], root)
