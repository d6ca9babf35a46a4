"""Look for the current secret values (not patterns) in files, staged blobs and git history.

The needles are the values themselves and the forms a value takes when it leaks
through code: base64 (standard and urlsafe, at each of the three byte
alignments, so a value inside a larger encoded blob is found too), URL
encoding and JSON string escaping. Files are streamed in chunks with an overlap
as long as the longest needle, so memory stays flat on huge files and a value
that spans a chunk boundary (or several lines) is still found. Notebooks are
read as JSON so a hit names the cell and the part of it (source, a traceback…).

A finding carries the key name and the form, never the value.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MIN_LENGTH = 6  # shorter values match everywhere: skipped, and the report says so
CHUNK = 1 << 20  # bytes read at a time
NOTEBOOK_MAX = 16 << 20  # larger notebooks are scanned as text (JSON parsing would multiply memory)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class Needle:
    pattern: bytes
    keys: tuple[str, ...]
    form: str

    @property
    def label(self) -> str:
        return ", ".join(self.keys)


@dataclass(frozen=True)
class Finding:
    where: str  # "path:line", "path:cell 3 (traceback) line 2", "commit abc123 path:line"
    keys: tuple[str, ...]
    form: str

    def __str__(self) -> str:
        return f"{self.where}: {', '.join(self.keys)} ({self.form})"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scanned: int = 0
    skipped_short: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)

    def __post_init__(self) -> None:
        self._seen: set[Finding] = set()


# -- needles ----------------------------------------------------------------


def _b64_aligned(raw: bytes, encode) -> list[bytes]:
    """The base64 text that ``raw`` produces at byte offsets 0, 1 and 2 of a larger input.

    Only the characters that depend on ``raw`` alone are kept: the first ones
    share bits with whatever came before, the last ones with what follows.
    """
    out = []
    for shift in range(3):
        encoded = encode(b"\0" * shift + raw).rstrip(b"=")
        start = -(-8 * shift // 6)  # ceil: first character made only of raw's bits
        end = (8 * (shift + len(raw))) // 6  # last character made only of raw's bits
        piece = encoded[start:end]
        if piece:
            out.append(piece)
    return out


def forms_of(value: str) -> list[tuple[str, bytes]]:
    """Every (form name, bytes) the value is looked for in, without duplicates."""
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8")
    forms: list[tuple[str, bytes]] = [("plain", raw)]
    forms += [("base64", p) for p in _b64_aligned(raw, base64.b64encode)]
    forms += [("base64url", p) for p in _b64_aligned(raw, base64.urlsafe_b64encode)]
    forms += [
        ("url-encoded", quote(value, safe="").encode()),
        ("url-encoded", quote_plus(value, safe="").encode()),
        ("url-encoded", quote(value, safe="/:@").encode()),
        ("json-escaped", json.dumps(value)[1:-1].encode()),
        ("json-escaped", json.dumps(value, ensure_ascii=False)[1:-1].encode()),
    ]
    seen: set[bytes] = set()
    unique = []
    for name, pattern in forms:
        if pattern not in seen:
            seen.add(pattern)
            unique.append((name, pattern))
    return unique


def build_needles(
    secrets: Mapping[str, str], min_length: int = MIN_LENGTH
) -> tuple[list[Needle], list[str]]:
    """Needles for every secret value at least ``min_length`` characters long; and the keys skipped."""
    by_pattern: dict[bytes, tuple[list[str], str]] = {}
    skipped = []
    for key in sorted(secrets):
        value = secrets[key]
        if len(value) < min_length:
            skipped.append(key)
            continue
        for form, pattern in forms_of(value):
            if len(pattern) < min_length:
                continue  # a short base64 piece of a short value would match noise
            keys, _form = by_pattern.setdefault(pattern, ([], form))
            if key not in keys:
                keys.append(key)
    needles = [Needle(p, tuple(keys), form) for p, (keys, form) in by_pattern.items()]
    return needles, skipped


# -- the stream scanner -------------------------------------------------------


PREFIX = 8  # bytes of each needle in the prefilter; a candidate is then checked whole


class Matcher:
    """All needles in one pass: a regex trie of their first bytes finds candidate starts.

    Looking for each needle with ``bytes.find`` costs one pass per needle (a
    hundred secrets make about a thousand needles); one zero-width regex over a
    trie of short prefixes costs one pass for all of them; searching again one
    byte after each candidate still sees overlapping occurrences.
    """

    def __init__(self, needles: list[Needle]) -> None:
        import re as _re

        self.by_prefix: dict[bytes, list[Needle]] = {}
        for n in needles:
            self.by_prefix.setdefault(n.pattern[:PREFIX], []).append(n)
        self.lengths = sorted({len(p) for p in self.by_prefix}, reverse=True)
        trie = _trie_regex(list(self.by_prefix))
        self.regex = _re.compile(trie, _re.DOTALL) if trie else None

    def find(self, buf: bytes) -> Iterator[tuple[int, Needle]]:
        if self.regex is None:
            return
        search = self.regex.search
        start = 0
        while (m := search(buf, start)) is not None:
            pos = m.start()
            start = pos + 1  # the next search may overlap this match (a lookahead is 5x slower)
            for length in self.lengths:
                prefix = buf[pos : pos + length]
                if len(prefix) < length:
                    continue  # near the end: a shorter slice is another length's key
                for needle in self.by_prefix.get(prefix, ()):
                    if buf.startswith(needle.pattern, pos):
                        yield pos, needle


def _trie_regex(words: list[bytes]) -> bytes:
    """A regex matching any of ``words`` (each at most PREFIX bytes), as a trie."""
    import re as _re

    root: dict = {}
    for word in words:
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def emit(node: dict) -> bytes:
        alts = [_re.escape(bytes([k])) + emit(v) for k, v in node.items() if k is not None]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        if None in node:  # a word ends here; the rest is optional
            return b"(?:" + body + b")?"
        return body

    return emit(root)


_MATCHERS: dict[tuple[Needle, ...], Matcher] = {}


def matcher_for(needles: list[Needle]) -> Matcher:
    key = tuple(needles)
    if key not in _MATCHERS:
        _MATCHERS.clear()  # one needle set per run
        _MATCHERS[key] = Matcher(needles)
    return _MATCHERS[key]


class StreamScanner:
    """Finds needles in a byte stream fed in chunks; yields (line, byte offset, needle)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.matcher = matcher_for(needles)
        self.overlap = max((len(n.pattern) for n in needles), default=1) - 1
        self.tail = b""
        self.offset = 0  # stream offset of tail[0]
        self.lines = 0  # newlines before tail[0]

    def feed(self, chunk: bytes) -> list[tuple[int, int, Needle]]:
        buf = self.tail + chunk
        fresh = len(self.tail)  # a match must end past here, or it was reported already
        hits = []
        for pos, needle in self.matcher.find(buf):
            if pos + len(needle.pattern) > fresh:
                line = self.lines + buf.count(b"\n", 0, pos) + 1
                hits.append((line, self.offset + pos, needle))
        keep = min(self.overlap, len(buf))
        cut = len(buf) - keep
        self.lines += buf.count(b"\n", 0, cut)
        self.offset += cut
        self.tail = buf[cut:]
        return hits


