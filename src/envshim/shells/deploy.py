"""What the deployment formats share (k8s, gitlab, docker): the allowlist, which values a
format may hold, refusals that name the key and its source, and writing ``--out``.

A *committed default* is a value from the mise layer that is not secret: it is in git
as plain text already, so it may go where anyone can read it (a ConfigMap, a CI
report). Team and user values, and mise values envshim marks secret (``age``,
``redact``, a template that read a secret), are the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError, EnvshimError, UsageError
from ..model import MISE, Origin
from .base import ExportContext, is_valid_name


def read_allowlist(path: str) -> list[tuple[str, int]]:
    """Names, one per line, ``#`` comments and blank lines ignored; each with its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("the allowlist file does not exist", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the allowlist: {exc}", path=path) from None
    names: list[tuple[str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if not is_valid_name(name):
            raise ConfigError(
                f"{name!r} is not a variable name",
                path=path,
                line=number,
                hint="write one name per line; '#' starts a comment",
            )
        names.append((name, number))
    return names


def pick(
    changes: Mapping[str, str | None], ctx: ExportContext, fmt: str, *, required: bool = False
) -> tuple[dict[str, str], dict[str, int]]:
    """The values set (unsets dropped), limited to ``--allowlist`` when one is given; and
    the allowlist line of each name (for messages). A name the allowlist lists but
    envshim does not set is an error naming that line."""
    allowlist = ctx.options.get("allowlist")
    if not allowlist:
        if required:
            raise UsageError(
                f"--format {fmt} needs --allowlist FILE",
                hint="list the names it may hold, one per line",
            )
        return {k: v for k, v in changes.items() if v is not None}, {}
    data: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key, line in read_allowlist(allowlist):
        value = changes.get(key)
        if value is None:
            raise EnvshimError(
                f"{key} is in the allowlist but envshim does not set it",
                path=allowlist,
                line=line,
                hint="define it in a layer or remove it from the allowlist",
            )
        data[key] = value
        lines[key] = line
    return data, lines


def origin_of(ctx: ExportContext, key: str) -> Origin | None:
    return ctx.options.get("origins", {}).get(key)


def is_committed_default(ctx: ExportContext, key: str) -> bool:
    """A non-secret value from the mise layer (committed config)."""
    origin = origin_of(ctx, key)
    return origin is not None and origin.layer == MISE and key not in ctx.secret


def layer_of(ctx: ExportContext, key: str) -> str:
    origin = origin_of(ctx, key)
    return origin.layer if origin else "unknown"


def refuse(ctx: ExportContext, key: str, message: str, hint: str) -> ConfigError:
    """A refusal of one value: names the key and where it was written, never the value."""
    origin = origin_of(ctx, key)
    return ConfigError(
        f"{key}: {message}",
        path=origin.path if origin else None,
        line=origin.line if origin else None,
        hint=hint,
    )


def write_out(path: str, text: str, *, private: bool) -> None:
    """``--out FILE``: written whole or not at all; 0600 when it holds a secret."""
    from ..atomic import write_atomic

    target = Path(path)
    if target.is_dir():
        raise UsageError("--out names a directory; give a file name", path=path)
    write_atomic(
        target,
        text,
        mode=0o600 if private else 0o644,
        dir_mode=0o700 if private else 0o755,
        lock=False,
    )
