"""Does the user's shell load envshim: the hook in an rc file, direnv's ``use envshim``,
or mise's activation with the plugin.

Each shell's hook line: bash and zsh ``eval "$(envshim hook SHELL)"``, fish ``envshim hook
fish | source``, elvish ``eval (envshim hook elvish | slurp)``, tcsh ``eval "`envshim hook
tcsh`"``, xonsh ``xontrib load envshim``; nushell cannot evaluate a command's output, so
its hook is saved once into its autoload directory (``autoload/envshim.nu``), which
doctor also checks is the current one.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from .core import FAIL, OK, SKIP, WARN, Doctor, Result, tool_version, uncommented

_HOOK_RE = re.compile(r"envshim\s+hook")
# nushell: the saved hook script itself (it defines _envshim_hook), or a line that saves it
_NU_HOOK_RE = re.compile(r"envshim\s+hook|\b_envshim_hook\b")
_XONTRIB_RE = re.compile(r"^\s*xontrib\s+load\s+(?:[\w.-]+\s+)*envshim\b", re.M)
NU_AUTOLOAD = "autoload/envshim.nu"
_DIRENV_RE = re.compile(r"direnv\s+hook")
_MISE_RE = re.compile(r"\bmise\b[^\n]*\bactivate\b")
_USE_ENVSHIM = re.compile(r"^\s*use\s+envshim\b", re.M)


def rc_files(shell: str, environ: dict[str, str], home: Path) -> list[Path]:
    if shell == "bash":
        return [home / ".bashrc", home / ".bash_profile", home / ".bash_login", home / ".profile"]
    if shell == "zsh":
        zdot = Path(environ.get("ZDOTDIR") or home)
        return [zdot / ".zshrc", zdot / ".zprofile", zdot / ".zshenv"]
    if shell in ("fish", "elvish", "nu", "xonsh"):
        from ..paths import config_home

        conf = config_home(environ)
        if shell == "fish":
            return [conf / "fish" / "config.fish", *_glob(conf / "fish" / "conf.d", "*.fish")]
        if shell == "elvish":
            return [conf / "elvish" / "rc.elv", home / ".elvish" / "rc.elv"]
        if shell == "nu":
            nu = conf / "nushell"
            return [nu / "config.nu", nu / "env.nu", *_glob(nu / "autoload", "*.nu")]
        return [
            home / ".xonshrc",
            conf / "xonsh" / "rc.xsh",
            *_glob(conf / "xonsh" / "rc.d", "*.xsh"),
        ]
    if shell == "tcsh":
        return [home / ".tcshrc", home / ".cshrc", home / ".login"]
    return []


def _glob(directory: Path, pattern: str) -> list[Path]:
    return sorted(directory.glob(pattern)) if directory.is_dir() else []


def hook_line(shell: str) -> str:
    """The line the shell's rc file needs (nushell: the command that saves its hook)."""
    if shell == "fish":
        return "envshim hook fish | source"
    if shell == "elvish":
        return "eval (envshim hook elvish | slurp)"
    if shell == "tcsh":
        return 'eval "`envshim hook tcsh`"'
    if shell == "nu":
        return f"envshim hook nu | save -f ($nu.default-config-dir | path join {NU_AUTOLOAD})"
    if shell == "xonsh":
        return "xontrib load envshim"
    return f'eval "$(envshim hook {shell})"'


def detect_shell(d: Doctor) -> str | None:
    if d.shell:
        return d.shell
    try:
        import shellingham

        name, _ = shellingham.detect_shell()
        return "nu" if name == "nushell" else name
    except Exception:  # shellingham missing or the parent chain has no shell
        shell = d.environ.get("SHELL")
        return os.path.basename(shell) if shell else None


def uses_envshim(envrc: Path) -> bool:
    try:
        return bool(_USE_ENVSHIM.search(envrc.read_text(errors="replace")))
    except OSError:
        return False


