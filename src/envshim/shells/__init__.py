"""One renderer per output format behind :class:`~envshim.shells.base.Renderer`.

Modules are imported on demand so that ``export bash`` never loads ``json``.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import UsageError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from .base import Renderer

_RENDERERS = {
    "bash": ("bash", "BashRenderer"),
    "zsh": ("zsh", "ZshRenderer"),
    "fish": ("fish", "FishRenderer"),
    "posix": ("posix", "PosixRenderer"),
    "sh": ("posix", "PosixRenderer"),
    "dash": ("posix", "PosixRenderer"),
    "json": ("json", "JsonRenderer"),
    "dotenv": ("dotenv", "DotenvRenderer"),
    "github": ("github", "GithubRenderer"),
    "k8s": ("k8s", "K8sRenderer"),
    "gitlab": ("gitlab", "GitlabRenderer"),
    "docker": ("docker", "DockerRenderer"),
    "nu": ("nushell", "NushellRenderer"),
    "nushell": ("nushell", "NushellRenderer"),
    "elvish": ("elvish", "ElvishRenderer"),
    "tcsh": ("tcsh", "TcshRenderer"),
    "xonsh": ("xonsh", "XonshRenderer"),
}

FORMATS = sorted(_RENDERERS)


def register(name: str, module: str, cls: str) -> None:
    """Add a renderer (``github``, ``k8s`` … live in their own modules)."""
    _RENDERERS[name] = (module, cls)
    FORMATS[:] = sorted(_RENDERERS)


def get_renderer(name: str) -> Renderer:
    try:
        module, cls = _RENDERERS[name]
    except KeyError:
        raise UsageError(
            f"unknown format {name!r}", hint=f"choose one of {', '.join(sorted(_RENDERERS))}"
        ) from None
    return getattr(import_module(f"{__name__}.{module}"), cls)()
