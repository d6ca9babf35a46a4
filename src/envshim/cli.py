"""Argument parsing and dispatch only.

Each command lives in ``envshim.commands.<module>`` with ``add_arguments(parser)``
and ``run(args) -> int``. Only the module of the command being run is imported,
so ``envshim export`` on every ``cd`` pays for nothing else.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module

TYPE_CHECKING = False  # argparse is imported only when a command line needs it
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

# name -> (module, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "export": ("export", "print the merged environment for a shell or another format"),
    "explain": ("explain", "say where a variable comes from and what it shadows"),
    "status": ("status", "show the project, profile, trust and files in effect"),
    "run": ("run", "run a command with the merged environment"),
    "redact": ("redact", "copy stdin to stdout with secret values shown as [redacted NAME]"),
    "hook": ("hook", 'print the shell hook: eval "$(envshim hook zsh)"'),
    "allow": ("trust", "trust this project's config as it is now"),
    "deny": ("trust", "revoke trust in this project's config"),
    "prune": ("trust", "forget trust records of projects that no longer exist"),
    "direnv": ("direnv", "install the use_envshim function for direnv"),
    "secrets": ("secrets", "list, get, set, edit team secrets (sops files)"),
    "recipients": ("recipients", "list, add or remove the age keys secrets are encrypted to"),
    "key": ("key", "create or show your age identity"),
    "user": ("user", "your own values for this project, outside the repository"),
    "init": ("init", "set up envshim in this repository"),
    "doctor": ("doctor", "check the whole chain and say the next step for each problem"),
    "join": ("join", "print your public key and the command a maintainer runs"),
    "example": ("example", "write .env.example with placeholders for secrets"),
    "scan": ("scan", "look for the current secret values in files, staged changes, notebooks"),
    "demo": ("demo", "a self-contained walk-through in a throw-away directory"),
}


# commands that never hold a decrypted value (the rest dump no core: envshim.hardening)
_NO_PLAINTEXT = frozenset({"hook", "direnv", "deny", "prune"})


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("envshim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _top_help() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: envshim [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "Run `envshim COMMAND --help` for a command's options."]
    return "\n".join(lines) + "\n"


def _parser(name: str, module: object) -> argparse.ArgumentParser:
    import argparse

    class _HelpFormatter(argparse.HelpFormatter):
        """argparse asks shutil for the terminal width, and shutil imports bz2, lzma and
        zlib; os answers the same question without them."""

        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:  # fmt: skip
            if width is None:
                try:
                    columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(1).columns
                except (ValueError, OSError):
                    columns = 80
                width = max(columns, 40) - 2
            super().__init__(prog, indent_increment, max_help_position, width)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            """A missing verb (`envshim secrets`) lists the verbs, on one line."""
            for action in self._actions:
                verbs = isinstance(action, argparse._SubParsersAction) and action.metavar
                if verbs and message.endswith(f"required: {action.metavar}"):
                    self.exit(
                        2,
                        f"{self.prog}: missing {action.metavar}: one of "
                        f"{', '.join(action.choices)} (`{self.prog} --help` says what each does)\n",
                    )
            super().error(message)

    parser = _Parser(
        prog=f"envshim {name}", description=COMMANDS[name][1], formatter_class=_HelpFormatter
    )
    parser.set_defaults(command=name)
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser


# `envshim export` runs on every cd; its usual command lines are read without argparse
# (argparse, gettext and locale cost about 4 ms). Anything else goes to argparse, and
# tests/test_record.py checks that both read these lines the same way.
_EXPORT_FLAGS = {"--hook": "hook", "--direnv": "direnv", "--from-mise": "from_mise"}
_EXPORT_OPTIONS = {"--format": "format", "-f": "format", "--env": "env", "-e": "env",
                   "--missing-key": "missing_key"}  # fmt: skip
_EXPORT_DEFAULTS = {"target": None, "format": None, "hook": False, "direnv": False,
                    "from_mise": False, "allowlist": None, "name": None, "namespace": None,
                    "env": None, "missing_key": None, "include_exec_only": False}  # fmt: skip


def fast_export_args(rest: list[str]) -> object | None:
    """``[WORD [WORD]] [--format F] [--env P] [--missing-key M] [--hook] …``, else None."""
    values: dict[str, object] = dict(_EXPORT_DEFAULTS)
    target: list[str] = []
    words_done = False  # argparse takes the positional words as one run
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in _EXPORT_FLAGS:
            values[_EXPORT_FLAGS[word]] = True
            words_done = bool(target)
        elif word in _EXPORT_OPTIONS and i + 1 < len(rest) and not rest[i + 1].startswith("-"):
            if word == "--missing-key" and rest[i + 1] not in ("error", "warn", "skip"):
                return None  # argparse names the choices
            values[_EXPORT_OPTIONS[word]] = rest[i + 1]
            words_done = bool(target)
            i += 1
        elif word.startswith("-") or words_done:
            return None
        else:
            target.append(word)
        i += 1
    from types import SimpleNamespace

    return SimpleNamespace(command="export", **{**values, "target": target})


def main(argv: list[str] | None = None) -> int:
    from_console = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(_top_help())
        return 0 if argv else 2
    if argv[0] == "--version":
        sys.stdout.write(f"envshim {version()}\n")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"envshim: unknown command {name!r}; run `envshim --help`\n")
        return 2
    module = import_module(f"envshim.commands.{COMMANDS[name][0]}")
    args = fast_export_args(rest) if name == "export" else None
    if args is None:
        args = _parser(name, module).parse_args(rest)
    if _needs_cwd(name, args) and not _cwd_exists():
        sys.stderr.write(
            "envshim: the current directory no longer exists (deleted or moved); "
            "`cd` to an existing directory and run the command again\n"
        )
        return 1
    if name not in _NO_PLAINTEXT:
        from .hardening import forbid_core_dumps

        # every other command may hold a decrypted value; ctypes' 3 ms stay off every cd
        forbid_core_dumps(dumpable=name != "export")
    code = _run(module, args)
    if from_console and name == "export":
        _exit_now(code)
    return code


# Commands that never read the current directory's project; the hook's export must still
# unload the previous project when its directory was deleted (hook.py handles that).
_NO_PROJECT = frozenset({"hook", "key", "demo", "prune", "direnv"})


def _needs_cwd(name: str, args: object) -> bool:
    if name in _NO_PROJECT or getattr(args, "hook", False) or getattr(args, "direnv", False):
        return False
    directory = getattr(args, "dir", None)
    return not (isinstance(directory, str) and os.path.isabs(directory))


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def _printable(text: str) -> str:
    """A path for a message: control characters escaped, so it cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _exit_now(code: int) -> None:
    """``export`` runs on every ``cd``: skip the interpreter's teardown of every module
    (about 5 ms); it holds no temporary file, thread or atexit handler to finish."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError) as exc:  # a closed pipe or a full disk: the output did not arrive
        if not isinstance(exc, BrokenPipeError):
            message = f"envshim: cannot write the output ({getattr(exc, 'strerror', exc)})\n"
            try:  # noqa: SIM105 - contextlib is one more import on every cd
                os.write(2, message.encode())
            except OSError:
                pass
        code = code or 1
    os._exit(code)


def _run(module: object, args: argparse.Namespace) -> int:
    from .errors import EnvshimError

    try:
        return int(module.run(args) or 0)  # type: ignore[attr-defined]
    except EnvshimError as exc:
        sys.stderr.write(f"envshim: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("envshim: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:
        # a file that cannot be read or written where the command did not expect it: the
        # path and the system's reason (never file content), and the next step
        if not _cwd_exists():
            sys.stderr.write(
                "envshim: the current directory no longer exists; `cd` to an existing "
                "directory and run the command again\n"
            )
            return 1
        where = f"{_printable(os.fsdecode(exc.filename))}: " if exc.filename else ""
        reason = exc.strerror or type(exc).__name__
        sys.stderr.write(f"envshim: {where}{reason}; check the path and its permissions\n")
        return 1
    except Exception as exc:
        # An unexpected error may carry a secret in its message: show only where it happened.
        if os.environ.get("ENVSHIM_DEBUG") == "1":
            raise
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else ""
        sys.stderr.write(
            f"envshim: internal error ({type(exc).__name__}{where}); "
            "rerun with ENVSHIM_DEBUG=1 for the traceback (it may show values)\n"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
