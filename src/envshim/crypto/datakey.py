"""The sops data key: 32 random bytes, wrapped per age recipient as an armored age file."""

from __future__ import annotations

import os
from collections.abc import Sequence

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


def new_data_key() -> bytes:
    return os.urandom(32)


def unwrap(enc: str, identities: Sequence[Any]) -> bytes | None:
    """The data key from one ``sops.age[].enc`` with any of ``identities``; None if none fits."""
    import pyrage

    if not identities:
        return None
    from .ageheader import dearmor, problem

    data = enc.encode("ascii", "replace")
    if problem(dearmor(data)) is not None:  # before pyrage: its header parser is quadratic
        return None
    try:
        return pyrage.decrypt(data, list(identities))
    except Exception:
        return None


def wrap(data_key: bytes, recipient: Any) -> str:
    """The armored age file holding ``data_key`` for one recipient (as sops stores it)."""
    import pyrage

    out = pyrage.encrypt(data_key, [recipient], armored=True)
    text = out.decode("ascii")
    return text if text.endswith("\n") else text + "\n"
