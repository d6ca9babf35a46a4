"""mise: where the project has `_.envshim`, the plugin must be installed and mise must
trust the config, or every `mise env` in the project fails.

mise is always run away from the project (``init.run_mise``): inside a project whose
mise.toml has `_.envshim` and no plugin, every mise command fails, even
``mise plugins link`` ("Invalid version: envshim"). The printed command uses mise's own
``-C /`` for the same reason, so that it works pasted in the project directory.
"""

from __future__ import annotations

from pathlib import Path

from .core import FAIL, OK, SKIP, WARN, Doctor, Result, quote_path, tool_version


def plugin_dir() -> Path | None:
    """The plugin shipped inside the installed envshim package (or the checkout)."""
    from ..resources import mise_plugin_dir

    try:
        return mise_plugin_dir()
    except FileNotFoundError:
        return None


def link_command(plugin: Path) -> str:
    return f"mise -C / plugins link envshim {quote_path(plugin)}"


def link_plugin(d: Doctor, plugin: Path) -> str | None:
    """Link the shipped plugin; None when done, else mise's first error line."""
    from ..init import mise_plugins, run_mise

    proc = run_mise(d.environ, "plugins", "link", "--force", "envshim", str(plugin))
    if proc.returncode == 0 and "envshim" in mise_plugins(d.environ):
        return None
    errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln and "--verbose" not in ln]
    return (errors or [f"exit {proc.returncode}"])[0].replace("mise ERROR", "").strip()


def untrusted(d: Doctor, configs: list[Path]) -> list[Path]:
    """The project's mise config files mise itself does not trust yet."""
    import subprocess

    try:
        proc = subprocess.run(
            ["mise", "trust", "--show"],
            cwd=d.project().root,
            env=d.environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    flagged = set()
    for line in proc.stdout.splitlines():
        where, _, state = line.rpartition(": ")
        if state.strip() == "untrusted":
            flagged.add(where.strip())
    root = str(d.project().root)
    return [p for p in configs if str(p) in flagged or (root in flagged and str(p.parent) == root)]


def check_mise(d: Doctor) -> list[Result]:
    configs = d.mise_configs()
    if not configs:
        return [Result("mise", SKIP, "no mise config here")]
    version = tool_version(["mise", "--version"])
    directive = d.has_directive()
    if version is None:
        note = " (envshim reads it itself)"
        return [Result("mise", SKIP, f"{d.rel(configs[0])} present, mise not installed{note}")]
    short = version.split()[0]
    if directive is None:
        return [Result("mise", OK, f"mise {short}")]
    from ..init import mise_plugins

    fixed = ""
    if "envshim" not in mise_plugins(d.environ):
        plugin = plugin_dir()
        problem = f"{d.rel(directive)} has `_.envshim` but the mise plugin is not installed"
        if plugin is None:
            return [
                Result(
                    "mise",
                    FAIL,
                    f"{problem}, and this envshim was installed without it",
                    "reinstall envshim from its wheel or a checkout (this install lacks mise-plugin/)",
                )
            ]
        if not d.fix:
            return [
                Result(
                    "mise",
                    FAIL,
                    f"{problem}: every `mise env` fails",
                    f"`{link_command(plugin)}` (or `envshim doctor --fix`)",
                )
            ]
        error = link_plugin(d, plugin)
        if error is not None:
            return [
                Result(
                    "mise",
                    FAIL,
                    f"{problem}; linking it failed: {error}",
                    f"`{link_command(plugin)}`",
                )
            ]
        fixed = f"linked the envshim plugin ({plugin})"
    waiting = untrusted(d, configs)
    if waiting:
        names = " ".join(d.here(p) for p in waiting)
        return [
            Result(
                "mise",
                WARN,
                f"mise {short}, envshim plugin installed; mise does not trust "
                f"{', '.join(d.rel(p) for p in waiting)} yet",
                f"review it, then `mise trust {names}`",
                fixed,
            )
        ]
    return [Result("mise", OK, f"mise {short}, envshim plugin installed", fixed=fixed)]
