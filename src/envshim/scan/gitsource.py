"""Git as a source: staged blobs (the pre-commit hook) and every blob in the history."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from ..gitcmd import git_argv
from .matcher import Needle
from .notebook import NOTEBOOK_MAX, scan_notebook
from .report import Finding, Report, relative
from .stream import looks_binary, report_stream


def git(root: Path, *args: str) -> bytes:
    proc = subprocess.run(git_argv(*args, cwd=root), capture_output=True, check=False)
    if proc.returncode != 0:
        from ..errors import EnvshimError

        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EnvshimError(
            f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}", path=root
        )
    return proc.stdout


def git_toplevel(path: Path) -> Path | None:
    try:
        proc = subprocess.run(
            git_argv("rev-parse", "--show-toplevel", cwd=path),
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.strip())


def nul_list(data: bytes) -> list[str]:
    return [os.fsdecode(p) for p in data.split(b"\0") if p]


def scan_blob_bytes(data: bytes, label: str, needles: list[Needle], report: Report) -> None:
    if label.endswith(".ipynb") and len(data) <= NOTEBOOK_MAX:
        if scan_notebook(data, label, needles, report):
            return
        report.warnings.append(f"{label}: not a valid notebook (JSON); scanned as text")

    report_stream(io.BytesIO(data), label, looks_binary(data), needles, report)


class _BlobReader:
    """``git cat-file --batch``: read blobs one by one, streamed."""

    def __init__(self, top: Path) -> None:
        self.proc = subprocess.Popen(
            git_argv("cat-file", "--batch", cwd=top),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def scan(self, spec: str, label: str, needles: list[Needle], report: Report) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(spec.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            return  # missing, or a submodule
        size = int(header[2])
        out = self.proc.stdout
        if label.endswith(".ipynb") and size <= NOTEBOOK_MAX:
            data = out.read(size)
            scan_blob_bytes(data, label, needles, report)
        else:
            head = out.peek(8192)[: min(8192, size)] if hasattr(out, "peek") else b""
            report_stream(out, label, looks_binary(head), needles, report, size=size)
        out.read(1)  # the newline after the content
        report.scanned += 1

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def scan_staged(
    root: Path,
    needles: list[Needle],
    report: Report,
    paths: list[str],
    display_base: Path | None = None,
) -> None:
    """The staged version of every added, copied, modified or renamed file: what a commit would hold."""
    top = require_git(root)
    names = nul_list(
        git(
            top,
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMRT",
            "--",
            *[os.path.abspath(p) for p in paths],
        )
    )
    base = display_base or Path.cwd()
    reader = _BlobReader(top)
    try:
        for name in names:
            reader.scan(f":{name}", relative(top / name, base), needles, report)
    finally:
        reader.close()


def scan_history(root: Path, needles: list[Needle], report: Report, paths: list[str]) -> None:
    """Every blob ever committed on any ref, once each; a hit names the commits that added it.

    Reading each distinct blob (rather than ``git log -p`` text) also covers
    binary files and values that span lines, and reads shared content once.
    """
    top = require_git(root)
    listing = git(top, "rev-list", "--all", "--objects")
    prefixes = [relative(Path(os.path.abspath(p)), top) for p in paths]
    prefixes = [p for p in prefixes if p != "."]
    blobs: list[tuple[str, str]] = []
    kinds = _object_kinds(top, [line.split(b" ", 1)[0].decode() for line in listing.splitlines()])
    for line in listing.splitlines():
        sha, _, name = line.decode("utf-8", "surrogateescape").partition(" ")
        if name and kinds.get(sha) == "blob" and _under(name, prefixes):
            blobs.append((sha, name))
    reader = _BlobReader(top)
    found: dict[str, Report] = {}
    try:
        for sha, name in blobs:
            sub = Report()
            reader.scan(sha, name, needles, sub)
            report.warnings += sub.warnings
            report.scanned += sub.scanned
            if sub.findings:
                found[sha] = sub
    finally:
        reader.close()
    for sha, sub in found.items():
        commits = git(top, "log", "--all", "--format=%h", f"--find-object={sha}").decode().split()
        first = commits[-1] if commits else sha[:10]
        for f in sub.findings:
            report.add(Finding(f"commit {first} {f.where}", f.keys, f.form))


def _under(name: str, prefixes: list[str]) -> bool:
    return not prefixes or any(name == p or name.startswith(p.rstrip("/") + "/") for p in prefixes)


def _object_kinds(top: Path, shas: list[str]) -> dict[str, str]:
    if not shas:
        return {}
    proc = subprocess.run(
        git_argv("cat-file", "--batch-check", cwd=top),
        input="\n".join(shas).encode() + b"\n",
        capture_output=True,
        check=False,
    )
    kinds = {}
    for line in proc.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            kinds[parts[0]] = parts[1]
    return kinds


def require_git(root: Path) -> Path:
    top = git_toplevel(root)
    if top is None:
        from ..errors import UsageError

        raise UsageError(
            "not inside a git repository",
            path=root,
            hint="--staged and --history need git; run `git init` or scan files without them",
        )
    return top
