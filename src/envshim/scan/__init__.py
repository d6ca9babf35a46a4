"""Look for the current secret values (not patterns) in files, staged blobs and git history.

The needles are the values themselves and every form a value takes when it
leaks through code: hex, base64, base64url and base32 at every alignment (so a
value inside a larger encoded blob is found), UTF-16, wrapped across lines, and
written with JSON, URL or ``\\x`` escapes mixed with plain characters
(:mod:`.forms`, :mod:`.matcher`; ``envshim redact`` uses the same matcher).
Files are streamed in chunks with an overlap, so memory stays flat on huge
files and a value that spans a chunk boundary (or several lines) is still
found. Notebooks are read as JSON so a hit names the cell and the part of it.

A finding carries the key name and the form, never the value.

Modules: ``forms`` (the literal forms), ``matcher`` (one pass over a buffer),
``escapes`` (escapes decoded where they occur),
``stream`` (chunks), ``notebook``, ``files`` (the working tree), ``gitsource``
(staged blobs, history), ``hook`` (the pre-commit hook).
"""

from __future__ import annotations

from collections.abc import Iterable

from .files import scan_file, scan_working_tree, working_tree_files
from .forms import MIN_LENGTH, forms_of
from .gitsource import git_toplevel, scan_history, scan_staged
from .hook import HOOK_BEGIN, HOOK_END, install_hook
from .matcher import Hit, Matcher, Needle, build_needles
from .notebook import scan_notebook
from .report import Finding, Report
from .stream import StreamScanner, scan_stream, scan_text

__all__ = [
    "HOOK_BEGIN",
    "HOOK_END",
    "MIN_LENGTH",
    "Finding",
    "Hit",
    "Matcher",
    "Needle",
    "Report",
    "StreamScanner",
    "build_needles",
    "forms_of",
    "git_toplevel",
    "install_hook",
    "iter_lines",
    "scan_file",
    "scan_history",
    "scan_notebook",
    "scan_staged",
    "scan_stream",
    "scan_text",
    "scan_working_tree",
    "secret_values",
    "working_tree_files",
]


def secret_values(resolution: object) -> dict[str, str]:
    """Key → value of every variable the resolution marks secret (team, user and derived)."""
    vars_ = getattr(resolution, "vars", {})
    return {k: v.value for k, v in vars_.items() if v.secret and v.value}


def iter_lines(report: Report) -> Iterable[str]:
    return (str(f) for f in report.findings)
