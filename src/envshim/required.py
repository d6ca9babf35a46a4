"""``required`` in ``envshim.toml``: names the merged environment must hold.

Checked by every path that resolves (``export``, ``run``, the hook, direnv,
``load()``), after all layers, against the environment the command would get:
a value CI injected counts, and ``--missing-key=skip`` does not turn it off. All
missing names come in one error, each with its help text.

    required = ["DATABASE_URL"]
    required = { DATABASE_URL = "ask #infra for the staging URL" }
"""

from __future__ import annotations

from .errors import ConfigError, MissingRequiredError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any


def wanted(options: Mapping[str, Any], path: Path | None) -> dict[str, str]:
    """``name -> help text`` from the ``required`` option (a list or a table)."""
    value = options.get("required")
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return dict.fromkeys(value, "")
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise ConfigError(
        "required must be a list of names or a table of name = help text",
        path=path,
        hint='write required = ["DATABASE_URL"] or required = { DATABASE_URL = "ask #infra" }',
    )


def check_required(
    lookup: Callable[[str], str | None], options: Mapping[str, Any], path: Path | None
) -> None:
    missing = [(k, h) for k, h in wanted(options, path).items() if lookup(k) is None]
    if not missing:
        return
    parts = [f"{k}: {h}" if h else k for k, h in missing]
    noun = "variable is" if len(missing) == 1 else "variables are"
    raise MissingRequiredError(
        f"required {noun} not set: " + "; ".join(parts),
        path=path,
        hint=_hint([k for k, _h in missing]),
    )


def _hint(names: list[str]) -> str:
    """Commands that paste as they are: the (first) missing name in them."""
    import shlex

    first = shlex.quote(names[0])
    where = (
        f"in the environment, as a secret (`envshim secrets set {first}`) or in your "
        f"user store (`envshim user set {first}`)"
    )
    if len(names) == 1:
        return f"set it {where}"
    return f"for each name, set it {where}, with that name in place of {first}"
