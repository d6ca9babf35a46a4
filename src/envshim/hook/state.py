"""``ENVSHIM_STATE``: what reverting a load needs, small and bounded (DESIGN.md §6).

Encoded as ``E2.`` + base64(zlib(record)); the record is::

    0x02 | width (1) | key check (2) | combined (8) | n (4, big-endian) | sums (n * width) | text

``text`` is NUL-separated UTF-8 (surrogateescape): the root, the profile (a comma
list), the directory whose ``.envrc`` direnv loads when the hook stood aside, the
number of untrusted roots already announced and those roots, then one entry per
variable envshim changed, sorted by name: ``+NAME`` (created), ``~NAME=previous``
(changed) or ``!NAME=previous`` (unset). The previous values are the shell's own;
a value envshim set is never stored, only a keyed hash of it:

* ``combined``: 8 bytes of keyed BLAKE2b over every name and value envshim set. When
  it matches, nothing was changed by hand and every entry is reverted.
* ``sums``: ``width`` bytes per set variable (2, or 1 above :data:`WIDE_LIMIT`
  variables), in entry order. When ``combined`` does not match, a variable whose own
  sum differs was changed by hand and keeps its value. A change by hand is missed
  with probability 2^-16 (2^-8) and then reverted; an unchanged value is never kept.
* ``key check``: 2 bytes that tell whether the per-user key is still the one that
  made the sums; when it is not (the data directory was wiped), everything is reverted.

Sorted names compress well, so a typical project costs a few bytes per variable
(the JSON of version 1 cost 53). Names are checked when the state is decoded: a
state with a name no shell can hold, a reserved name, a duplicate or any
inconsistency is damaged as a whole, and nothing is rendered from it.
"""

from __future__ import annotations

import binascii
import os
import zlib

from ..shells.base import COMMON_RESERVED, is_valid_name

try:  # the builtin module: hashlib would load OpenSSL (~2 ms) for the same function
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - not CPython
    from hashlib import blake2b

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping

STATE_VAR = "ENVSHIM_STATE"
HELPER_PREFIXES = ("_envshim_", "__envshim_")  # the hook's own shell variables
PREFIX = "E2."
VERSION = 2
WIDE_LIMIT = 4096  # up to this many set variables get 2-byte sums, above it 1 byte
MAX_DECODED = 16 << 20  # a state never inflates beyond this: anything bigger is damaged
MAX_NOTICED = 16
KEY_FILE = "hook.key"


class StateError(ValueError):
    """``ENVSHIM_STATE`` is not one this version wrote (damaged, crafted or older)."""


