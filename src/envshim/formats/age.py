"""Plain age files (``*.age``, armored or binary) whose plaintext is a dotenv file.

The plaintext is read with the common dotenv rules (:func:`..formats.dotenv.parse`)
and never interpolated. Decryption happens in memory with pyrage, imported only
when an age file is actually read.

This module also holds what every age-based reader shares: the identities of
one resolution (loaded once, on first need) and :class:`NoMatchingKey`, the
error that ``--missing-key`` may turn into a warning or a silent skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..crypto.ageheader import ARMOR_BEGIN, ARMOR_END, dearmor
from ..errors import ConfigError, DecryptError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from ..layers.base import LayerContext
    from .dotenv import Binding

__all__ = ["ARMOR_BEGIN", "ARMOR_END", "MAGIC", "NoMatchingKey", "dearmor", "decrypt_bytes"]
MAGIC = b"age-encryption.org/v1"


class NoMatchingKey(DecryptError):
    """None of the user's identities can open the file (as opposed to a damaged file).

    Only this error is subject to ``--missing-key``: a tampered or truncated
    file is always an error.
    """


def identities_for(ctx: LayerContext) -> list[Any]:
    """``keys.load_identities`` for this context, once; identity files join the watch list.

    Loaded on first need, so a project without secret files never imports pyrage;
    kept on the context so that every file and inline value of one resolution
    shares them (and a passphrase is asked once).
    """
    cached = getattr(ctx, "_age_identities", None)
    if cached is None:
        from .. import keys

        cached = keys.load_identities(ctx.environ, ctx.warnings)
        ctx.watch.extend(keys.identity_files(ctx.environ))
        ctx._age_identities = cached  # type: ignore[attr-defined]
    return cached


def describe_identities(identities: Sequence[Any]) -> str:
    """Public keys only, shortened: ``age1abc…, ssh-ed25519 AAAAC3Nz…``."""
    if not identities:
        return "you have no age identity"
    shown = []
    for ident in identities:
        rec = str(ident.recipient)
        if rec.startswith("ssh-"):
            kind, _, body = rec.partition(" ")
            rec = f"{kind} {body[:20]}…"
        shown.append(rec)
    return f"none of your identities ({', '.join(shown)})"


def is_age(data: bytes) -> bool:
    head = data.lstrip()[:64]
    return head.startswith(ARMOR_BEGIN) or data.startswith(MAGIC)


def stanza_summary(data: bytes) -> str:
    """What the header says about the recipients: counts of stanza types (no keys are stored)."""
    raw = dearmor(data)
    counts: dict[str, int] = {}
    for line in raw.split(b"\n")[1:]:
        if line.startswith(b"---"):
            break
        if line.startswith(b"-> "):
            kind = line[3:].split(b" ", 1)[0].decode("ascii", "replace")
            if not _is_type_name(kind):
                kind = "unknown"  # never show arbitrary header bytes
            if kind.endswith("-grease"):
                continue  # random stanzas the rage/age crates add; no one's key
            counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return "the header lists no recipients"
    parts = [f"{n} {kind} recipient{'s' if n > 1 else ''}" for kind, n in counts.items()]
    return "age files do not record recipients' keys; its header has " + ", ".join(parts)


def _is_type_name(kind: str) -> bool:
    return 0 < len(kind) <= 40 and all(c.isascii() and (c.isalnum() or c in "._+-/") for c in kind)


def check_header(data: bytes, path: str | Path, label: str = "") -> None:
    """Refuse a malformed or oversized age header before pyrage reads it (its parser is
    quadratic in the header's size); see :mod:`envshim.crypto.ageheader`."""
    from ..crypto.ageheader import problem

    reason = problem(dearmor(data))
    if reason is not None:
        raise DecryptError(
            f"{label}cannot decrypt: {reason}",
            path=path,
            hint="the file is damaged or not an age file; restore it from git",
        )


def decrypt_bytes(
    data: bytes, identities: Sequence[Any], path: str | Path, *, what: str | None = None
) -> bytes:
    """Decrypt an age file (armored or binary) in memory.

    Raises :class:`NoMatchingKey` when no identity is a recipient, and
    :class:`DecryptError` for anything else (damaged, truncated, not age).
    ``what`` names the thing inside ``path`` (a key of an inline value).
    """
    import pyrage

    from ..keys import JOIN_HINT

    label = f"{what}: " if what else ""
    name = Path(path).name
    check_header(data, path, label)
    # With no identity, a throwaway one still makes pyrage check the header, so a
    # damaged file is reported as damaged (and never skipped by --missing-key).
    keys = [i.identity for i in identities] or [pyrage.x25519.Identity.generate()]
    try:
        return pyrage.decrypt(data, keys)
    except pyrage.DecryptError as exc:
        reason = str(exc)
    except Exception as exc:  # pyrage raises plain errors for some headers
        reason = f"{type(exc).__name__}: {exc}"
    if "No matching keys" in reason and not identities:
        raise NoMatchingKey(
            f"{label}you have no age identity, so {what or name} cannot be decrypted; "
            f"{stanza_summary(data)}",
            path=path,
            hint=JOIN_HINT,
        )
    if "No matching keys" in reason:
        kinds = stanza_summary(data)
        extra = ""
        if "mlkem" in kinds.lower() or "pq" in kinds.lower():
            extra = " (post-quantum recipients are not supported by envshim's age library)"
        raise NoMatchingKey(
            f"{label}{describe_identities(identities)} is a recipient of {name}; {kinds}{extra}",
            path=path,
            hint=JOIN_HINT,
        )
    # pyrage's messages describe the structure (armor, header, MAC), never the plaintext
    raise DecryptError(
        f"{label}cannot decrypt: {reason.splitlines()[0] if reason else 'invalid age file'}",
        path=path,
        hint="the file is damaged or not an age file; restore it from git",
    )


def read_file(path: Path, ctx: LayerContext) -> list[Binding]:
    """The dotenv bindings of an age file, decrypted in memory."""
    from ..safeio import read_regular
    from .dotenv import parse

    data = read_regular(path)
    if not is_age(data):
        raise DecryptError(
            "not an age file (no age header)",
            path=path,
            hint="encrypt it with `age -r <recipient>` or restore it from git",
        )
    plain = decrypt_bytes(data, identities_for(ctx), path)
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(
            "the decrypted content is not UTF-8 text",
            path=path,
            hint="an age secret file must hold a dotenv file",
        ) from None
    try:
        return parse(text, str(path))
    except ConfigError as exc:  # the parser's messages never quote the text
        raise DecryptError(
            f"decrypted content: {exc.message}",
            path=path,
            line=exc.line,
            hint="fix it with `envshim secrets edit`",
        ) from None
