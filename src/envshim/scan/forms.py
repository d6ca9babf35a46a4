"""The literal forms a secret value takes when it leaks.

Each form is the exact bytes a common encoder writes for the value: the value
itself (UTF-8), hex in both cases, UTF-16 in both byte orders, and base64,
base64url and base32 at every byte alignment (so the value is found inside a
larger encoded blob too). Forms that mix escaped and plain characters (JSON
``\\u`` escapes, URL ``%XX`` in either case, ``\\xNN``) cannot be listed one by
one; :mod:`.matcher` decodes those escapes where they occur instead.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

MIN_LENGTH = 6  # shorter values match everywhere: skipped, and the report says so
LINE_BREAKS = b"\r\n"  # removed before matching, so wrapped base64 (76 columns, CRLF) is found


def _aligned(raw: bytes, encode: Callable[[bytes], bytes], group: int, chars: int) -> list[bytes]:
    """The encoded text ``raw`` produces at each byte offset of a larger input.

    An encoder turns ``group`` bytes into ``chars`` characters; only the
    characters made of ``raw``'s bits alone are kept: the first ones share bits
    with whatever came before, the last ones with what follows.
    """
    bits = 8 * group // chars  # bits per character: 6 for base64, 5 for base32
    out = []
    for shift in range(group):
        encoded = encode(b"\0" * shift + raw).rstrip(b"=")
        start = -(-8 * shift // bits)  # ceil: the first character made only of raw's bits
        end = 8 * (shift + len(raw)) // bits  # the last character made only of raw's bits
        if encoded[start:end]:
            out.append(encoded[start:end])
    return out


def b64_aligned(raw: bytes, encode: Callable[[bytes], bytes] = base64.b64encode) -> list[bytes]:
    return _aligned(raw, encode, 3, 4)


def b32_aligned(raw: bytes) -> list[bytes]:
    return _aligned(raw, base64.b32encode, 5, 8)


def forms_of(value: str) -> list[tuple[str, bytes]]:
    """Every (form name, bytes) the value is looked for in as a literal, without duplicates."""
    raw = value.encode("utf-8", "surrogatepass")
    forms: list[tuple[str, bytes]] = [("plain", raw)]
    forms += [("hex", raw.hex().encode()), ("hex", raw.hex().upper().encode())]
    forms += [("base64", p) for p in b64_aligned(raw)]
    forms += [("base64url", p) for p in b64_aligned(raw, base64.urlsafe_b64encode)]
    b32 = b32_aligned(raw)
    forms += [("base32", p) for p in b32] + [("base32", p.lower()) for p in b32]
    # Without the zero bytes at its edges, an ASCII value's UTF-16 is the same in both byte
    # orders (T\0r\0…d): one pattern, one finding, and no second hit one byte off.
    little = value.encode("utf-16-le", "surrogatepass")
    big = value.encode("utf-16-be", "surrogatepass")
    forms += [("utf-16", little.removesuffix(b"\0")), ("utf-16", big.removeprefix(b"\0"))]
    if " " in value:  # form encoding writes a space as '+'; %XX escapes are decoded instead
        forms.append(("url-encoded", raw.replace(b" ", b"+")))
    seen: set[bytes] = set()
    unique = []
    for name, pattern in forms:
        if pattern not in seen:
            seen.add(pattern)
            unique.append((name, pattern))
    return unique
