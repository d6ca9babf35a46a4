"""sops-encrypted ``_.file`` (json, yaml, toml), decrypted natively as mise does it.

mise (``env_directive/file.rs``, ``sops.rs``) treats a json/yaml/toml ``_.file``
with a non-empty top-level ``sops`` table as sops-encrypted: it decrypts it and
reads the plaintext like any file of that format (top-level scalars only). Without
a key, or when decryption fails, ``sops.strict = false`` skips the file; otherwise
it is an error.

envshim decrypts json and yaml with its own sops reader
(:func:`envshim.formats.sops.open_document`), the MAC checked, with every age
identity it knows (a superset of mise's: ``MISE_SOPS_AGE_KEY(_FILE)``,
``SOPS_AGE_KEY(_FILE)``, ``~/.config/mise/age.txt`` and the others). sops
itself has no TOML store; mise writes and reads TOML with rops, whose tree and
MAC are sops' own: :mod:`.mise_sops_toml`. Every value is secret.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DecryptError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..model import Origin
    from .base import LayerContext
    from .mise_config import MiseConfig
    from .mise_settings import Settings


def read_sops_file(
    path: str,
    kind: str,
    ctx: LayerContext,
    settings: Settings,
    config: MiseConfig,
    origin: Origin,
) -> list[tuple[str, str, int | None]]:
    """``(key, value, line)`` of a sops-encrypted ``_.file``; [] when it is skipped."""
    from ..formats.age import NoMatchingKey, identities_for
    from .mise_keys import extra_identities

    ctx.open_source(path)  # the gate: this file, at this real path, was allowed
    extra_identities(ctx, settings)
    identities = identities_for(ctx)
    try:
        if kind == "toml":
            from .mise_sops_toml import decrypt_toml

            table = decrypt_toml(Path(path), identities)
        else:
            from ..formats.sops import open_document

            # the typed tree, not sops' plaintext: rops keeps a `type:float` 5432 a float
            # (mise prints 5432.0) where sops would print the number as written
            doc = open_document(Path(path), identities)
            table = {k: v for k, v in doc.branches[0].items() if k != "sops"}
    except NoMatchingKey as exc:
        ctx.set_names(path, None)
        if not settings.sops_strict:
            return []  # mise: no key and sops.strict = false, the file is skipped
        if ctx.missing_key == "error":
            raise
        if ctx.missing_key == "warn":
            ctx.warnings.append(f"{exc}; {path} left out")
        return []
    except DecryptError as exc:
        ctx.set_names(path, None)
        if settings.sops_strict:
            raise
        ctx.warnings.append(f"{exc}; {path} left out (sops.strict = false)")
        return []
    from .mise_files import from_mapping

    bindings = from_mapping(kind, table, path)
    ctx.set_names(path, [key for key, _v, _l in bindings])
    return bindings
