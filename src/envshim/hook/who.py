"""Who manages a directory (the envshim hook, direnv, the mise plugin) and why.

The hook yields a directory to direnv only when direnv's own hook is active in
the same shell and the nearest ``.envrc`` says ``use envshim`` (DESIGN.md §6).
Only the shell can tell whether direnv's hook is installed in it: the hook
function passes ``ENVSHIM_DIRENV=1`` to envshim when it is, and the state then
records the directory it stood aside for, so ``status`` and ``doctor`` (child
processes that see only the environment) can say who loads what, and why.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping

DIRENV_HOOKED_VAR = "ENVSHIM_DIRENV"  # set to 1 by the shell hook when direnv's hook is active
ENVRC = ".envrc"
_ENVRC_LIMIT = 65536


def nearest_envrc(cwd: str) -> str | None:
    """The ``.envrc`` direnv would load for ``cwd`` (the nearest one above), if any."""
    directory = cwd
    while True:
        path = os.path.join(directory, ENVRC)
        if os.path.isfile(path):
            return path
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def uses_envshim(envrc: str) -> bool:
    """The file has a ``use envshim`` (or ``use_envshim``) line. Only a regular file is
    opened (a FIFO or a tty would block the prompt), and only its first 64 KiB read."""
    try:
        fd = os.open(envrc, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        data = os.read(fd, _ENVRC_LIMIT)
    except OSError:
        return False
    finally:
        os.close(fd)
    for line in data.decode("utf-8", "replace").splitlines():
        words = line.split()
        if words[:2] == ["use", "envshim"] or (words and words[0] == "use_envshim"):
            return True
    return False


def direnv_aside(cwd: str) -> str | None:
    """The directory the hook leaves to direnv, when direnv's hook is active in this shell
    (the caller knows): the nearest ``.envrc`` says ``use envshim``. ``None``: the hook
    loads it."""
    envrc = nearest_envrc(cwd)
    if envrc is None or not uses_envshim(envrc):
        return None
    return os.path.dirname(envrc)


def direnv_will_change(cwd: str, environ: Mapping[str, str], was_aside: str | None) -> bool:
    """direnv holds a load now (``DIRENV_FILE``) that its hook, running after envshim's at
    this prompt, will drop or redo: the file is gone, ``cwd`` is outside its directory or
    under a nearer ``.envrc``, or the hook stood aside for it and it no longer says
    ``use envshim``."""
    loaded = environ.get("DIRENV_FILE")
    if not loaded:
        return False
    if not os.path.isfile(loaded):
        return True
    directory = os.path.dirname(loaded)
    if cwd != directory and not cwd.startswith(directory.rstrip("/") + "/"):
        return True
    if nearest_envrc(cwd) != loaded:
        return True
    return was_aside == directory


def direnv_hook_active(environ: Mapping[str, str], shell: str | None = None) -> bool:
    """Whether direnv's hook is active in the shell that started this command, as far as a
    child process can tell: direnv has loaded something in it (``DIRENV_DIR``), or the
    shell's rc file evaluates ``direnv hook`` (``shell``: bash, zsh or fish; default
    ``$SHELL``)."""
    if environ.get("DIRENV_DIR") or environ.get("DIRENV_FILE"):
        return True
    import re
    from pathlib import Path

    from ..doctor.core import uncommented
    from ..doctor.shell import rc_files
    from ..paths import home

    shell = shell or os.path.basename(environ.get("SHELL", ""))
    for path in rc_files(shell, dict(environ), home(environ)):
        try:
            if re.search(r"\bdirenv\s+hook\b", uncommented(Path(path))):
                return True
        except OSError:
            continue
    return False


class Manager:
    """The answer for ``status`` and ``doctor``: who loads this directory, and why."""

    __slots__ = ("reason", "who")

    def __init__(self, who: str, reason: str) -> None:
        self.who = who  # "envshim hook" | "direnv" | "mise plugin" | "nobody"
        self.reason = reason

    def line(self) -> str:
        return f"{self.who}: {self.reason}"


def _mise_plugin_configured(root: str) -> bool:
    for name in ("mise.toml", ".mise.toml", "mise.local.toml", ".config/mise.toml"):
        try:
            with open(os.path.join(root, name), "rb") as fh:
                if b"_.envshim" in fh.read(_ENVRC_LIMIT):
                    return True
        except OSError:
            continue
    return False


def who_manages(cwd: str, root: str, environ: Mapping[str, str]) -> Manager:
    """Who loads ``cwd`` (project ``root``) in the shell whose environment is ``environ``."""
    from .state import STATE_VAR, State, StateError

    try:
        state = State.decode(environ.get(STATE_VAR))
        damaged = False
    except StateError:
        state, damaged = None, True
    envrc = nearest_envrc(cwd)
    envrc_uses = envrc is not None and uses_envshim(envrc)
    direnv_file = environ.get("DIRENV_FILE")
    if state is not None and state.aside:
        return Manager(
            "direnv",
            f"direnv's hook is active in this shell and {os.path.join(state.aside, ENVRC)} "
            "says `use envshim`, so the envshim hook stands aside",
        )
    if envrc_uses and direnv_file == envrc:
        return Manager("direnv", f"direnv loaded {envrc}, which says `use envshim`")
    if state is not None:
        if state.root and os.path.abspath(state.root) == os.path.abspath(root):
            reason = "the envshim hook loaded this project"
            if envrc_uses:
                reason += (
                    f"; {envrc} says `use envshim`, but direnv's hook is not active in this "
                    "shell, so the envshim hook loads it instead"
                )
            return Manager("envshim hook", reason)
        if state.root:
            return Manager("envshim hook", f"the hook has {state.root} loaded (not this project)")
        return Manager("envshim hook", "the hook is active in this shell; nothing is loaded here")
    if damaged:
        return Manager("envshim hook", "ENVSHIM_STATE is damaged; the next prompt replaces it")
    if (environ.get("MISE_SHELL") or environ.get("__MISE_DIFF")) and _mise_plugin_configured(root):
        return Manager("mise plugin", "mise is active in this shell and mise.toml has `_.envshim`")
    if envrc_uses:
        return Manager(
            "nobody",
            f"{envrc} says `use envshim`, but neither direnv's hook nor the envshim hook is "
            'active in this shell; add `eval "$(direnv hook bash)"` (or the envshim hook) to '
            "your shell's rc file",
        )
    return Manager(
        "nobody",
        "the envshim hook is not active in this shell (no ENVSHIM_STATE); "
        'add `eval "$(envshim hook bash)"` (zsh: `envshim hook zsh`, fish: '
        "`envshim hook fish | source`; `envshim doctor` names the line for elvish, tcsh, "
        "nushell and xonsh) to your shell's rc file, or use `envshim run`",
    )
