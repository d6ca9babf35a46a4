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
    ctx.read(store.values_path)  # a secret file: status lists it, trust leaves it out
    try:
        values = store.read(ctx.warnings)
    except NoKeyError as exc:
        if ctx.missing_key == "error":
            raise
        if ctx.missing_key == "warn":
            ctx.warnings.append(f"{exc} (user layer skipped)")
        return []
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
    values = compat.load(ctx.warnings)
    ctx.warnings.append(
        f"user values read from the {compat.kind} store {compat.path} (plaintext); "
        "`envshim user import` moves them into an encrypted envshim store"
    )
    origin = Origin(USER, str(compat.path), None, detail=f"user store {store_id}, {compat.kind}")
    return [Entry(key, value, origin, secret=True) for key, value in sorted(values.items())]
