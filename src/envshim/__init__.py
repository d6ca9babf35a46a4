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
    from .merge import Resolution

__all__ = ["load", "resolve"]


def resolve(
    path: str | os.PathLike[str] = ".",
    env: str | None = None,
    *,
    missing_key: str | None = None,
) -> Resolution:
    """The merged environment of the project at ``path`` (nothing is changed)."""
    from .resolve import resolve as _resolve

    return _resolve(path, env, missing_key=missing_key)


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
