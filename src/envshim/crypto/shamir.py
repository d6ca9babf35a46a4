"""Shamir secret sharing over GF(2^8), compatible with sops' key groups.

sops uses HashiCorp Vault's scheme: each share is the polynomial values for
every secret byte followed by one byte, the share's x coordinate (1..255).
Field arithmetic uses the AES polynomial x^8 + x^4 + x^3 + x + 1.
"""

from __future__ import annotations

import os
import secrets


def _mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def _inv(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("no inverse of 0 in GF(256)")
    r, e = 1, 254  # a^254 = a^-1
    while e:
        if e & 1:
            r = _mul(r, a)
        a = _mul(a, a)
        e >>= 1
    return r


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    if not 2 <= threshold <= parts <= 255:
        raise ValueError("need 2 <= threshold <= parts <= 255")
    xs = secrets.SystemRandom().sample(range(1, 256), parts)
    shares = [bytearray() for _ in range(parts)]
    for byte in secret:
        coeffs = [byte, *os.urandom(threshold - 1)]
        for share, x in zip(shares, xs, strict=True):
            y = 0
            for c in reversed(coeffs):  # Horner
                y = _mul(y, x) ^ c
            share.append(y)
    return [bytes(s) + bytes([x]) for s, x in zip(shares, xs, strict=True)]


def combine(shares: list[bytes]) -> bytes:
    if len(shares) < 2:
        raise ValueError("need at least two shares")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise ValueError("shares differ in length")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share")
    out = bytearray()
    for idx in range(length - 1):
        acc = 0
        for i, share in enumerate(shares):
            basis = 1
            for j, xj in enumerate(xs):
                if i != j:
                    basis = _mul(basis, _mul(xj, _inv(xs[i] ^ xj)))
            acc ^= _mul(share[idx], basis)
        out.append(acc)
    return bytes(out)
