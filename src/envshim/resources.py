"""Where the shipped shell scripts and the mise plugin are, in a checkout or a wheel.

A wheel carries ``shell/`` as ``envshim/shell_scripts`` and ``mise-plugin/`` as
``envshim/mise_plugin`` (pyproject force-include); a source checkout (editable
install) has them two levels above this file.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _locate(packaged: str, source: str) -> Path:
    for candidate in (_PACKAGE / packaged, _CHECKOUT / source):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"envshim is installed without its {source}/ directory")


def shell_dir() -> Path:
    """The directory holding ``envshim.bash``, ``envshim.zsh``, ``envshim.fish``, ``direnv.sh``."""
    return _locate("shell_scripts", "shell")


def mise_plugin_dir() -> Path:
    """The vfox-style plugin directory to give to ``mise plugins link``."""
    return _locate("mise_plugin", "mise-plugin")


def shell_script(name: str) -> str:
    return (shell_dir() / name).read_text(encoding="utf-8")
