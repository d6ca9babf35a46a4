"""The mise layer: every mise config that applies to the directory, evaluated as mise does.

Files come from :mod:`.mise_discovery` (lowest first, after the early settings of
:mod:`.mise_settings`: ``.miserc.toml``, ``MISE_ENV``, ``auto_env`` …), each is
read by :mod:`.mise_config`, and evaluated by :mod:`.mise_eval` (``[vars]`` by
:mod:`.mise_vars` first, then every ``[env]`` entry in written order; ``_.file``
and ``_.path`` at the place of the first ``_.`` key of a table, as TOML orders
them). Values follow :mod:`.mise_template`; ``_.file`` follows :mod:`.mise_files`
(dotenv as :mod:`.mise_dotenv`, sops as :mod:`.mise_sops`). ``no_env`` /
``MISE_NO_ENV`` loads nothing.

Anything that would run code (``exec()``, ``_.source``, ``_.python.venv``, other
Tera) is never run by envshim: with ``mise`` on ``PATH`` the whole mise layer is
taken from ``mise env --json`` (mise evaluates its chain as one), otherwise it is
an error naming the file, the line and the construct.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ConfigError
from ..layers.base import LayerContext
from ..merge import Merger
from ..model import MISE, Origin
from ..parsecache import ParseCache
from .mise_config import CACHE_NAMESPACE, MiseConfig, config_root, read_config
from .mise_directives import DIRECTIVE_KEYS, Blocked, Where, directive_items
from .mise_discovery import discover, global_root
from .mise_eval import Evaluator
from .mise_settings import early_settings, late_settings
from .mise_template import check_template, needs_template

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

_DIRECTIVES = ("file", "path", "envshim")


def apply_mise(
    ctx: LayerContext,
    merger: Merger,
    enter_secrets: Callable[[Mapping[str, Any] | None], None],
) -> None:
    """Apply every `[env]` entry in mise's order; call ``enter_secrets`` where `_.envshim` stands."""
    configs = load_configs(ctx)
    settings = late_settings(configs, ctx.environ, str(ctx.cwd))
    if settings.no_env or not (configs or settings.env_file):
        return
    if settings.safe:  # mise drops every entry of a project config in safe mode
        configs = [c for c in configs if c.is_global]
    # Without `_.envshim` nothing irreversible happens during evaluation, so an
    # unsupported construct found on the way restarts cleanly in mise; with it,
    # look for one first (the team and user layers cannot be un-applied).
    blocked = first_unsupported(configs) if _has_directive(configs, "envshim") else None
    if blocked is not None:
        _delegate(ctx, merger, configs, blocked)
        return
    evaluator = Evaluator(ctx, merger, enter_secrets, settings)
    snapshot = (dict(merger.vars), list(merger.path_entries), len(ctx.warnings))
    try:
        evaluator.run(configs)
    except Blocked as exc:
        if evaluator.entered:  # secrets are applied already: no clean restart
            raise _unsupported_error(exc.where, mise=False) from None
        merger.vars, merger.path_entries = snapshot[0], snapshot[1]
        del ctx.warnings[snapshot[2] :]
        _delegate(ctx, merger, configs, exc.where)
        return
    # Required variables may come from the team or user layers: apply them first
    # (resolve() calls enter_secrets again afterwards, which is then a no-op).
    enter_secrets(None)
    evaluator.check_required()


def _has_directive(configs: list[MiseConfig], name: str) -> bool:
    return any(
        isinstance(t.data.get(k), dict) and name in t.data[k]
        for c in configs
        for t in c.tables
        for k in DIRECTIVE_KEYS
    )


def load_configs(ctx: LayerContext) -> list[MiseConfig]:
    """Read every config that applies to ``ctx.cwd``, recording files and watched paths."""
    watch: list[str] = []
    cwd = str(ctx.cwd)
    early = early_settings(
        cwd, ctx.environ, list(ctx.profiles), ctx.read_bytes, watch, str(ctx.root)
    )
    found = discover(cwd, early, ctx.environ, watch)
    ctx.watch.extend(Path(w) for w in watch)
    if not found:
        return []
    home = global_root(ctx.environ)
    cache = ParseCache.for_environ(ctx.environ, CACHE_NAMESPACE)
    configs = []
    for item in found:
        path = Path(item.path)
        data = ctx.read_bytes(path)  # through the trust gate: the bytes it hashed
        config = read_config(path, config_root(path, home, item.is_global), cache, data)
        config.is_global = item.is_global
        configs.append(config)
    return configs


