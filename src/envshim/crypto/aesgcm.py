"""sops' value cipher: AES-256-GCM with a 32-byte IV, the key path as AAD.

A value is written ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` (standard
base64); the type says how the plaintext text is read back (str, int, float,
bool, bytes, comment). ``cryptography`` is imported only when a value is
actually encrypted or decrypted.
"""

from __future__ import annotations

import binascii
import os

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

PREFIX = "ENC[AES256_GCM,"
_DATA = PREFIX + "data:"
_IV_SIZE = 32  # sops uses a 256-bit GCM nonce
TYPES = frozenset({"str", "int", "int64", "float", "bool", "bytes", "time", "comment"})


class CipherError(Exception):
    """A value could not be parsed or authenticated. Never carries plaintext."""


def is_encrypted(text: object) -> bool:
    return isinstance(text, str) and text.startswith(PREFIX)


def cipher(key: bytes) -> Any:
    """An AES-GCM object for ``key``: build it once per file, pass it instead of the key."""
    return _aesgcm_class()(key)


def _aesgcm_class() -> Any:
    """``cryptography``'s AESGCM. The public module imports the whole ``ciphers`` package
    (about 20 ms on every cd with a secret file); the class it re-exports lives in the
    Rust bindings, so take it from there when this version has it there."""
    try:
        from cryptography.hazmat.bindings._rust import openssl

        return openssl.aead.AESGCM
    except (ImportError, AttributeError):  # another layout: the public name always works
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM


def _aesgcm(key: Any) -> Any:
    return cipher(key) if isinstance(key, bytes) else key


def _fields(text: str) -> tuple[str, str, str, str] | None:
    """``(data, iv, tag, type)`` of ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]``.

    Split by hand, not with sops' regex (``(.+)`` four times): Python's regex
    engine backtracks, and a crafted value with many commas would take
    polynomial time. Real values are base64 (no commas), where both agree.
    """
    if not text.startswith(_DATA):
        return None
    end = text.rfind("]")
    parts = text[len(_DATA) : end].split(",") if end > 0 else []
    if len(parts) != 4 or not all(parts):
        return None
    data, iv, tag, kind = parts
    if not (iv.startswith("iv:") and tag.startswith("tag:") and kind.startswith("type:")):
        return None
    return data, iv[3:], tag[4:], kind[5:]


def decrypt(text: str, key: bytes | Any, aad: str) -> tuple[str, bytes]:
    """``(type, plaintext bytes)`` of one ``ENC[…]`` value."""
    fields = _fields(text)
    if fields is None or not all(fields):
        raise CipherError("value is not in sops' ENC[AES256_GCM,…] format")
    try:
        data, iv, tag = (binascii.a2b_base64(f, strict_mode=True) for f in fields[:3])
    except (binascii.Error, ValueError):
        raise CipherError("value has damaged base64") from None
    kind = fields[3]
    if kind not in TYPES:
        raise CipherError("its type tag is not one sops writes")
    if len(iv) < 8 or len(tag) != 16:
        raise CipherError("value has a damaged IV or tag")
    from cryptography.exceptions import InvalidTag

    try:
        plain = _aesgcm(key).decrypt(iv, data + tag, aad.encode("utf-8"))
    except InvalidTag:
        raise CipherError(
            "authentication failed (wrong data key, or the value or its key path was changed)"
        ) from None
    return kind, plain


def encrypt(plain: bytes, kind: str, key: bytes | Any, aad: str, iv: bytes | None = None) -> str:
    """One ``ENC[…]`` value; a given ``iv`` (from the stash) reproduces an unchanged value exactly."""
    iv = iv if iv is not None else os.urandom(_IV_SIZE)
    out = _aesgcm(key).encrypt(iv, plain, aad.encode("utf-8"))

    def b64(raw: bytes) -> bytes:
        return binascii.b2a_base64(raw, newline=False)

    return (
        f"ENC[AES256_GCM,data:{b64(out[:-16]).decode()},iv:{b64(iv).decode()},"
        f"tag:{b64(out[-16:]).decode()},type:{kind}]"
    )


def iv_of(text: str) -> bytes | None:
    fields = _fields(text)
    if fields is None:
        return None
    try:
        return binascii.a2b_base64(fields[1])
    except (binascii.Error, ValueError):
        return None
