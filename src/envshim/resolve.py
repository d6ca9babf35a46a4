"""The pipeline: project → mise layer (with team and user entering at `_.envshim`) → merge."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import ConfigError, UsageError
from .layers.base import Entry, LayerContext
from .merge import Merger, Resolution
from .model import Origin
from .project import find_project

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

MISSING_KEY_MODES = ("error", "warn", "skip")


def resolve(
    path: str | os.PathLike[str] = ".",
    env: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    from_mise: bool = False,
    missing_key: str | None = None,
    table_options: Mapping[str, Any] | None = None,
    gate: Any = None,
    withhold: str | None = None,
) -> Resolution:
    """Resolve the merged environment for the directory ``path``.

    ``env`` selects profiles (a comma list, as ``--env``); ``environ`` is the
    base environment (``os.environ`` by default, never modified here).
    ``from_mise`` leaves the mise layer out (the mise plugin: mise applied it);
    ``table_options`` is then the `_.envshim` table mise handed to the plugin.
    ``gate`` (a :class:`envshim.trust.Gate`, given by ``trust.load_allowed``) makes every
    file read go through the allow record; without it nothing is checked (``export``,
    ``run`` and ``load()`` are commands the user typed). ``withhold="shell"`` (the hook,
    direnv, the plugin): leave out exec-only values, and secrets in an agent's shell;
    ``withhold="exec-only"`` (``export``): exec-only values only (exposure.py). What was
    left out is in ``Resolution.withheld``.
    """
    environ = dict(os.environ if environ is None else environ)
    read = gate.config if gate is not None else None
    project = find_project(path, env, environ, cache=True, read=read)
    # the command line, then the environment (CI sets it), then the committed option
    mode = (
        missing_key
        or environ.get("ENVSHIM_MISSING_KEY")
        or project.options.get("missing_key")
        or "error"
    )
    if mode not in MISSING_KEY_MODES:
        raise UsageError(
            f"--missing-key must be one of {', '.join(MISSING_KEY_MODES)}, not {mode!r}"
        )
    ctx = LayerContext(
        cwd=project.cwd,
        root=project.root,
        profiles=project.profiles,
        environ=environ,
        options=dict(project.options),
        missing_key=mode,
        from_mise=from_mise,
        gate=gate,
    )
    if project.options_path:
        ctx.read(project.options_path)
        if gate is None:
            from .trust.record import digest

            ctx.digests[str(project.options_path)] = digest(project.options_raw or b"")
    if table_options:  # the `_.envshim` table wins key by key, as enter_secrets does
        ctx.options.update(table_options)
    merger = Merger(environ)
    entered = False
    secret_files: list[Any] = []
    withheld: dict[str, str] = {}
    exposure = None
    if withhold:
        from .exposure import Exposure

        exposure = Exposure.for_load(
            project.root, ctx.options, environ, project.options_path, agents=withhold == "shell"
        )

    def enter_secrets(table_options: Mapping[str, Any] | None = None) -> None:
        """Apply the team and user layers here; the `_.envshim` table wins key by key."""
        nonlocal entered
        if entered:
            return
        entered = True
        if table_options:
            ctx.options.update(table_options)
        from .layers.team import load_team
        from .layers.user import load_user

        start = len(ctx.files)
        entries = [*load_team(ctx), *load_user(ctx)]
        secret_files.extend(p for p in ctx.files[start:] if str(p) in ctx.sources)
        _check_guarded(entries, ctx)
        for entry in entries:
            reason = exposure and exposure.withheld(
                entry.key, entry.origin.layer, entry.origin.path, entry.secret
            )
            if reason:
                withheld[entry.key] = reason  # never applied: later templates cannot see it
                continue
            _apply(merger, entry)

    if not from_mise:
        from .layers.mise import apply_mise

        apply_mise(ctx, merger, enter_secrets)
    elif gate is not None:
        # mise evaluated its configs (and handed us their `_.envshim` table): each one
        # must still be a file the user allowed, byte for byte.
        from .layers.mise import load_configs

        load_configs(ctx)
    enter_secrets()
    variables = merger.finish()
    _skip_unholdable(variables, ctx.warnings)
    if exposure is not None:
        for key, var in list(variables.items()):  # the mise layer's own secrets (age values)
            reason = exposure.withheld(key, var.origin.layer, var.origin.path, var.secret)
            if reason:
                withheld[key] = reason
                del variables[key]
        notice = exposure.notice()
        if notice:
            ctx.warnings.append(notice)
    resolution = Resolution(
        root=project.root,
        profile=project.profiles,
        vars=variables,
        files=_unique(ctx.files),
        watch=_unique(ctx.watch),
        warnings=ctx.warnings,
        secret_files=_unique(secret_files),
        sources=ctx.sources,
        digests=ctx.digests,
        withheld=withheld,
    )
    if ctx.options.get("required") is not None:
        from .required import check_required

        def lookup(key: str) -> str | None:  # a withheld value is there, just not here
            return "" if key in withheld else merger.lookup(key)

        check_required(lookup, ctx.options, project.options_path)
    return resolution


def _skip_unholdable(variables: dict[str, Any], warnings: list[str]) -> None:
    """One policy for every format: a name no shell can hold (``prometheus-node-exporter``
    in a sops file shared with Kubernetes, ``KEY.Value`` in a dotenv file) is left out
    with a warning naming its file and line; every other name still loads."""
    from .shells.base import is_valid_name
    from .trust import printable

    for key in [k for k in variables if not is_valid_name(k)]:
        origin = variables.pop(key).origin
        where = origin.path or origin.layer
        if origin.path and origin.line is not None:
            where = f"{origin.path}:{origin.line}"
        shown = printable(key if len(key) <= 40 else key[:40] + "…")
        warnings.append(f"{printable(where)}: skipped {shown!r}: no shell can hold that name")


def _check_guarded(entries: list[Entry], ctx: LayerContext) -> None:
    """A name that takes over a shell or a tool never comes from a secret file or the user
    store unless the committed ``allow_guarded`` option names it (trust/guarded.py)."""
    from .trust.guarded import OPTION, allowed_by_config, is_guarded

    allowed: frozenset[str] | None = None
    for entry in entries:
        if not is_guarded(entry.key):
            continue
        if allowed is None:
            allowed = allowed_by_config(ctx.options)
        if entry.key in allowed:
            continue
        raise ConfigError(
            f"{entry.key} may be set only by committed config, not by a secret file "
            "or the user store (it decides which code runs)",
            path=entry.origin.path,
            line=entry.origin.line,
            hint=f'remove it, or name it in envshim.toml: {OPTION} = ["{entry.key}"]',
        )


def _apply(merger: Merger, entry: Entry) -> None:
    merger.set(entry.key, entry.value, entry.origin, secret=entry.secret)


def _unique(paths: list[Any]) -> list[Any]:
    return list(dict.fromkeys(paths))


__all__ = ["Origin", "resolve"]
