"""The files a scan reads: the working tree (what git lists, or everything) and single files."""

from __future__ import annotations

import os
from pathlib import Path

from .gitsource import git, git_toplevel, nul_list
from .matcher import Needle
from .notebook import NOTEBOOK_MAX, scan_notebook
from .report import Report, relative
from .stream import looks_binary, report_stream


def scan_file(path: Path, label: str, needles: list[Needle], report: Report) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
            if label.endswith(".ipynb"):
                size = os.fstat(fh.fileno()).st_size
                if size <= NOTEBOOK_MAX:
                    data = head + fh.read()
                    if scan_notebook(data, label, needles, report):
                        report.scanned += 1
                        return
                    report.warnings.append(f"{label}: not a valid notebook (JSON); scanned as text")
                else:
                    report.warnings.append(
                        f"{label}: notebook over {NOTEBOOK_MAX >> 20} MiB; scanned as text"
                    )
                fh.seek(0)
                head = fh.read(8192)
            fh.seek(0)
            report_stream(fh, label, looks_binary(head), needles, report)
    except OSError as exc:
        report.warnings.append(f"{label}: cannot read ({exc.strerror})")
        return
    report.scanned += 1


def working_tree_files(root: Path, paths: list[str], everything: bool) -> list[Path]:
    """Tracked and untracked-not-ignored files (or, with ``everything``, all but .git)."""
    top = git_toplevel(root)
    if top is not None and not everything:
        # a file named on the command line is scanned even when git ignores it
        named = {Path(os.path.abspath(p)) for p in paths if Path(p).is_file()}
        dirs = [os.path.abspath(p) for p in paths if not Path(p).is_file()]
        names = []
        if dirs or not paths:
            names = nul_list(
                git(
                    top,
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                    "--",
                    *(dirs or [str(root)]),
                )
            )
        listed = {top / n for n in names if (top / n).is_file() and not (top / n).is_symlink()}
        return sorted(listed | named)
    bases = [Path(p) for p in paths] if paths else [top or root]
    found: set[Path] = set()
    for base in bases:
        if base.is_file():
            found.add(base.resolve())
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                full = Path(dirpath, name)
                if full.is_file() and not full.is_symlink():
                    found.add(full)
    return sorted(found)


def scan_working_tree(
    root: Path,
    needles: list[Needle],
    report: Report,
    paths: list[str],
    everything: bool = False,
    display_base: Path | None = None,
) -> None:
    base = display_base or Path.cwd()
    for path in working_tree_files(root, paths, everything):
        scan_file(path, relative(path, base), needles, report)
