"""Asking an installed mise for what envshim does not evaluate itself.

envshim never runs code from a config. For ``exec()``, ``_.source``,
``_.python.venv`` and other constructs it runs ``mise env --json`` in the
directory, under mise's own trust rules, and takes mise's answer.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd

if TYPE_CHECKING:
    from .base import LayerContext


def find_mise(environ: Mapping[str, str]) -> str | None:
    return shutil.which("mise", path=environ.get("PATH", os.defpath))


def mise_env_json(
    exe: str, ctx: LayerContext, path: str, line: int | None, construct: str
) -> dict[str, str]:
    import json
    import subprocess

    env = dict(ctx.environ)
    if ctx.profiles:
        env["MISE_ENV"] = ",".join(ctx.profiles)
    try:
        proc = subprocess.run(
            [exe, "env", "--json"],
            cwd=ctx.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(
            f"{construct} needs mise, and `mise env --json` could not run ({type(exc).__name__})",
            path=path,
            line=line,
            hint=f"run `mise env --json` in {ctx.cwd} to see why",
        ) from None
    if proc.returncode != 0:
        # mise's own message is not repeated: it may quote values
        raise ConfigError(
            f"{construct} needs mise, and `mise env --json` failed (exit {proc.returncode})",
            path=path,
            line=line,
            hint=f"run `mise env --json` in {ctx.cwd} to see why (an untrusted config needs `mise trust`)",
        )
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(
            f"{construct} needs mise, and `mise env --json` printed no JSON object",
            path=path,
            line=line,
        )
    return data