class State:
    """What the hook loaded in this shell (see the module docstring)."""

    __slots__ = ("aside", "combined", "key_check", "noticed", "prev", "profile", "root", "sums",
                 "unset", "width")  # fmt: skip

    def __init__(
        self,
        root: str | None = None,
        profile: list[str] | None = None,
        prev: dict[str, str | None] | None = None,
        unset: set[str] | None = None,
        noticed: list[str] | None = None,
        aside: str | None = None,
    ) -> None:
        self.root = root
        self.profile = profile or []
        self.prev = prev or {}  # name -> its value before the load (None: was not set)
        self.unset = unset or set()  # names envshim unset (their prev is their value)
        self.noticed = noticed or []  # untrusted roots already announced
        self.aside = aside  # the directory whose .envrc direnv loads (the hook stood aside)
        self.sums: dict[str, bytes] = {}
        self.combined = b""
        self.key_check = b""
        self.width = 2

    def empty(self) -> bool:
        return not (self.root or self.prev or self.noticed or self.aside)

    def set_names(self) -> list[str]:
        """The names envshim set (not unset), sorted: the order of ``sums``."""
        return sorted(n for n in self.prev if n not in self.unset)

    def seal(self, key: bytes, values: Mapping[str, str]) -> None:
        """Record the keyed hashes of the values envshim set (``values[name]``)."""
        names = self.set_names()
        self.width = 2 if len(names) <= WIDE_LIMIT else 1
        self.key_check = _key_check(key)
        self.combined = _combined(key, names, values)
        base = blake2b(key=key, digest_size=8)
        sums = {}
        for name in names:
            h = base.copy()
            h.update(_pair(name, values[name]))
            sums[name] = h.digest()[: self.width]
        self.sums = sums

    # ------------------------------------------------------------------ encoding

    def encode(self) -> str:
        names = self.set_names()
        missing = [n for n in names if n not in self.sums]
        if missing:
            raise ValueError(f"state not sealed ({missing[0]})")
        fields = [
            self.root or "",
            ",".join(self.profile),
            self.aside or "",
            str(len(self.noticed)),
            *self.noticed,
        ]
        for name in sorted(self.prev):
            previous = self.prev[name]
            if name in self.unset:
                fields.append(f"!{name}={previous}")
            elif previous is None:
                fields.append(f"+{name}")
            else:
                fields.append(f"~{name}={previous}")
        text = "\0".join(fields).encode("utf-8", "surrogateescape")
        head = bytes((VERSION, self.width)) + (self.key_check or b"\0\0")
        head += (self.combined or bytes(8)) + len(names).to_bytes(4, "big")
        body = b"".join(self.sums[n] for n in names)
        packed = zlib.compress(head + body + text, 9)
        return PREFIX + binascii.b2a_base64(packed, newline=False).decode("ascii")

    @classmethod
    def decode(cls, encoded: str | None, reserved: frozenset[str] = frozenset()) -> State | None:
        """The state, ``None`` when there is none; :class:`StateError` when it is damaged.

        ``reserved``: names the calling shell reserves, also refused.
        """
        if not encoded:
            return None
        if not encoded.startswith(PREFIX):
            raise StateError("not written by this version of envshim")
        try:
            packed = binascii.a2b_base64(encoded[len(PREFIX) :].encode("ascii"), strict_mode=True)
            inflate = zlib.decompressobj()
            raw = inflate.decompress(packed, MAX_DECODED)
        except (ValueError, UnicodeEncodeError, zlib.error, binascii.Error):
            raise StateError("not readable") from None
        if inflate.unconsumed_tail or not inflate.eof or inflate.unused_data:
            raise StateError("not readable")
        return cls._parse(raw, reserved)

    @classmethod
    def _parse(cls, raw: bytes, reserved: frozenset[str]) -> State:
        if len(raw) < 16 or raw[0] != VERSION or raw[1] not in (1, 2):
            raise StateError("not written by this version of envshim")
        width = raw[1]
        count = int.from_bytes(raw[12:16], "big")
        end = 16 + count * width
        if end > len(raw):
            raise StateError("truncated")
        fields = raw[end:].decode("utf-8", "surrogateescape").split("\0")
        if len(fields) < 4 or not fields[3].isdigit():
            raise StateError("truncated")
        noticed_count = int(fields[3])
        if noticed_count > MAX_NOTICED or len(fields) < 4 + noticed_count:
            raise StateError("truncated")
        state = cls(
            root=fields[0] or None,
            profile=[p for p in fields[1].split(",") if p],
            noticed=fields[4 : 4 + noticed_count],
            aside=fields[2] or None,
        )
        for path in [fields[0], fields[2], *state.noticed]:
            if path and not os.path.isabs(path):
                raise StateError("a path in it is not absolute")
        entries = fields[4 + noticed_count :]
        if entries == [""]:
            entries = []
        for entry in entries:
            op, rest = entry[:1], entry[1:]
            name, eq, previous = rest.partition("=")
            if not valid_name(name) or name in reserved:
                raise StateError("it names a variable no shell may set")
            if name in state.prev:
                raise StateError("it names a variable twice")
            if op == "+" and not eq:
                state.prev[name] = None
            elif op == "~" and eq:
                state.prev[name] = previous
            elif op == "!" and eq:
                state.prev[name] = previous
                state.unset.add(name)
            else:
                raise StateError("an entry is malformed")
        names = state.set_names()
        if len(names) != count:
            raise StateError("its hashes do not match its names")
        state.width = width
        state.key_check = raw[2:4]
        state.combined = raw[4:12]
        state.sums = {n: raw[16 + i * width : 16 + (i + 1) * width] for i, n in enumerate(names)}
        return state

    # ------------------------------------------------------------------ reverting

    def unchanged(self, environ: Mapping[str, str], key: bytes | None) -> set[str]:
        """The recorded names whose current value is still the one envshim left: those are
        reverted, the others were changed by hand. Without the key that made the hashes
        (lost, or replaced since), every set name counts as unchanged: unloading wins."""
        out = {n for n in self.unset if n not in environ}
        names = self.set_names()
        if key is None or _key_check(key) != self.key_check:
            return out | set(names)
        if _combined(key, names, environ) == self.combined:
            return out | set(names)
        base = blake2b(key=key, digest_size=8)
        for name in names:
            current = environ.get(name)
            if current is None:
                continue
            h = base.copy()
            h.update(_pair(name, current))
            if h.digest()[: self.width] == self.sums[name]:
                out.add(name)
        return out


