"""An age header checked before it reaches pyrage.

pyrage's header parser takes time that grows with the square of the header's
size (measured: 8 KiB 0.17 s, 32 KiB 1 s, 100 KiB 4 s, 6 MiB minutes), so a
committed file with one long stanza could hang the shell on ``cd``. The age CLI
reads the same header in linear time and refuses a malformed one at once. This
module does what the age CLI does, as the age spec (age-encryption.org/v1)
states it, and adds a size bound that no real header comes near:

* the intro line ``age-encryption.org/v1``;
* stanzas: ``-> `` then one or more arguments of visible ASCII, then a body of
  canonical unpadded base64 in lines of exactly 64 columns ended by one shorter
  line (possibly empty);
* the footer ``--- `` and a 43-character MAC.

Armored files are checked after their armor is taken off (the caller does that).
"""

from __future__ import annotations

import base64
import binascii

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
INTRO = b"age-encryption.org/v1\n"
# About 160 X25519 or 35 ssh-rsa recipients; pyrage reads a header this size in ~0.3 s.
MAX_HEADER = 16 * 1024
_COLUMNS = 64
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# the characters after the last full 6-bit group that a canonical encoding may end with
_LAST_OF_2 = frozenset(b"AQgw")  # 2 chars carry 1 byte: the low 4 bits are zero
_LAST_OF_3 = frozenset(b"AEIMQUYcgkosw048")  # 3 chars carry 2 bytes: the low 2 bits are zero


def _canonical_b64(line: bytes) -> bool:
    if any(c not in _B64 for c in line):
        return False
    rest = len(line) % 4
    if rest == 1:
        return False
    if rest == 2:
        return line[-1] in _LAST_OF_2
    if rest == 3:
        return line[-1] in _LAST_OF_3
    return True


def dearmor(data: bytes) -> bytes:
    """The binary age file inside the ASCII armor (only to read the header's stanzas)."""
    text = data.strip()
    if not text.startswith(ARMOR_BEGIN):
        return data
    lines = text.splitlines()
    body = b"".join(ln.strip() for ln in lines[1:] if ln.strip() and not ln.startswith(b"-----"))
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return b""


def problem(data: bytes) -> str | None:
    """Why the binary age file ``data`` must not be handed to pyrage; None when its header
    is well formed and small. The reason describes structure only, never content."""
    if not data.startswith(INTRO):
        return "no age header (the first line is not age-encryption.org/v1)"
    end = data.find(b"\n---", len(INTRO) - 1, MAX_HEADER + 64)
    if end < 0:
        if len(data) > MAX_HEADER:
            return f"the age header is larger than {MAX_HEADER // 1024} KiB"
        return "the age header has no end (no --- line)"
    pos = len(INTRO)
    stanzas = 0
    while pos < end + 1:
        nl = data.find(b"\n", pos)
        line = data[pos:nl]
        if not line.startswith(b"-> "):
            return f"stanza {stanzas + 1} of the age header does not start with ->"
        args = line[3:].split(b" ")
        if not all(args) or any(c < 0x21 or c > 0x7E for a in args for c in a):
            return f"stanza {stanzas + 1} of the age header has a malformed argument line"
        pos = nl + 1
        while True:  # the body: full lines, then one short line
            nl = data.find(b"\n", pos)
            if nl < 0 or nl > end:
                return f"stanza {stanzas + 1} of the age header has no final short line"
            body = data[pos:nl]
            if len(body) > _COLUMNS or not _canonical_b64(body):
                return f"stanza {stanzas + 1} of the age header has a malformed body line"
            pos = nl + 1
            if len(body) < _COLUMNS:
                break
        stanzas += 1
    footer_end = data.find(b"\n", end + 1)
    footer = data[end + 1 : footer_end]
    if footer_end < 0 or not footer.startswith(b"--- ") or len(footer) != 4 + 43:
        return "the age header's MAC line is malformed"
    if not _canonical_b64(footer[4:]):
        return "the age header's MAC line is malformed"
    if stanzas == 0:
        return "the age header lists no recipients"
    return None
