"""The mise plugin's call: ``envshim export --format json --from-mise --hook``.

``mise-plugin/hooks/mise_env.lua`` runs it from mise's env hook and decodes the
JSON it prints: the team and user layers only (mise applied its own), the files
mise should watch, and a notice when the project is not allowed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .errors import ConfigError, UsageError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping
    from typing import Any

PLUGIN_OPTIONS_VAR = "ENVSHIM_MISE_OPTIONS"  # the `_.envshim` table, as JSON, from the plugin


def _plugin_options(environ: Mapping[str, str]) -> dict[str, Any]:
    from .project import KNOWN_OPTIONS

    raw = environ.get(PLUGIN_OPTIONS_VAR, "")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise UsageError(f"{PLUGIN_OPTIONS_VAR} is not JSON") from None
    if isinstance(data, list) and not data:  # Lua encodes an empty table as []
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{PLUGIN_OPTIONS_VAR} must be a JSON object")
    unknown = sorted(set(data) - KNOWN_OPTIONS - {"command"})
    if unknown:
        raise ConfigError(
            f"unknown option {unknown[0]!r} in the _.envshim table",
            hint=f"known options are {', '.join(sorted(KNOWN_OPTIONS))}",
        )
    # Which envshim to run is the user's choice (ENVSHIM_BIN), never a repository's:
    # a committed `command = "./tool.sh"` would run the repository's code.
    data.pop("command", None)
    return data


def plugin_export(args: argparse.Namespace) -> int:
    """What ``mise-plugin/hooks/mise_env.lua`` decodes: the team and user layers only
    (mise applied its own), the files to watch, and a notice when not allowed.

    ``{"env": {...}, "watch": [...], "notice": "..." | null, "warnings": [...]}``
    """
    from . import trust
    from .project import find_root

    environ = dict(os.environ)
    environ.pop(PLUGIN_OPTIONS_VAR, None)
    options = _plugin_options(os.environ)
    cwd = Path(os.path.abspath(args.dir))
    root = find_root(cwd)
    profile = args.env or (options.get("env") if isinstance(options.get("env"), str) else None)
    missing_key = args.missing_key or options.get("missing_key")
    out: dict[str, Any] = {"env": {}, "watch": [str(trust.record_path(root, environ))]}
    out["notice"], out["warnings"] = None, []
    # The same record as the hook's: every mise config is checked (a new one could carry
    # the `_.envshim` table this call received) before any secret is read.
    verdict, resolution = trust.load_allowed(
        cwd, profile, environ=environ, from_mise=True, missing_key=missing_key,
        table_options=options,
    )  # fmt: skip
    if resolution is None or not verdict.allowed:
        out["notice"] = trust.notice(verdict)
        files = verdict.record.files if verdict.record else {}
        out["watch"] += [str(p) for p in files] + [str(root / n) for n in trust.marker_names(root)]
    else:
        from .shells import get_renderer
        from .shells.base import check

        changes = resolution.changes()
        check(get_renderer("bash"), changes, {k: v.origin for k, v in resolution.vars.items()})
        out["env"] = {k: v for k, v in changes.items() if v is not None}
        paths = [*resolution.files, *resolution.watch]
        out["watch"] += [str(p) for p in dict.fromkeys(paths)]
        out["warnings"] = list(resolution.warnings)
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0
