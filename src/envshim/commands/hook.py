"""``envshim hook [bash|zsh|fish|direnv]``: print the shell integration to evaluate."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from ..errors import UsageError

SCRIPTS = {
    "bash": "envshim.bash",
    "zsh": "envshim.zsh",
    "fish": "envshim.fish",
    "direnv": "direnv.sh",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shell",
        nargs="?",
        choices=sorted(SCRIPTS),
        help="the shell (default: detected from the parent process)",
    )


def detect_shell() -> str:
    import shellingham

    try:
        name, _ = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure:
        name = os.path.basename(os.environ.get("SHELL", ""))
    name = name.lower()
    if name not in ("bash", "zsh", "fish"):
        raise UsageError(
            f"cannot tell which shell this is ({name or 'unknown'})",
            hint="name it: envshim hook bash|zsh|fish",
        )
    return name


def command_words() -> list[str]:
    """How the hook starts envshim again: the absolute path of this executable."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "envshim" and os.path.isfile(argv0):
        return [os.path.abspath(argv0)]
    found = shutil.which("envshim")
    if argv0.endswith("__main__.py") or not found:  # python -m envshim
        return [sys.executable, "-m", "envshim"]
    return [os.path.abspath(found)]


def quote_word(shell: str, word: str) -> str:
    if shell == "fish":
        return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + word.replace("'", "'\\''") + "'"


def hook_text(shell: str) -> str:
    from ..hook.plan import SUMMARY_NAMES
    from ..project import ROOT_MARKERS
    from ..resources import shell_script

    text = shell_script(SCRIPTS[shell])
    command = " ".join(quote_word(shell, w) for w in command_words())
    markers = " ".join(quote_word(shell, m) for m in ROOT_MARKERS)
    text = text.replace("@MARKERS@", markers).replace("@SUMMARY_NAMES@", str(SUMMARY_NAMES))
    return text.replace('"@ENVSHIM@"', command)


def run(args: argparse.Namespace) -> int:
    shell = args.shell or detect_shell()
    sys.stdout.write(hook_text(shell))
    return 0
