"""git: the plaintext files that must stay out of it, and the ones already in it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..commands.common import plural
from ..errors import EnvshimError
from ..gitcmd import git_argv
from .config import EXAMPLE_NAMES
from .core import FAIL, OK, SKIP, Doctor, Result

PLAINTEXT_IGNORES = (".env", ".env.keys")


def _ignored(top: Path, root: Path, name: str) -> bool:
    target = os.path.relpath(root / name, top)
    proc = subprocess.run(
        git_argv("check-ignore", "-q", "--no-index", target, cwd=top),
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def check_gitignore(d: Doctor) -> list[Result]:
    top = d.git_top()
    if top is None:
        return [Result("gitignore", SKIP, "not a git repository")]
    root = d.project().root
    missing = [n for n in PLAINTEXT_IGNORES if not _ignored(top, root, n)]
    if not missing:
        return [Result("gitignore", OK, f"{', '.join(PLAINTEXT_IGNORES)} are ignored")]
    gitignore = root / ".gitignore"
    if d.fix:
        add_gitignore(gitignore, missing)
        return [
            Result(
                "gitignore",
                OK,
                f"{', '.join(PLAINTEXT_IGNORES)} are ignored",
                fixed=f"added {', '.join(missing)} to {d.rel(gitignore)}",
            )
        ]
    return [
        Result(
            "gitignore",
            FAIL,
            f"not ignored: {', '.join(missing)}",
            f"`printf '%s\\n' {' '.join(missing)} >> {d.here(gitignore)}` (or `envshim doctor --fix`)",
        )
    ]


def add_gitignore(gitignore: Path, names: list[str]) -> list[str]:
    """Append the names not already listed; return those added."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    present = {ln.strip() for ln in text.splitlines()}
    new = [n for n in names if n not in present and "/" + n not in present]
    if not new:
        return []
    if text and not text.endswith("\n"):
        text += "\n"
    text += "".join(f"{n}\n" for n in new)
    from ..atomic import replace_preserving_mode

    replace_preserving_mode(gitignore, text)  # no lock file left in the repository
    return new


def _plaintext_candidates(names: list[str]) -> list[str]:
    out = []
    for name in names:
        base = os.path.basename(name)
        if base in EXAMPLE_NAMES or not (base == ".env" or base.startswith(".env.")):
            continue
        if ".enc." in base or base.endswith((".age", ".enc")) or base == ".env.vault":
            continue
        out.append(name)
    return out


def check_tracked_plaintext(d: Doctor) -> list[Result]:
    top = d.git_top()
    if top is None:
        return [Result("tracked plaintext", SKIP, "not a git repository")]
    proc = subprocess.run(git_argv("ls-files", "-z", cwd=top), capture_output=True, check=False)
    names = [n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    out = []
    for name in names:
        if os.path.basename(name) == ".env.keys":
            out.append(
                Result(
                    "tracked plaintext",
                    FAIL,
                    f"{name} (private dotenvx keys) is tracked by git",
                    f"`git rm -q --cached {d.here(top / name)}`, then rotate those keys",
                )
            )
    candidates = _plaintext_candidates(names)
    res = d.resolution()
    from .. import scan

    secrets = scan.secret_values(res) if not isinstance(res, EnvshimError) else {}
    needles, _ = scan.build_needles(secrets)
    for name in candidates:
        if os.path.basename(name) == ".env.keys":
            continue
        report = scan.Report()
        if needles and (top / name).is_file():
            scan.scan_file(top / name, name, needles, report)
        keys = sorted({k for f in report.findings for k in f.keys})
        if keys:
            out.append(
                Result(
                    "tracked plaintext",
                    FAIL,
                    f"{name} is tracked by git and holds the value of {', '.join(keys)}",
                    _untrack_step(d, top / name, keys),
                )
            )
    if not out:
        note = f" ({plural(len(candidates), '.env file')} checked)" if candidates else ""
        out.append(Result("tracked plaintext", OK, f"no plaintext secret file is tracked{note}"))
    return out


def _untrack_step(d: Doctor, path: Path, keys: list[str]) -> str:
    """Out of git, ignored from now on, and each value rotated: it stays in git history.
    The values are already envshim secrets (that is how the scan knew them)."""
    import shlex

    here = d.here(path)
    ignore = d.here(d.project().root / ".gitignore")
    rotate = ", ".join(f"`envshim secrets set {shlex.quote(k)}`" for k in keys)
    return (
        f"`git rm -q --cached {here}` and `printf '%s\\n' {here} >> {ignore}`, "
        f"then rotate what git history keeps: {rotate}"
    )
