"""sops-encrypted TOML, as mise reads it with rops: sops' tree and MAC in a TOML file.

sops has no TOML store. rops (which mise uses) writes the data as TOML with every
leaf ``ENC[AES256_GCM,…]`` exactly as sops does for JSON (the same AAD path, the
same MAC over the values in document order) and the metadata as a ``[sops]``
table (``lastmodified``, ``mac``, ``[[sops.age]]`` with ``recipient``/``enc`` …,
the names sops uses). So the file is read with tomllib and decrypted with
envshim's own sops tree (:mod:`envshim.formats.sops_tree`), MAC checked.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

    from ..keys import Identity


def decrypt_toml(path: Path, identities: list[Identity]) -> dict[str, Any]:
    """The decrypted top-level table (without ``sops``); raises DecryptError/NoMatchingKey."""
    from ..formats.sops import recover_data_key
    from ..formats.sops_tree import check_mac, decrypt_branches, parse_metadata
    from ..safeio import read_regular
    from ..tomlread import decode_utf8, load_toml

    data = load_toml(path, decode_utf8(path, read_regular(path)))
    md = parse_metadata(data.get("sops"), str(path))
    key = recover_data_key(md, identities, path)
    computed, _leaves = decrypt_branches([data], md, key, str(path), skip_top="sops")
    check_mac(md, key, computed, str(path))
    data.pop("sops", None)
    for name, value in data.items():
        if hasattr(value, "isoformat"):
            raise ConfigError(
                f"{name} is a TOML date, which mise cannot put in a variable", path=path
            )
    return data
