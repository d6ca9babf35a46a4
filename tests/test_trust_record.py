"""The trust record's digest (CPython's own SHA-256, not hashlib's OpenSSL) is SHA-256."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from envshim.trust.record import digest


@given(st.binary(max_size=5000))
def test_digest_is_sha256(data: bytes) -> None:
    assert digest(data) == hashlib.sha256(data).hexdigest()