def check_shell(d: Doctor) -> list[Result]:
    shell = detect_shell(d)
    if shell is None:
        return [Result("shell", SKIP, "no shell detected (not run from a shell)")]
    files = rc_files(shell, d.environ, d.home())
    if not files:
        return [
            Result(
                "shell",
                WARN,
                f"{shell}: no hook for this shell",
                "use bash, zsh, fish, elvish, tcsh, nushell or xonsh (or envshim run -- CMD, "
                "which runs one command with the environment)",
            )
        ]
    texts = {f: uncommented(f) for f in files if f.is_file()}
    for f, text in texts.items():
        if shell == "xonsh" and _XONTRIB_RE.search(text):
            return [Result("shell", OK, f"xonsh: {d.tilde(f)} loads the envshim xontrib")]
        if shell == "nu" and _NU_HOOK_RE.search(text):
            return check_nu_hook(d, f)
        if shell != "nu" and _HOOK_RE.search(text):
            return [Result("shell", OK, f"{shell}: {d.tilde(f)} evaluates `envshim hook`")]
    root = d.project().root
    for f, text in texts.items():
        if _DIRENV_RE.search(text):
            envrc = root / ".envrc"
            if envrc.is_file() and uses_envshim(envrc):
                return [
                    Result(
                        "shell",
                        OK,
                        f"{shell}: direnv hook in {d.tilde(f)}, `use envshim` in .envrc",
                    )
                ]
            return [
                Result(
                    "shell",
                    WARN,
                    f"{shell}: direnv is hooked but .envrc does not `use envshim`",
                    f"`echo 'use envshim' >> {d.here(envrc)}`, then `direnv allow`",
                )
            ]
    for f, text in texts.items():
        if _MISE_RE.search(text):
            if d.has_directive():
                return [
                    Result(
                        "shell",
                        OK,
                        f"{shell}: mise activate in {d.tilde(f)}, `_.envshim` in mise.toml",
                    )
                ]
            return [
                Result(
                    "shell",
                    WARN,
                    f"{shell}: mise is activated but mise.toml has no `_.envshim`",
                    "`envshim init --mise`, or add the envshim hook",
                )
            ]
    target = d.tilde(files[0])
    if shell == "nu":
        step = f"in nushell, `{hook_line(shell)}`"
    else:
        step = f"`echo {shlex.quote(hook_line(shell))} >> {target}`"
    return [
        Result(
            "shell",
            WARN,
            f"{shell}: {target} does not load envshim",
            f"{step}, then open a new shell "
            "(without a hook, envshim run -- CMD runs one command with the environment)",
        )
    ]


def check_nu_hook(d: Doctor, found: Path) -> list[Result]:
    """nushell's hook is a saved copy: the one in the autoload directory must be the
    current one (it names the envshim executable and follows this version's protocol)."""
    from ..commands.hook import hook_text
    from ..paths import config_home

    saved = config_home(d.environ) / "nushell" / NU_AUTOLOAD
    if found != saved:
        return [Result("shell", OK, f"nu: {d.tilde(found)} loads the envshim hook")]
    wanted = hook_text("nu")
    try:
        current = saved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current == wanted:
        return [Result("shell", OK, f"nu: {d.tilde(saved)} is the envshim hook")]
    if d.fix:
        from ..atomic import write_atomic

        write_atomic(saved, wanted, mode=0o644, dir_mode=0o755)  # no secret: like config.nu
        return [
            Result("shell", OK, f"nu: {d.tilde(saved)} is the envshim hook", fixed="rewrote it")
        ]
    return [
        Result(
            "shell",
            WARN,
            f"nu: {d.tilde(saved)} is an older envshim hook",
            f"in nushell, `{hook_line('nu')}` (or `envshim doctor --fix`), then open a new shell",
        )
    ]


def check_loads(d: Doctor) -> list[Result]:
    """Who loads this directory in the calling shell, and why (hook/who.py)."""
    from ..hook.who import who_manages

    manager = who_manages(str(d.cwd), str(d.project().root), d.environ)
    return [Result("loads", SKIP if manager.who == "nobody" else OK, manager.line())]


def check_direnv(d: Doctor) -> list[Result]:
    envrc = d.project().root / ".envrc"
    if not envrc.is_file():
        return [Result("direnv", SKIP, "no .envrc here")]
    uses = uses_envshim(envrc)
    version = tool_version(["direnv", "version"])
    if version is None:
        return [
            Result(
                "direnv",
                WARN if uses else SKIP,
                ".envrc present, direnv not installed",
                "install direnv, or load envshim with its own hook (see the shell line)"
                if uses
                else "",
            )
        ]
    if not uses:
        return [Result("direnv", OK, f"direnv {version} (.envrc does not use envshim)")]
    from ..commands.direnv import lib_path
    from ..commands.hook import hook_text

    path, wanted = lib_path(d.environ), hook_text("direnv")
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current == wanted:
        return [Result("direnv", OK, f"direnv {version}, use_envshim installed")]
    state = "out of date" if current is not None else "not installed"
    if d.fix:
        from ..atomic import write_atomic

        # not a secret: readable like the rest of direnv's lib
        write_atomic(path, wanted, mode=0o644, dir_mode=0o755)
        return [
            Result(
                "direnv",
                OK,
                f"direnv {version}, use_envshim installed",
                fixed=f"wrote {d.tilde(path)}",
            )
        ]
    return [
        Result(
            "direnv",
            FAIL,
            f"direnv {version}: .envrc uses envshim but use_envshim is {state}",
            "`envshim direnv install` (or `envshim doctor --fix`)",
        )
    ]
