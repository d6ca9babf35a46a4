"""``envshim scan --install``: the scan in git's pre-commit hook, added without overwriting a hook."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .gitsource import git, require_git

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
    out = git(top, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else top / path


def install_hook(cwd: Path) -> str:
    """Add the scan to the pre-commit hook; never overwrite a hook; a second run changes nothing."""
    from ..errors import ConfigError

    top = require_git(cwd)
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
