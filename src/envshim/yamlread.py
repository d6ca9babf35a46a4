"""One translation of ruamel.yaml's errors into envshim's one-line form (file:line: what)."""

from __future__ import annotations

import os

from .errors import ConfigError


def yaml_error(exc: Exception, path: str | os.PathLike[str]) -> ConfigError:
    """The error to raise for a YAML file ruamel.yaml could not read; never quotes content."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" if problem else f"invalid YAML ({type(exc).__name__})"
    return ConfigError(
        message,
        path=path,
        line=(mark.line + 1) if mark is not None else None,
        hint="fix the YAML syntax",
    )
