"""dotenvx files: a dotenv whose values may be ``encrypted:<base64>``.

Read only, so a dotenvx team can move to envshim without re-encrypting on day
one. The construction is eciesjs' defaults as dotenvx uses them:

* the private key is 32 bytes of hex (``DOTENV_PRIVATE_KEY[_NAME]``), a
  secp256k1 scalar; the file names its public key in ``DOTENV_PUBLIC_KEY[_NAME]``
  (33 bytes compressed, hex);
* a value is ``ephemeral public key (65 bytes, uncompressed) || nonce (16) ||
  tag (16) || ciphertext``;
* the AES-256-GCM key is HKDF-SHA256 (no salt, no info, 32 bytes) of
  ``ephemeral public key || shared point``, both uncompressed (65 bytes each).

Private keys come from ``ctx.environ`` (every ``DOTENV_PRIVATE_KEY*``, each
possibly a comma list, as dotenvx reads them) and from ``.env.keys`` next to the
file; the one whose public key the file names is used. Every value must be
``encrypted:`` (dotenvx encrypts them all, empty ones too): a plaintext value in
a secret file is an error naming its line, since anyone could have added it.
Nothing is expanded or run (dotenvx would expand ``${VAR}`` and run ``$(command)``).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from .._record import dataclass  # dataclasses without inspect: the export path
from ..errors import ConfigError, DecryptError
from .age import NoMatchingKey

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from ..layers.base import LayerContext

PREFIX = "encrypted:"
PUBLIC = "DOTENV_PUBLIC_KEY"
PRIVATE = "DOTENV_PRIVATE_KEY"
KEYS_FILE = ".env.keys"

# secp256k1: y² = x³ + 7 over F_p
_P = 2**256 - 2**32 - 977
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_EPHEMERAL = 65
_NONCE = 16
_TAG = 16


def looks_like_dotenvx(text: str) -> bool:
    """A dotenv file with at least one ``encrypted:`` *value* (quoted or not).

    Comments do not count: a comment that mentions ``DOTENV_PUBLIC_KEY`` and
    ``encrypted:`` does not make plain lines pass as dotenvx. Nor does the
    public key line: dotenvx itself decrypts files without one.
    """
    if PREFIX not in text:
        return False
    for line in text.split("\n"):
        line = line.lstrip(" \t\ufeff")
        if not line or line[0] == "#":
            continue
        _name, sep, value = line.partition("=")
        if sep and _encrypted(value.strip(" \t")):
            return True
    return False


def _encrypted(value: str) -> bool:
    if value[:1] in ("'", '"', "`"):
        value = value[1:]
    return value.startswith(PREFIX)


def _ciphertext(value: str, quote: str) -> str:
    """An ``encrypted:`` value as dotenvx reads it: a backtick pair is a quote, and an
    unquoted value ends at ``#`` (base64 never holds one)."""
    if not quote and len(value) > 1 and value[0] == value[-1] == "`":
        value = value[1:-1]
    if not quote:
        value = value.split("#", 1)[0].rstrip(" \t")
    return value


@dataclass(frozen=True)
class PrivateKey:
    name: str  # DOTENV_PRIVATE_KEY_PRODUCTION, or ".env.keys: DOTENV_PRIVATE_KEY…"
    scalar: int
    public_hex: str  # compressed, as DOTENV_PUBLIC_KEY holds it
    key: Any  # cryptography's EllipticCurvePrivateKey


def _private(name: str, text: str) -> PrivateKey | None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    text = text.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return None
    scalar = int(text, 16)
    if not 0 < scalar < _N:
        return None
    key = ec.derive_private_key(scalar, ec.SECP256K1())
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return PrivateKey(name, scalar, public.hex(), key)


