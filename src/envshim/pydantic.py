"""``from envshim.pydantic import EnvshimSource``: see :mod:`envshim.integrations.pydantic`."""

from .integrations.pydantic import EnvshimSettings, EnvshimSource

__all__ = ["EnvshimSettings", "EnvshimSource"]
