"""sops' integrity check: SHA-512 over the plaintext values in file order.

Each value is hashed as Go formats it (``True``/``False`` for booleans,
``strconv.FormatFloat(f, 'f', -1, 64)`` for floats); comments and nulls are
left out. The upper-case hex digest is stored encrypted with the data key and
the ``lastmodified`` timestamp as AAD, so changing either is detected.
"""

from __future__ import annotations

import math

try:  # the builtin module: hashlib would load OpenSSL's bindings first (~4 ms)
    from _sha512 import sha512
except ImportError:  # pragma: no cover
    from hashlib import sha512

# sha256(b"sops"): the MAC of a mac_only_encrypted file starts from these bytes
MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
)


def go_float(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    from decimal import Decimal

    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def value_bytes(value: object) -> bytes:
    """A plaintext leaf as sops' ``ToBytes`` writes it into the hash."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return str(int(value)).encode()
    if isinstance(value, float):
        return go_float(float(value)).encode()
    return str(value).encode("utf-8", "surrogatepass")


class Mac:
    def __init__(self, only_encrypted: bool = False) -> None:
        self._h = sha512()
        if only_encrypted:
            self._h.update(MAC_ONLY_ENCRYPTED_INIT)

    def add(self, value: object) -> None:
        self._h.update(value_bytes(value))

    def hexdigest(self) -> str:
        return self._h.hexdigest().upper()
