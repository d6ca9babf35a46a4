"""envshim: the right environment in every shell.

Python API::

    import envshim
    env = envshim.resolve(".")          # a Mapping[str, str] with provenance in .vars
    envshim.load()                      # update os.environ like the shell hook would
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .merge import Resolution

__all__ = ["load", "resolve"]


def resolve(
    path: str | os.PathLike[str] = ".",
    env: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    missing_key: str | None = None,
) -> Resolution:
    """The merged environment of the project at ``path`` (nothing is changed).

    ``environ`` is the base environment templates and ``$VAR`` see (``os.environ`` by
    default; never modified)."""
    from .resolve import resolve as _resolve

    return _resolve(path, env, environ=environ, missing_key=missing_key)


def load(
    path: str | os.PathLike[str] = ".",
    env: str | None = None,
    override: bool = False,
    *,
    missing_key: str | None = None,
) -> Resolution:
    """Apply the merged environment to ``os.environ``, as the shell would get it.

    With ``override=False`` a variable that is already set in the process is
    kept (as python-dotenv's ``load_dotenv`` does); ``PATH`` entries added by
    ``_.path`` are always prepended. Returns the resolution.
    """
    resolution = resolve(path, env, missing_key=missing_key)
    for key, value in resolution.changes().items():
        if value is None:
            if override:
                os.environ.pop(key, None)
        elif override or key not in os.environ or key == "PATH":
            os.environ[key] = value
    return resolution


# `import envshim.resolve` (the module) would replace the function above as an attribute of
# the package the first time anything imports it, so `envshim.resolve(...)` worked once and
# then raised "module is not callable". The submodule stays reachable through sys.modules.
class _Package(type(os)):  # type(os) is ModuleType without importing `types`
    def __setattr__(self, name: str, value: object) -> None:
        if name == "resolve" and isinstance(value, type(os)):
            return
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext envshim``: load the project's environment into this kernel and redact
    its secrets from everything the kernel sends out (envshim.integrations.ipython)."""
    from .integrations.ipython import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext envshim``: restore the kernel's environment, stop redacting."""
    from .integrations.ipython import unload_ipython_extension as _unload

    _unload(ipython)


def _load_xontrib_(xsh: Any, **kwargs: Any) -> dict[str, Any]:
    """``xontrib load envshim`` (in ~/.xonshrc): load projects on ``cd``, in-process
    (envshim.integrations.xonsh). No entry point, so nothing loads unless asked."""
    from .integrations.xonsh import _load_xontrib_ as _load

    return _load(xsh, **kwargs)


def _unload_xontrib_(xsh: Any, **kwargs: Any) -> dict[str, Any]:
    """``xontrib unload envshim``: the project's variables go back as they were."""
    from .integrations.xonsh import _unload_xontrib_ as _unload

    return _unload(xsh, **kwargs)
