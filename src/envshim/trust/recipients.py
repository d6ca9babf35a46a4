"""The recipients a project's ``.sops.yaml`` names: age keys and SSH keys.

Read as text, without a YAML parser (this runs when a project loads): every
``age1…`` token and every ``ssh-ed25519 AAAA…`` / ``ssh-rsa AAAA…`` pair is a
recipient, wherever it stands (a list, a comma-separated string, a key group).
A recipient added to the file after ``envshim allow`` would otherwise receive
every secret envshim writes next.
"""

from __future__ import annotations

import os

SOPS_CONFIG = ".sops.yaml"
_BECH32 = frozenset("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
_SSH_TYPES = ("ssh-ed25519", "ssh-rsa")
_SEPARATORS = str.maketrans({c: " " for c in ",'\"[]{}:#\t\r\n"})
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def parse(text: str) -> list[str]:
    """Every recipient in ``text``, sorted and unique."""
    found: set[str] = set()
    for line in text.splitlines():
        words = line.translate(_SEPARATORS).split()
        for i, word in enumerate(words):
            if word.startswith("age1") and len(word) == 62 and set(word[4:]) <= _BECH32:
                found.add(word)
            elif word in _SSH_TYPES and i + 1 < len(words):
                body = words[i + 1]
                if body.startswith("AAAA") and set(body) <= _B64:
                    found.add(f"{word} {body}")
    return sorted(found)


def in_project(root: str | os.PathLike[str]) -> list[str]:
    """The recipients of ``<root>/.sops.yaml`` (none when it is absent or unreadable)."""
    from ..errors import ConfigError
    from ..safeio import read_regular

    try:
        data = read_regular(os.path.join(root, SOPS_CONFIG))
    except (OSError, ConfigError):
        return []
    return parse(data.decode("utf-8", "replace"))


def short(recipient: str) -> str:
    """A recipient as a message shows it: SSH keys by type and the end of the key."""
    if recipient.startswith(_SSH_TYPES):
        kind, _, body = recipient.partition(" ")
        return f"{kind} …{body[-12:]}"
    return recipient
