"""How envshim runs git: never with a repository's own commands.

A repository's ``.git/config`` is not part of a clone, but a copied project (an
archive, a shared directory, a colleague's checkout) brings its own, and git runs
some of what it names on read-only commands: ``core.fsmonitor`` is a program
``git ls-files``, ``git status`` and ``git check-ignore`` start. envshim only
reads from git (which files are tracked or ignored, blobs, the first commit,
``remote.origin.url``), so every call turns that hook off.
"""

from __future__ import annotations

import os

# Options that make a read-only git command start nothing from the repository's config.
SAFE_CONFIG = ("-c", "core.fsmonitor=false")


def git_argv(*args: str, cwd: str | os.PathLike[str] | None = None, git: str = "git") -> list[str]:
    """``git -c core.fsmonitor=false [-C cwd] args…``."""
    argv = [git, *SAFE_CONFIG]
    if cwd is not None:
        argv += ["-C", os.fspath(cwd)]
    return [*argv, *args]