def _shared_points(key: PrivateKey, ephemeral: bytes) -> list[bytes]:
    """The two uncompressed points with the x of ``scalar · E``.

    OpenSSL's ECDH gives only x; eciesjs hashes the whole point. The AES-GCM
    tag tells which of the two y is right (a wrong one fails like a wrong key).
    """
    from cryptography.hazmat.primitives.asymmetric import ec

    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), ephemeral)
    x = int.from_bytes(key.key.exchange(ec.ECDH(), peer), "big")
    y = pow((x * x * x + 7) % _P, (_P + 1) // 4, _P)
    xb = x.to_bytes(32, "big")
    return [b"\x04" + xb + y.to_bytes(32, "big"), b"\x04" + xb + (_P - y).to_bytes(32, "big")]


def decrypt_value(blob: bytes, key: PrivateKey) -> bytes:
    """Open one eciesjs ciphertext; raises ``cryptography``'s InvalidTag on a wrong key or damage."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if len(blob) < _EPHEMERAL + _NONCE + _TAG:
        raise ValueError("too short")
    ephemeral = blob[:_EPHEMERAL]
    nonce = blob[_EPHEMERAL : _EPHEMERAL + _NONCE]
    tag = blob[_EPHEMERAL + _NONCE : _EPHEMERAL + _NONCE + _TAG]
    body = blob[_EPHEMERAL + _NONCE + _TAG :]
    for shared in _shared_points(key, ephemeral):
        aes_key = HKDF(hashes.SHA256(), 32, salt=None, info=None).derive(ephemeral + shared)
        try:
            return AESGCM(aes_key).decrypt(nonce, body + tag, None)
        except InvalidTag:
            continue
    raise InvalidTag


def _gather_keys(
    path: Path, ctx: LayerContext
) -> tuple[list[PrivateKey], list[tuple[str, Path | None]]]:
    """Every private key on offer (the environment, then ``.env.keys`` beside the file).

    Also the names (never the values) of keys that are not 64 hex digits.
    """
    from .dotenv import parse

    found: list[tuple[str, str]] = []
    for var, value in ctx.environ.items():
        if var.startswith(PRIVATE):
            found += [(var, part) for part in value.split(",")]
    keys_file = path.parent / KEYS_FILE
    ctx.watch.append(keys_file)
    if keys_file.is_file():
        ctx.read(keys_file)
        from ..safeio import read_regular

        try:
            text = read_regular(keys_file).decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", path=keys_file) from None
        bindings = parse(text, str(keys_file))  # its messages never quote the text
        for b in bindings:
            if b.key.startswith(PRIVATE):
                found += [(f"{KEYS_FILE}: {b.key}", part) for part in b.value.split(",")]
    out: list[PrivateKey] = []
    bad: list[tuple[str, Path | None]] = []
    seen: set[int] = set()
    for name, text in found:
        if not text.strip():
            continue
        key = _private(name, text)
        if key is None:
            bad.append((name.split(": ")[-1], keys_file if name.startswith(KEYS_FILE) else None))
        elif key.scalar not in seen:
            seen.add(key.scalar)
            out.append(key)
    return out, bad


def read_file(path: Path, ctx: LayerContext) -> list[tuple[str, str, int]]:
    """``(key, value, line)`` for every binding of a dotenvx file, ``encrypted:`` values opened.

    ``DOTENV_PUBLIC_KEY*`` lines are metadata and are left out.
    """
    from ..safeio import read_regular
    from .dotenv import Binding, parse, shown_key

    try:
        text = read_regular(path).decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError("not UTF-8 text", path=path) from None
    bindings = []
    for b in parse(text, str(path)):
        if b.key.startswith(PUBLIC):
            bindings.append(b)
            continue
        value = _ciphertext(b.value, b.quote)
        if not value.startswith(PREFIX):
            # dotenvx encrypts every value (empty ones too): a plain one was added by hand
            raise DecryptError(
                f"the value of {shown_key(b.key, b.line)} is not encrypted",
                path=path,
                line=b.line,
                hint="encrypt it with `dotenvx encrypt` (or move the file to sops with "
                "`envshim init --from-dotenvx`); a secret file holds no plaintext",
            )
        bindings.append(Binding(b.key, value, b.line, b.quote))
    publics = {b.key: b.value.strip().lower() for b in bindings if b.key.startswith(PUBLIC)}
    encrypted = [b for b in bindings if b.value.startswith(PREFIX)]
    keys, bad = _gather_keys(path, ctx) if encrypted else ([], [])
    matching = [k for k in keys if k.public_hex in publics.values()]
    if encrypted and publics:  # dotenvx's OS secret store, for a public key none above opens
        from .dotenvx_keystore import stored_keys

        matching += stored_keys(publics.values(), keys, ctx.environ)
    # a file without a public key line: every key is worth a try, as dotenvx does
    candidates = matching or ([] if publics else keys)
    wanted = " or ".join(sorted(n.replace(PUBLIC, PRIVATE) for n in publics)) or PRIVATE
    if encrypted and not candidates and bad:
        # a mangled key is the user's to fix, whatever --missing-key says
        name, where = bad[0]
        raise DecryptError(
            f"{name} is not a 64-digit hex private key, so {path.name} cannot be decrypted",
            path=where or path,
            hint="copy it again from the machine that ran `dotenvx encrypt`",
        )
    if encrypted and not candidates:
        have = (
            "no DOTENV_PRIVATE_KEY*"
            if not keys
            else (
                "private keys " + ", ".join(k.name for k in keys) + " (none matches its public key)"
            )
        )
        raise NoMatchingKey(
            f"you have {have} for {path.name}",
            path=path,
            hint=f"set {wanted} (from the machine that ran `dotenvx encrypt`) "
            f"or put {KEYS_FILE} next to the file",
        )
    out: list[tuple[str, str, int]] = []
    for b in bindings:
        if b.key.startswith(PUBLIC):
            continue
        out.append((b.key, _open(b.key, b.value, b.line, path, candidates), b.line))
    return out


def _open(key: str, value: str, line: int, path: Path, candidates: list[PrivateKey]) -> str:
    from cryptography.exceptions import InvalidTag

    from .dotenv import shown_key

    key = shown_key(key, line)

    try:
        blob = base64.b64decode(value[len(PREFIX) :].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError(
            f"the encrypted value of {key} is not base64",
            path=path,
            line=line,
            hint="restore the file from git",
        ) from None
    for candidate in candidates:
        try:
            plain = decrypt_value(blob, candidate)
        except InvalidTag:
            continue
        except ValueError:
            break
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError(
                f"the decrypted value of {key} is not UTF-8", path=path, line=line
            ) from None
    raise DecryptError(
        f"cannot decrypt {key}: the value is damaged or was encrypted to another key",
        path=path,
        line=line,
        hint="restore the file from git, or check that the private key matches its public key",
    )