def scan_stream(
    stream: BinaryIO, needles: list[Needle], size: int | None = None
) -> Iterator[tuple[int, int, Needle]]:
    """Hits in a readable binary stream, reading at most ``size`` bytes when given."""
    scanner = StreamScanner(needles)
    remaining = size
    while remaining is None or remaining > 0:
        want = CHUNK if remaining is None else min(CHUNK, remaining)
        chunk = stream.read(want)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        yield from scanner.feed(chunk)


def scan_text(text: str, needles: list[Needle]) -> list[tuple[int, int, Needle]]:
    return StreamScanner(needles).feed(text.encode("utf-8", "surrogatepass"))


def _looks_binary(head: bytes) -> bool:
    return b"\0" in head[:8192]


# -- notebooks ----------------------------------------------------------------


def _notebook_texts(nb: object) -> Iterator[tuple[str, str]]:
    """(where, text) for every string in a notebook, where naming the cell and part."""
    if not isinstance(nb, dict):
        yield from (("", t) for t in _strings(nb))
        return
    cells = nb.get("cells")
    if isinstance(cells, list):
        for number, cell in enumerate(cells, 1):
            if not isinstance(cell, dict):
                continue
            for part, value in cell.items():
                if part == "outputs" and isinstance(value, list):
                    for out_no, output in enumerate(value, 1):
                        yield from _output_texts(f"cell {number} output {out_no}", output)
                else:
                    name = "source" if part == "source" else part
                    yield from ((f"cell {number} ({name})", t) for t in _joined(value))
    for part, value in nb.items():
        if part != "cells":
            yield from ((f"({part})", t) for t in _strings(value))


