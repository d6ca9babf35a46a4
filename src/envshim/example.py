"""What ``envshim example`` may write: committed defaults only.

A value is written only when it comes from the mise layer, from a file git tracks
(in the index, not matched by an ignore rule, not marked skip-worktree or
assume-unchanged), and read nothing else: no variable of the caller's
environment, no other file that is not committed, no secret (``Origin.reads``,
``ResolvedVar.secret``). A value that holds the home directory is not written
either. Every other variable gets an empty value and a comment naming where it
comes from, without a path outside the project.

Outside a git repository nothing is known to be committed, so every value is
left empty (the file is meant to be committed; without git there is no telling
what would be).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import printable
from .gitcmd import git_argv
from .merge import Resolution
from .model import MISE, TEAM, USER, Origin, ResolvedVar

_MISE_COMPUTED = "mise env --json"  # in Origin.detail of a value mise evaluated


class Committed:
    """Which files are committed in the repository around ``root``: in git's index, not
    matched by an ignore rule, not marked skip-worktree or assume-unchanged."""

    def __init__(self, root: Path, environ: dict[str, str]) -> None:
        # git must look at this repository only, whatever the caller's GIT_DIR says
        self.environ = {
            k: v
            for k, v in environ.items()
            if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")
        }
        out = self._git(root, "rev-parse", "--show-toplevel")
        self.no_repo = "not in a git repository"  # why no file is known to be committed
        if out is None and self._git(root, "--version") is None:
            self.no_repo = "git is not installed"
        self.top = (
            Path(os.path.realpath(out.decode("utf-8", "surrogateescape").strip())) if out else None
        )
        self.reasons: dict[str, str | None] = {}

    def _git(self, cwd: Path, *args: str, stdin: bytes | None = None, ok=(0,)) -> bytes | None:
        # core.fsmonitor names a command a repository's own .git/config could run
        argv = git_argv(*args, cwd=cwd)
        try:
            proc = subprocess.run(
                argv, input=stdin, capture_output=True, env=self.environ, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode in ok else None

    def check(self, paths: list[str]) -> None:
        """Ask git about every path at once; :meth:`why_not` then answers from memory."""
        todo = [p for p in dict.fromkeys(paths) if p not in self.reasons]
        if not todo:
            return
        if self.top is None:
            self.reasons.update(dict.fromkeys(todo, self.no_repo))
            return
        rel: dict[str, str] = {}
        for path in todo:
            real = os.path.realpath(path)  # a tracked symlink to an ignored file is not committed
            inside = os.path.relpath(real, self.top)
            if inside == ".." or inside.startswith(".." + os.sep) or os.path.isabs(inside):
                self.reasons[path] = "outside the repository"
            else:
                rel[path] = inside
        if not rel:
            return
        names = list(dict.fromkeys(rel.values()))
        listed = self._git(self.top, "--literal-pathspecs", "ls-files", "-v", "-z", "--", *names)
        ignored = self._git(
            self.top,
            "check-ignore",
            "--no-index",
            "-z",
            "--stdin",
            stdin=b"".join(os.fsencode(n) + b"\0" for n in names),
            ok=(0, 1),
        )
        tags: dict[str, str] = {}
        for item in (listed or b"").split(b"\0"):
            if len(item) > 2:
                tags[os.fsdecode(item[2:])] = chr(item[0])
        skipped = {os.fsdecode(n) for n in (ignored or b"").split(b"\0") if n}
        for path, name in rel.items():
            if listed is None or ignored is None:
                reason: str | None = "git could not say whether it is tracked"
            elif name in skipped:
                reason = "git ignores it"
            elif name not in tags:
                reason = "git does not track it"
            elif tags[name] != "H":  # S: skip-worktree, lowercase: assume-unchanged
                reason = "git is told to ignore its changes"
            else:
                reason = None
            self.reasons[path] = reason

    def why_not(self, path: str) -> str | None:
        """``None`` when ``path`` is committed, else why it is not."""
        self.check([path])
        return self.reasons[path]


class Example:
    """The lines of ``.env.example`` for one resolution."""

    def __init__(self, resolution: Resolution, environ: dict[str, str]) -> None:
        self.res = resolution
        self.root = Path(os.path.realpath(resolution.root))
        self.committed = Committed(resolution.root, environ)
        homes = {environ.get("HOME") or "", os.path.expanduser("~")}
        homes |= {os.path.realpath(h) for h in homes if h}
        self.homes = sorted(h.rstrip("/") for h in homes if h.rstrip("/"))
        self.committed.check([p for v in resolution.vars.values() for p in _files(v.origin)])
        self.left_empty = 0

    def text(self, header: str) -> str:
        lines = [header]
        for key in sorted(self.res):
            var = self.res.vars[key]
            if key == "PATH":  # the machine's PATH plus `_.path` entries: not a default
                where = self.shown(var.origin.path, var.origin)
                lines.append(f"# PATH is extended by {where} (not written: yours is kept)\n\n")
                continue
            why = self.why_empty(var)
            if why is None:
                from .shells.dotenv import dotenv_quote

                lines.append(f"{key}={dotenv_quote(var.value or '')}\n")
            else:
                self.left_empty += 1
                lines.append(f"# {why}\n{key}=\n")
        return "".join(lines)

    def why_empty(self, var: ResolvedVar) -> str | None:
        """Why ``var``'s value is not written (the comment above its empty line), or ``None``."""
        origin = var.origin
        if origin.layer == USER:
            return "secret (your own value, in your user store)"
        if origin.layer == TEAM:
            return f"secret (team: {self.shown(origin.path, origin)})"
        if origin.layer != MISE:
            return f"set by the {origin.layer} layer"
        if var.secret:
            return f"secret (mise: {self.shown(origin.path, origin)})"
        names = [r[1:] for r in origin.reads if r.startswith("$")]
        if _MISE_COMPUTED in origin.detail and names:
            return f"computed by mise ({self.shown(origin.path, origin)})"
        if names:
            shown = ", ".join("$" + n for n in dict.fromkeys(names) if n)
            return "from your environment" + (f" ({printable(shown)})" if shown else "")
        for path in _files(origin):
            reason = self.committed.why_not(path)
            if reason is not None:
                return f"from {self.shown(path, origin)}, which is not committed ({reason})"
        value = var.value or ""
        if any(h in value for h in self.homes):
            return "a path on your machine (under your home directory)"
        return None

    def shown(self, path: str | None, origin: Origin) -> str:
        """A file as a comment may name it: relative to the project, never a path outside."""
        if not path:
            return printable(origin.layer)
        real = os.path.realpath(path)
        top = self.committed.top
        for base in (self.root, top):
            if base is None:
                continue
            rel = os.path.relpath(real, base)
            if not (rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel)):
                return printable(os.path.relpath(real, self.root))
        return "a file outside the project"


def _files(origin: Origin) -> list[str]:
    """The files a mise-layer value came from: its own, then every one it read."""
    if origin.layer != MISE:
        return []
    own = [origin.path] if origin.path else []
    return [*own, *(r for r in origin.reads if r and not r.startswith("$"))]
