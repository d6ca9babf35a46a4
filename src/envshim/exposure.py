"""Which values may enter an interactive shell: exec-only values, and agents' shells.

A shell's environment is read by everything started in it: ``printenv`` in a
coding agent's bash, a notebook's traceback, a crash reporter. Two rules keep
secrets out of shells without keeping them from the programs that need them:

* **Exec-only values.** ``exec_only = ["DB_PASSWORD", "secrets.prod.enc.env"]``
  in ``envshim.toml`` (or the ``_.envshim`` table) names variables, or whole
  secret files, that never enter an interactive shell: the hook, ``use envshim``,
  the mise plugin and ``envshim export`` leave them out; ``envshim run`` children
  and ``envshim.load()``/``resolve()`` get them. A user marks their own store's
  values the same way in their user config (``~/.config/envshim/config.toml``).
* **Agents' shells.** When the shell belongs to a coding agent (one of
  :data:`AGENT_MARKERS` is set, or ``ENVSHIM_AGENT=1``), only committed,
  non-secret values (the mise layer) load by default. The project chooses with
  ``agents = "defaults" | "none" | "all"``; the user's config overrides it for
  their machine (``agents = …``, or per project under ``[projects."<root>"]``);
  ``ENVSHIM_AGENT=0`` says "not an agent".

Withheld values are not applied at all, so a later mise entry such as
``DATABASE_URL = "postgres://app:{{env.DB_PASSWORD}}@db"`` does not carry them
into the shell either.
"""

from __future__ import annotations

import os

from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

# The variables coding agents set in the shells they run commands in. One list,
# documented in the README: a name here, or any name starting with a prefix here.
AGENT_MARKERS = (
    "CLAUDECODE",  # Claude Code
    "CURSOR_AGENT",  # Cursor's agent terminal
    "GEMINI_CLI",  # Gemini CLI
    "CODEX_*",  # OpenAI Codex CLI (CODEX_SANDBOX, CODEX_SANDBOX_NETWORK_DISABLED, …)
    "COPILOT_CLI",  # GitHub Copilot CLI
    "AIDER_*",  # aider
    "AI_AGENT",  # generic
    "AGENT",  # generic
)
FORCE_VAR = "ENVSHIM_AGENT"
AGENT_MODES = ("defaults", "none", "all")
EXEC_ONLY = "exec-only"
AGENT = "agent"


def agent_marker(environ: Mapping[str, str]) -> str | None:
    """The variable that says this shell is an agent's, or ``None``.

    ``ENVSHIM_AGENT=1`` forces agent mode (``"ENVSHIM_AGENT"`` is returned),
    ``ENVSHIM_AGENT=0`` turns detection off.
    """
    forced = environ.get(FORCE_VAR)
    if forced == "0":
        return None
    if forced == "1":
        return FORCE_VAR
    for marker in AGENT_MARKERS:
        if marker.endswith("*"):
            prefix = marker[:-1]
            for name in environ:
                if name.startswith(prefix) and environ[name]:
                    return name
        elif environ.get(marker):
            return marker
    return None


def user_config_path(environ: Mapping[str, str]) -> Path:
    from .paths import config_home

    return config_home(environ) / "envshim" / "config.toml"


def user_config(environ: Mapping[str, str], root: Path) -> dict[str, Any]:
    """The user's own settings for ``root``: the top level, overlaid by
    ``[projects."<root>"]``. Nothing is read when the file does not exist."""
    path = user_config_path(environ)
    if not path.is_file():
        return {}
    from .safeio import read_regular
    from .tomlread import decode_utf8, load_toml

    data = load_toml(path, decode_utf8(path, read_regular(path)))
    out = {k: v for k, v in data.items() if k != "projects"}
    projects = data.get("projects")
    if isinstance(projects, dict) and isinstance(projects.get(str(root)), dict):
        out.update(projects[str(root)])
    return out


def _names(value: Any, where: Path | str | None, option: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{option} must be a list of variable or file names",
            path=where,
            hint=f'write {option} = ["DB_PASSWORD", "secrets.prod.enc.env"]',
        )
    return value


def agent_mode(options: Mapping[str, Any], mine: Mapping[str, Any], where: Path | None) -> str:
    """``defaults`` unless the user's config, then the project, says otherwise."""
    mode = mine.get("agents", options.get("agents", "defaults"))
    if mode not in AGENT_MODES:
        raise ConfigError(
            f"agents must be one of {', '.join(AGENT_MODES)}",
            path=where,
            hint='agents = "defaults" loads committed values only in an agent\'s shell',
        )
    return mode


class Exposure:
    """What an interactive load withholds, decided once per resolution."""

    __slots__ = ("agent", "exec_files", "exec_names", "mode")

    def __init__(
        self, agent: str | None, mode: str, exec_names: set[str], exec_files: set[str]
    ) -> None:
        self.agent = agent  # the marker variable, when this is an agent's shell
        self.mode = mode  # defaults | none | all
        self.exec_names = exec_names
        self.exec_files = exec_files  # real paths of secret files marked exec-only

    @classmethod
    def for_load(
        cls,
        root: Path,
        options: Mapping[str, Any],
        environ: Mapping[str, str],
        options_path: Path | None,
        *,
        agents: bool = True,
    ) -> Exposure:
        mine = user_config(environ, root)
        where = user_config_path(environ) if mine else options_path
        marked = _names(options.get("exec_only"), options_path, "exec_only")
        marked += _names(mine.get("exec_only"), where, "exec_only")
        names = {m for m in marked if "/" not in m and "." not in m}
        files = {os.path.realpath(os.path.join(root, m)) for m in marked if m not in names}
        agent = agent_marker(environ) if agents else None
        mode = agent_mode(options, mine, where) if agent else "all"
        return cls(agent, mode, names, files)

    def withheld(self, name: str, layer: str, path: str | None, secret: bool) -> str | None:
        """Why ``name`` (from ``layer``, read from ``path``) stays out of the shell, or None."""
        from .model import MISE

        if self.agent and self.mode == "none":
            return AGENT
        if layer == MISE and not secret:
            return None
        if self.agent and self.mode == "defaults":
            return AGENT
        if name in self.exec_names:
            return EXEC_ONLY
        if path is not None and os.path.realpath(path) in self.exec_files:
            return EXEC_ONLY
        return None

    def notice(self) -> str | None:
        if not self.agent or self.mode == "all":
            return None
        what = "committed defaults only" if self.mode == "defaults" else "nothing"
        return (
            f"agent shell ({self.agent} is set): {what} loaded, no secret; "
            "`envshim run -- CMD` runs a command with them"
        )


def withheld_in_shell(
    resolution: Any, environ: Mapping[str, str], env_arg: str | None = None
) -> dict[str, str]:
    """For ``status`` and ``explain``: which of ``resolution``'s names an interactive shell
    (the hook, direnv, the plugin) would leave out here, and why."""
    from .project import find_project

    project = find_project(resolution.root, env_arg, environ)
    exposure = Exposure.for_load(project.root, project.options, environ, project.options_path)
    out = dict(getattr(resolution, "withheld", {}) or {})
    for key, var in resolution.vars.items():
        reason = exposure.withheld(key, var.origin.layer, var.origin.path, var.secret)
        if reason:
            out[key] = reason
    return out


def describe(reason: str) -> str:
    """What a withheld name's note says, in status and explain."""
    if reason == EXEC_ONLY:
        return "exec-only: not in shells; `envshim run` and envshim.load() get it"
    return "not loaded in this agent's shell; `envshim run` gets it"
