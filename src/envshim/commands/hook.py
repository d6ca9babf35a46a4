"""``envshim hook [bash|zsh|fish|elvish|tcsh|nu|xonsh|direnv]``: print the shell
integration to evaluate."""

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
    "elvish": "envshim.elv",
    "nu": "envshim.nu",
    "tcsh": "envshim.tcsh",
    "direnv": "direnv.sh",
}
SHELL_NAMES = ("bash", "zsh", "fish", "elvish", "tcsh", "nu", "xonsh")
_ALIASES = {"nushell": "nu"}
# xonsh loads envshim in its own process (envshim.integrations.xonsh): no script
XONSH_LINE = "xontrib load envshim\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shell",
        nargs="?",
        choices=sorted([*SCRIPTS, "xonsh", *_ALIASES]),
        help="the shell (default: detected from the parent process)",
    )


def detect_shell() -> str:
    import shellingham

    try:
        name, _ = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure:
        name = os.path.basename(os.environ.get("SHELL", ""))
    name = name.lower()
    name = _ALIASES.get(name, name)
    if name not in SHELL_NAMES:
        raise UsageError(
            f"cannot tell which shell this is ({name or 'unknown'})",
            hint=f"name it: envshim hook {'|'.join(SHELL_NAMES)}",
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
    """``word`` as one literal word of ``shell``'s syntax."""
    if shell == "fish":
        return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "elvish":
        from ..shells.elvish import elvish_quote

        return elvish_quote(word)
    if shell == "nu":
        from ..shells.nushell import nu_quote

        return nu_quote(word)
    if shell == "tcsh":
        from ..shells.tcsh import tcsh_quote

        return "''" if not word else tcsh_quote(word)
    return "'" + word.replace("'", "'\\''") + "'"


def hook_text(shell: str) -> str:
    from ..hook.plan import SUMMARY_NAMES
    from ..project import ROOT_MARKERS

    shell = _ALIASES.get(shell, shell)
    if shell == "xonsh":
        return XONSH_LINE
    command = " ".join(quote_word(shell, w) for w in command_words())
    markers = " ".join(quote_word(shell, m) for m in ROOT_MARKERS)
    if shell == "tcsh":
        return tcsh_install(command, markers)
    from ..resources import shell_script

    text = shell_script(SCRIPTS[shell])
    text = text.replace("@MARKERS@", markers).replace("@SUMMARY_NAMES@", str(SUMMARY_NAMES))
    return text.replace('"@ENVSHIM@"', command)


# tcsh cannot evaluate a block (``eval "`…`"`` makes one line of the text), so the hook
# is a file it sources (shell/envshim.tcsh, shipped in the package); what is evaluated
# only sets the hook up. The prompt's own test is an alias: no file is read unless $cwd
# or the profile changed or a watched path is not older than the load (see that file).
_TCSH_INIT = {
    "_envshim_key": "''", "_envshim_cwd": "''", "_envshim_prof": "-", "_envshim_state": "''",
    "_envshim_loaded": "0", "_envshim_scope": "''", "_envshim_cwddep": "0",
    "_envshim_names": "( )", "_envshim_busy": "( )", "_envshim_watch": "( )",
    "_envshim_chain": "( )", "_envshim_stamp": "0", "_envshim_mstamp": "''",
    "_envshim_mtime": "0", "_envshim_said": "''", "_envshim_counts": "( 0 0 0 )",
    "_envshim_reverts": "( )",
}  # fmt: skip
_TCSH_HOOK = (
    "set _envshim_rc = $status; set _envshim_d = 0; "
    'if ( $?ENVSHIM_ENV || $?MISE_ENV || "$cwd" != "$_envshim_cwd" ) set _envshim_d = 1; '
    '_envshim_w; _envshim_c; if ( $_envshim_d ) source "$_envshim_src"; '
    "set status = $_envshim_rc"
)


def tcsh_install(command: str, markers: str) -> str:
    from ..resources import shell_dir
    from ..shells.tcsh import tcsh_quote

    src = str(shell_dir() / SCRIPTS["tcsh"])
    lines = [
        f"set _envshim_cmd = ( {command} )",
        f"set _envshim_markers = ( {markers} )",
        f"set _envshim_src = {tcsh_quote(src)}",
    ]
    # a second installation keeps the first one's state
    for name, value in _TCSH_INIT.items():
        lines.append(f"if ( $?_envshim_started == 0 ) set {name} = {value}")
    for name in ("_envshim_w", "_envshim_c"):
        lines.append(f"if ( $?_envshim_started == 0 ) alias {name} ':'")
    lines.append("set _envshim_started = 1")
    lines.append(f"alias _envshim_hook '{_TCSH_HOOK}'")
    # precmd runs the hook first, then what it ran before (read once, here)
    lines.append('set _envshim_pc = "`alias precmd`"')
    lines.append("set _envshim_i = 1")
    lines.append('if ( "$_envshim_pc" =~ *_envshim_hook* ) set _envshim_i = 0')
    lines.append('if ( $_envshim_i ) alias precmd "_envshim_hook; $_envshim_pc"')
    lines.append("unset _envshim_pc _envshim_i")
    return "".join(line + ";\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    shell = args.shell or detect_shell()
    sys.stdout.write(hook_text(shell))
    return 0