def _output_texts(where: str, output: object) -> Iterator[tuple[str, str]]:
    if not isinstance(output, dict):
        yield from ((where, t) for t in _strings(output))
        return
    for part, value in output.items():
        if part == "data" and isinstance(value, dict):
            for mime, data in value.items():
                yield from ((f"{where} ({mime})", t) for t in _joined(data))
        elif part == "traceback" and isinstance(value, list):
            text = "\n".join(v for v in value if isinstance(v, str))
            yield f"{where} (traceback)", text
        else:
            yield from ((f"{where} ({part})", t) for t in _joined(value))


def _joined(value: object) -> Iterator[str]:
    """A notebook's multi-line string is a list of lines: join it, so a value split over lines is found."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        yield "".join(value)
    else:
        yield from _strings(value)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def scan_notebook(data: bytes, label: str, needles: list[Needle], report: Report) -> bool:
    """Scan a notebook by cell; False when it is not valid JSON (the caller scans it as text)."""
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError):
        return False
    for where, text in _notebook_texts(nb):
        variants = [text]
        stripped = _ANSI.sub("", text)
        if stripped != text:
            variants.append(stripped)  # tracebacks are coloured: a value may sit between escapes
        for variant in variants:
            for line, _, needle in scan_text(variant, needles):
                place = f"{label}:{where} line {line}" if where else f"{label}:{line}"
                report.add(Finding(place, needle.keys, needle.form))
    return True


# -- sources: files, staged blobs, history ---------------------------------------


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
            _report_stream(fh, label, _looks_binary(head), needles, report)
    except OSError as exc:
        report.warnings.append(f"{label}: cannot read ({exc.strerror})")
        return
    report.scanned += 1


def _report_stream(
    stream: BinaryIO,
    label: str,
    binary: bool,
    needles: list[Needle],
    report: Report,
    size: int | None = None,
) -> None:
    for line, offset, needle in scan_stream(stream, needles, size):
        where = f"{label}: binary file, byte {offset}" if binary else f"{label}:{line}"
        report.add(Finding(where, needle.keys, needle.form))


def _scan_blob_bytes(data: bytes, label: str, needles: list[Needle], report: Report) -> None:
    if label.endswith(".ipynb") and len(data) <= NOTEBOOK_MAX:
        if scan_notebook(data, label, needles, report):
            return
        report.warnings.append(f"{label}: not a valid notebook (JSON); scanned as text")
    import io

    _report_stream(io.BytesIO(data), label, _looks_binary(data), needles, report)


def _git(root: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        from .errors import EnvshimError

        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EnvshimError(
            f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}", path=root
        )
    return proc.stdout


def git_toplevel(path: Path) -> Path | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.strip())


def _z(data: bytes) -> list[str]:
    return [os.fsdecode(p) for p in data.split(b"\0") if p]


def working_tree_files(root: Path, paths: list[str], everything: bool) -> list[Path]:
    """Tracked and untracked-not-ignored files (or, with ``everything``, all but .git)."""
    top = git_toplevel(root)
    if top is not None and not everything:
        # a file named on the command line is scanned even when git ignores it
        named = {Path(os.path.abspath(p)) for p in paths if Path(p).is_file()}
        dirs = [os.path.abspath(p) for p in paths if not Path(p).is_file()]
        names = []
        if dirs or not paths:
            names = _z(
                _git(
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


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


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
        scan_file(path, _relative(path, base), needles, report)


class _BlobReader:
    """``git cat-file --batch``: read blobs one by one, streamed."""

    def __init__(self, top: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", str(top), "cat-file", "--batch"],
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
            _scan_blob_bytes(data, label, needles, report)
        else:
            head = out.peek(8192)[: min(8192, size)] if hasattr(out, "peek") else b""
            _report_stream(out, label, _looks_binary(head), needles, report, size=size)
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
    top = _require_git(root)
    names = _z(
        _git(
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
            reader.scan(f":{name}", _relative(top / name, base), needles, report)
    finally:
        reader.close()


def scan_history(root: Path, needles: list[Needle], report: Report, paths: list[str]) -> None:
    """Every blob ever committed on any ref, once each; a hit names the commits that added it.

    Reading each distinct blob (rather than ``git log -p`` text) also covers
    binary files and values that span lines, and reads shared content once.
    """
    top = _require_git(root)
    listing = _git(top, "rev-list", "--all", "--objects")
    prefixes = [_relative(Path(os.path.abspath(p)), top) for p in paths]
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
        commits = _git(top, "log", "--all", "--format=%h", f"--find-object={sha}").decode().split()
        first = commits[-1] if commits else sha[:10]
        for f in sub.findings:
            report.add(Finding(f"commit {first} {f.where}", f.keys, f.form))


def _under(name: str, prefixes: list[str]) -> bool:
    return not prefixes or any(name == p or name.startswith(p.rstrip("/") + "/") for p in prefixes)


def _object_kinds(top: Path, shas: list[str]) -> dict[str, str]:
    if not shas:
        return {}
    proc = subprocess.run(
        ["git", "-C", str(top), "cat-file", "--batch-check"],
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


def _require_git(root: Path) -> Path:
    top = git_toplevel(root)
    if top is None:
        from .errors import UsageError

        raise UsageError(
            "not inside a git repository",
            path=root,
            hint="--staged and --history need git; run `git init` or scan files without them",
        )
    return top


def secret_values(resolution: object) -> dict[str, str]:
    """Key → value of every variable the resolution marks secret (team, user and derived)."""
    vars_ = getattr(resolution, "vars", {})
    return {k: v.value for k, v in vars_.items() if v.secret and v.value}


def iter_lines(report: Report) -> Iterable[str]:
    return (str(f) for f in report.findings)


# -- the pre-commit hook ----------------------------------------------------------

HOOK_BEGIN = "# >>> envshim scan (added by `envshim scan --install`) >>>"
HOOK_END = "# <<< envshim scan <<<"
HOOK_BLOCK = f"""{HOOK_BEGIN}
if command -v envshim >/dev/null 2>&1; then
  envshim scan --staged || exit 1
