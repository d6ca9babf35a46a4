"""mise's inline age values: ``K = { age = "…" }`` and ``{ age = { value = "…", format = "zstd" } }``.

What mise (2026.9) writes, read from its source (``src/agecrypt.rs``) and
checked with ``mise set --age-encrypt``: the value is an age file (binary,
X25519 or SSH recipients) in unpadded standard base64. When that ciphertext
is larger than 1 KiB, mise compresses the *ciphertext* with zstd and writes
``format = "zstd"``; small values (the usual case) are ``format = "raw"`` or
the plain string form. Legacy strings ``age64:v1:…`` and ``age64:zstd:v1:…``
carry the format in a prefix.

Python 3.11 has no zstd. Since only ciphertext goes through the decompressor
(never plaintext), envshim uses the ``zstandard`` package when it is installed
and otherwise pipes the ciphertext through the ``zstd`` program; with neither,
the error names the key and both ways out.
"""

from __future__ import annotations

import base64
import binascii
import shutil
import subprocess
from pathlib import Path

from ..errors import DecryptError
from .age import NoMatchingKey, decrypt_bytes, identities_for

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd

if TYPE_CHECKING:
    from ..layers.base import LayerContext

_LEGACY = (("age64:zstd:v1:", "zstd"), ("age64:v1:", "raw"))


def decrypt_inline(
    value: str,
    fmt: str | None,
    ctx: LayerContext,
    *,
    key: str | None = None,
    path: str | Path | None = None,
    line: int | None = None,
) -> str:
    """The plaintext of one inline age value, decrypted in memory.

    ``key``/``path``/``line`` only make errors precise. Raises
    :class:`DecryptError`, or :class:`NoMatchingKey` (a subclass) when none of
    the user's identities is a recipient: with ``ctx.missing_key`` ``warn`` a
    warning is added to ``ctx.warnings`` first, and the caller leaves the key
    out (so a value injected by CI stays); with ``error`` it is the error.
    """
    where = path if path is not None else "mise.toml"
    name = key or "an inline age value"
    for prefix, legacy_fmt in _LEGACY:
        if value.startswith(prefix):
            value, fmt = value[len(prefix) :], legacy_fmt
            break
    fmt = (fmt or "raw").lower()
    if fmt not in ("raw", "zstd"):
        raise DecryptError(
            f"{name}: unknown age format {fmt!r}",
            path=where,
            line=line,
            hint='mise writes format = "raw" or "zstd"',
        )
    try:
        data = base64.b64decode(_pad(value.strip()), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError(
            f"{name}: the age value is not base64",
            path=where,
            line=line,
            hint="restore the line from git or set it again with `mise set --age-encrypt`",
        ) from None
    if fmt == "zstd":
        data = _unzstd(data, name, where, line, ctx)
    try:
        plain = decrypt_bytes(data, identities_for(ctx), where, what=name)
    except NoMatchingKey as exc:
        exc.line = line
        if ctx.missing_key == "warn":
            ctx.warnings.append(f"{exc}; {name} left out")
        raise
    except DecryptError as exc:
        exc.line = line
        raise
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(
            f"{name}: the decrypted value is not UTF-8 text", path=where, line=line
        ) from None


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _unzstd(
    data: bytes, name: str, where: str | Path, line: int | None, ctx: LayerContext
) -> bytes:
    """Decompress zstd-framed *ciphertext*: the ``zstandard`` module, else the ``zstd`` program."""
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        zstandard = None
    from ..safeio import file_limit

    limit = file_limit(ctx.environ)  # a small zstd frame can expand without end
    if zstandard is not None:
        try:
            with zstandard.ZstdDecompressor().stream_reader(data) as reader:
                out = reader.read(limit + 1)
        except zstandard.ZstdError as exc:
            raise DecryptError(
                f"{name}: the zstd data is damaged ({exc})",
                path=where,
                line=line,
                hint="restore the line from git",
            ) from None
        return _bounded(out, limit, name, where, line)
    program = shutil.which("zstd", path=ctx.environ.get("PATH"))
    if program is None:
        raise DecryptError(
            f'{name} is zstd-compressed (format = "zstd") and neither the zstd program '
            "nor the Python package zstandard is installed",
            path=where,
            line=line,
            hint="install zstd (`apt install zstd`, `brew install zstd`) or "
            "`pip install zstandard`, or let mise decrypt it (`mise env`)",
        )
    try:
        out, code = _run_bounded([program, "-d", "-c", "-q"], data, limit)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DecryptError(
            f"{name}: zstd could not run ({type(exc).__name__})", path=where, line=line
        ) from None
    if code != 0 and len(out) <= limit:
        raise DecryptError(
            f"{name}: the zstd data is damaged (zstd exit {code})",
            path=where,
            line=line,
            hint="restore the line from git",
        )
    return _bounded(out, limit, name, where, line)


def _bounded(out: bytes, limit: int, name: str, where: str | Path, line: int | None) -> bytes:
    if len(out) > limit:
        from ..safeio import LIMIT_VAR

        raise DecryptError(
            f"{name}: the zstd data expands to more than the {limit}-byte limit",
            path=where,
            line=line,
            hint=f"raise {LIMIT_VAR} if the value is meant to be this large",
        )
    return out


def _run_bounded(argv: list[str], data: bytes, limit: int) -> tuple[bytes, int]:
    """``argv``'s stdout for stdin ``data``, read to at most ``limit + 1`` bytes (then
    the program is stopped); and its exit status."""
    import threading

    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )

    def feed() -> None:
        try:
            proc.stdin.write(data)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:  # it stopped reading: its exit status says why
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = proc.stdout.read1(1 << 16)  # type: ignore[union-attr]
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        proc.kill()
    proc.stdout.close()  # type: ignore[union-attr]
    code = proc.wait(timeout=60)
    writer.join(timeout=5)
    return b"".join(chunks), code