# --- unsupported constructs ------------------------------------------------------


def first_unsupported(configs: list[MiseConfig]) -> Where | None:
    """The first construct envshim does not evaluate, found without evaluating anything."""
    for config in configs:
        for table in [*config.vars_tables, *config.tables]:
            for key, value in table.data.items():
                if key in DIRECTIVE_KEYS:
                    if not isinstance(value, dict):
                        return Where(config.name, table.line_of(key), f"{key} = …")
                    for name, arg in value.items():
                        line = table.line_of(f"{key}.{name}")
                        if name not in _DIRECTIVES:
                            return Where(config.name, line, f"{key}.{name}")
                        if name in ("file", "path"):
                            try:
                                items = directive_items(name, arg, config.name, line)
                            except ConfigError:
                                continue  # evaluation reports the form
                            for item in items:
                                if needs_template(item.text):
                                    bad = check_template(item.text)
                                    if bad:
                                        return Where(config.name, line, bad)
                    continue
                for text in _strings_of(value):
                    if needs_template(text):
                        bad = check_template(text)
                        if bad:
                            return Where(config.name, table.line_of(key), bad)
    return None


def _strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in ("value", "default") and isinstance(v, str)]
    return []


def _unsupported_error(where: Where, *, mise: bool) -> ConfigError:
    hint = (
        "install mise (envshim then takes the mise layer from `mise env --json`) or remove it"
        if not mise
        else "envshim never runs code from a config"
    )
    return ConfigError(
        f"{where.construct} is not supported by envshim",
        path=where.path,
        line=where.line,
        hint=hint,
    )


def _delegate(ctx: LayerContext, merger: Merger, configs: list[MiseConfig], where: Where) -> None:
    """Take the whole mise layer from ``mise env --json``, with provenance from the files."""
    from .mise_delegate import find_mise, mise_env_json

    exe = find_mise(ctx.environ)
    if exe is None:
        raise _unsupported_error(where, mise=False)
    out = mise_env_json(exe, ctx, where.path, where.line, where.construct)
    detail = f"evaluated by `mise env --json` ({where.construct})"
    fallback = Origin(MISE, where.path, where.line, detail)
    written: dict[str, tuple[Origin, Any]] = {}
    for config in configs:
        for table in config.tables:
            for key, value in table.data.items():
                if key not in DIRECTIVE_KEYS:
                    written[key] = (
                        Origin(MISE, config.name, table.line_of(key), detail),
                        value,
                    )
    for key, value in out.items():
        origin, raw = written.get(key, (fallback, None))
        if key == "PATH":
            _delegated_path(ctx, merger, value, origin)
            continue
        secret = isinstance(raw, dict) and ("age" in raw or raw.get("redact") is True)
        plain = raw if isinstance(raw, str) else str(raw) if type(raw) is int else None
        if plain is None or plain != value or "$" in plain or "{" in plain:
            # mise computed it (it may have read anything): no committed default
            origin = Origin(origin.layer, origin.path, origin.line, origin.detail, ("$",))
        merger.set(key, value, origin, secret=secret)
    for key, (origin, raw) in written.items():
        unset = raw is False or (isinstance(raw, dict) and raw.get("value") is False)
        if unset and key not in out:
            merger.unset(key, origin)


def _delegated_path(ctx: LayerContext, merger: Merger, value: str, origin: Origin) -> None:
    import os

    base = ctx.environ.get("PATH", "")
    if value == base:
        return
    if base and value.endswith(os.pathsep + base):
        merger.prepend_path(value[: -len(base) - 1].split(os.pathsep), origin)
    else:
        merger.set("PATH", value, origin)
