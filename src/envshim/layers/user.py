"""The user layer: the developer's own values from the per-user store (issue 4).

Literal values, above the team layer, each with the provenance "user store <id>".
Nothing here creates a file or directory: a project with no store loads nothing.
"""

from __future__ import annotations

from pathlib import Path

from ..model import USER, Origin
from .base import Entry, LayerContext


def load_user(ctx: LayerContext) -> list[Entry]:
    """Entries from this project's user store (or, until it is imported, another tool's)."""
    from ..userlink import find_link  # the store module only when a store is named

    link = find_link(ctx.root, ctx.options, options_path=_options_path(ctx), watch=ctx.watch)
    if link is None:
        return []
    if link.path is not None and link.kind != "option":
        # a file that links a store (.env, *.csproj) is covered by trust byte for byte
        _check_link_file(ctx, link.path)
    from ..userstore import NoKeyError, Store, foreign_store_message

    store = Store(link.id, ctx.environ)
    ctx.watch.extend(store.watch_paths())
    if not store.exists():
        return _load_compat(ctx, link.id)
    if not store.belongs_to(ctx.root):
        ctx.warnings.append(foreign_store_message(store, ctx.root))
        return []
    if not store.plaintext:
        from ..formats.age import identities_for

        # shared with the team layer: loaded once per resolution, identity files watched
        store.use_identities(identities_for(ctx))
    ctx.open_source(store.values_path)  # a secret source: trust records its names
    try:
        values = store.read(ctx.warnings)
    except NoKeyError as exc:
        ctx.set_names(store.values_path, None)
        if ctx.missing_key == "error":
            raise
        if ctx.missing_key == "warn":
            ctx.warnings.append(f"{exc} (user layer skipped)")
        return []
    ctx.set_names(store.values_path, list(values))
    origin = Origin(USER, str(store.values_path), None, detail=f"user store {store.id}")
    return [Entry(key, value, origin, secret=True) for key, value in sorted(values.items())]


def _options_path(ctx: LayerContext) -> Path | None:
    from ..project import OPTIONS_FILE

    path = ctx.root / OPTIONS_FILE
    return path if path.is_file() else None


def _load_compat(ctx: LayerContext, store_id: str) -> list[Entry]:
    from ..compat_stores import find_compat

    compat = find_compat(store_id, ctx.environ, watch=ctx.watch)
    if compat is None:
        return []
    ctx.open_source(compat.path)
    values = compat.load(ctx.warnings)
    ctx.set_names(compat.path, list(values))
    ctx.warnings.append(
        f"user values read from the {compat.kind} store {compat.path} (plaintext); "
        "`envshim user import` moves them into an encrypted envshim store"
    )
    origin = Origin(USER, str(compat.path), None, detail=f"user store {store_id}, {compat.kind}")
    return [Entry(key, value, origin, secret=True) for key, value in sorted(values.items())]


def _check_link_file(ctx: LayerContext, path: Path) -> None:
    """Record the link file as read (its bytes hashed by ``allow``); under the trust gate
    it must be the very file that was allowed, so a ``.env`` or ``App.csproj`` added or
    edited since cannot point this project at another project's store."""
    from ..safeio import read_regular

    seen = read_regular(path)
    if ctx.read_bytes(path) != seen and ctx.gate is not None:  # changed between the reads
        raise ctx.gate.refuse(f"{path.name} changed while it was read")