else
  echo "envshim not found on PATH: the secret scan did not run (git commit --no-verify skips it)" >&2
  exit 1
fi
{HOOK_END}
"""
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"}


def _is_shell_script(text: str) -> bool:
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return False
    words = first[2:].split()
    if not words:
        return False
    prog = os.path.basename(words[0])
    if prog == "env":
        rest = [w for w in words[1:] if not w.startswith("-")]
        prog = os.path.basename(rest[0]) if rest else ""
    return prog in _SHELLS


def hooks_dir(top: Path) -> Path:
    """Where git looks for hooks (``core.hooksPath`` and worktrees respected)."""
    out = _git(top, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else top / path


def install_hook(cwd: Path) -> str:
    """Add the scan to the pre-commit hook; never overwrite a hook; a second run changes nothing."""
    from .errors import ConfigError

    top = _require_git(cwd)
    hook = hooks_dir(top) / "pre-commit"
    if not hook.exists():
        hook.parent.mkdir(parents=True, exist_ok=True)
        _write_hook(hook, "#!/bin/sh\n" + HOOK_BLOCK)
        return f"installed the secret scan as {hook}"
    try:
        text = hook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    if HOOK_BEGIN in text:
        if not os.access(hook, os.X_OK):
            hook.chmod(hook.stat().st_mode | 0o111)
            return f"the secret scan is already in {hook}; made it executable"
        return f"the secret scan is already in {hook}; nothing changed"
    if not _is_shell_script(text):
        raise ConfigError(
            "an existing pre-commit hook that is not a shell script: not touched",
            path=hook,
            hint="add the command `envshim scan --staged` to it yourself (or to your pre-commit framework's config)",
        )
    lines = text.splitlines(keepends=True)
    # An `exit`/`exec` at the top level would end the script before an appended block ran.
    ends_early = any(re.match(r"(exit|exec)\b", line) for line in lines[1:])
    if ends_early:
        new = lines[0] + ("" if lines[0].endswith("\n") else "\n") + HOOK_BLOCK + "".join(lines[1:])
        where = "at the start of"
    else:
        new = text + ("" if text.endswith("\n") or not text else "\n") + HOOK_BLOCK
        where = "at the end of"
    _write_hook(hook, new, mode=hook.stat().st_mode | 0o111)
    return f"added the secret scan {where} the existing hook {hook}"


def _write_hook(path: Path, text: str, mode: int = 0o755) -> None:
    tmp = path.with_name(f".{path.name}.envshim-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(mode & 0o7777)
    os.replace(tmp, path)