def valid_name(name: str) -> bool:
    """A name the state may hold: one every shell can set, not envshim's own."""
    return (
        is_valid_name(name) and name not in COMMON_RESERVED and not name.startswith(HELPER_PREFIXES)
    )


def _pair(name: str, value: str) -> bytes:
    return name.encode() + b"\0" + value.encode("utf-8", "surrogateescape") + b"\0"


def _combined(key: bytes, names: list[str], values: Mapping[str, str]) -> bytes:
    h = blake2b(key=key, digest_size=8, person=b"envshim-all")
    for name in names:
        value = values.get(name)
        if value is None:
            return b""  # gone: cannot match
        h.update(_pair(name, value))
    return h.digest()


def _key_check(key: bytes) -> bytes:
    return blake2b(b"key", key=key, digest_size=2, person=b"envshim-key").digest()


def revert(environ: Mapping[str, str], old: State | None, key: bytes | None) -> dict[str, str]:
    """The environment as it was before ``old`` was applied; a variable changed by hand
    since keeps the user's value."""
    base = dict(environ)
    if old is None:
        return base
    for name in old.unchanged(environ, key):
        previous = old.prev[name]
        if previous is None:
            base.pop(name, None)
        else:
            base[name] = previous
    return base


# ---------------------------------------------------------------- the key


def hash_key(environ: Mapping[str, str]) -> bytes:
    """The per-user key of the hashes, created (0600, atomically) on first use."""
    from ..paths import data_dir

    path = os.path.join(data_dir(environ), KEY_FILE)
    try:
        with open(path, "rb") as fh:
            return fh.read(64)
    except FileNotFoundError:
        pass
    from ..atomic import write_atomic  # tempfile & co: only the first time
    from ..errors import ConfigError

    try:  # noqa: SIM105 - contextlib is one more import on every cd
        write_atomic(path, os.urandom(32).hex().encode(), overwrite=False)
    except ConfigError:  # another shell created it first
        pass
    with open(path, "rb") as fh:
        return fh.read(64)


def hash_key_or_none(environ: Mapping[str, str]) -> bytes | None:
    """The key, or ``None`` when it cannot be read or made (then unloading reverts all)."""
    try:
        return hash_key(environ)
    except Exception:  # any failure here must not keep the previous project loaded
        return None


def value_hash(key: bytes, name: str, value: str) -> bytes:
    """The short hash of one value, as the state records it with width 2."""
    h = blake2b(key=key, digest_size=8)
    h.update(_pair(name, value))
    return h.digest()[:2]
