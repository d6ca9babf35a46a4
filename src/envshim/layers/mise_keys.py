"""mise's own age identities, added to the ones envshim gathers for one resolution.

mise (``agecrypt.rs``) decrypts inline ``{ age = … }`` values with, besides
``~/.config/mise/age.txt`` and the SSH keys envshim already reads:

* ``MISE_AGE_KEY``: its ``AGE-SECRET-KEY-…`` lines (else the whole text read as
  an identity file);
* ``age.identity_files`` and ``age.key_file`` (settings; a relative path is taken
  from the root of the config that sets it, or from the current directory for
  ``MISE_AGE_KEY_FILE``/``MISE_AGE_IDENTITY_FILES``).

A key file readable by group or others is refused, as every key file is in
envshim (mise reads it): the error names the ``chmod`` that fixes it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from .base import LayerContext
    from .mise_settings import Settings


def extra_identities(ctx: LayerContext, settings: Settings) -> None:
    """Add mise's identities to the resolution's pool (duplicates by public key dropped)."""
    from ..formats.age import identities_for
    from ..keys import parse_identities

    found = []
    text = ctx.environ.get("MISE_AGE_KEY", "")
    if text:
        lines = [ln.strip() for ln in text.splitlines()]
        keys = [ln for ln in lines if ln.startswith("AGE-SECRET-KEY-")]
        found.extend(
            parse_identities("\n".join(keys) if keys else text, "$MISE_AGE_KEY", ctx.warnings)
        )
    files = list(settings.age_identity_files)
    if settings.age_key_file:
        files.append(settings.age_key_file)
    for path in files:
        ctx.watch.append(_as_path(path))
        if os.path.isfile(path):
            found.extend(_from_file(path, ctx))
    if not found:
        return
    pool = identities_for(ctx)
    known = {i.recipient for i in pool}
    for ident in found:
        if ident.recipient not in known:
            known.add(ident.recipient)
            pool.append(ident)


def _as_path(path: str):
    from pathlib import Path

    return Path(path)


def _from_file(path: str, ctx: LayerContext) -> list:
    from ..errors import DecryptError
    from ..keys import check_private, parse_identities
    from ..safeio import read_regular

    check_private(_as_path(path))
    data = read_regular(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(
            "identity file is not text", path=path, hint="expected AGE-SECRET-KEY-1… lines"
        ) from None
    return parse_identities(text, path, ctx.warnings)
