"""sops' document model, independent of the file format (sops' ``sops.go``).

A document is one or more *branches* (YAML documents; one for the other
stores). A branch is a mapping: a ``dict``/ruamel ``CommentedMap``, or
:class:`Pairs` where order and comments must be kept exactly (dotenv, ini).
Lists hold leaves or branches. Leaves are ``str``, ``bool``, ``int``,
``float``, ``bytes`` or ``None`` (never encrypted, never hashed).

The walk visits leaves in file order with two paths: the AAD path (mapping
keys only, as sops builds ``"a:b:c:"``) and the name path (keys and list
indices, flattened with ``__`` for the environment).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

from ..crypto import aesgcm
from ..crypto.mac import Mac, go_float
from ..errors import DecryptError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
RULES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")


class Comment(str):
    """A comment line's text after its ``#``."""

    __slots__ = ()


class Pairs(list):
    """An ordered branch of ``[key, value]`` items; a key may be a :class:`Comment`."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: dict[int, int] = {}  # id of an item -> its line, where known

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self:
            if k == key and not isinstance(k, Comment):
                return v
        return default


class AgeKey:
    """One ``age`` entry of the metadata: a recipient and the data key wrapped for it."""

    __slots__ = ("enc", "recipient")

    def __init__(self, recipient: str, enc: str) -> None:
        self.recipient = recipient
        self.enc = enc


class Metadata:
    """The ``sops`` section, parsed; ``raw`` is the nested mapping as found (kept for rewrites).

    A plain class rather than a dataclass: it is built on the export path, where
    every millisecond of import time counts.
    """

    def __init__(
        self,
        *,
        raw: dict[str, Any],
        groups: list[list[AgeKey]],
        other_keys: int,
        shamir_threshold: int,
        lastmodified: str,
        mac: str,
        rule: str,
        rule_value: str,
        mac_only_encrypted: bool,
        version: str,
    ) -> None:
        self.raw = raw
        self.groups = groups
        self.other_keys = other_keys  # pgp/kms/… entries envshim cannot use
        self.shamir_threshold = shamir_threshold
        self.lastmodified = lastmodified
        self.mac = mac
        self.rule = rule
        self.rule_value = rule_value
        self.mac_only_encrypted = mac_only_encrypted
        self.version = version
        self._regex: Any = None  # a linear-time (RE2) pattern, compiled on first use
        # unencrypted_comment_regex / encrypted_comment_regex: which values are encrypted
        # depends on comments; envshim then goes by the values themselves (the MAC covers them)
        self.comment_rules = False

    def recipients(self) -> list[str]:
        return [k.recipient for g in self.groups for k in g]

    def compile_rule(self) -> None:
        """Compile a ``*_regex`` rule now, so a bad one is refused before any use
        (raises :class:`~envshim.linear_regex.RegexError`)."""
        from ..linear_regex import compile_linear

        self._regex = compile_linear(self.rule_value)

    def should_encrypt(self, path: list[str]) -> bool:
        """sops' ``shouldBeEncrypted`` for one AAD path."""
        v = self.rule_value
        if self.rule == "unencrypted_suffix":
            return not any(p.endswith(v) for p in path)
        if self.rule == "encrypted_suffix":
            return any(p.endswith(v) for p in path)
        if self._regex is None:
            self.compile_rule()
        hit = any(self._regex.search(p) for p in path)  # type: ignore[union-attr]
        return not hit if self.rule == "unencrypted_regex" else hit


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _age_keys(entries: Any) -> list[AgeKey]:
    out = []
    for item in _as_list(entries):
        if isinstance(item, MutableMapping) and item.get("recipient"):
            out.append(AgeKey(str(item["recipient"]).strip(), str(item.get("enc") or "")))
    return out


def _count_other(mapping: Any) -> int:
    if not isinstance(mapping, MutableMapping):
        return 0
    return sum(
        len(_as_list(mapping.get(k))) for k in ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
    )


def parse_metadata(raw: Any, path: str) -> Metadata:
    """The metadata of a sops file, as sops' ``Metadata.ToInternal`` checks it."""
    if not isinstance(raw, MutableMapping):
        raise DecryptError(
            "not a sops file: no sops metadata",
            path=path,
            hint="encrypt it with `envshim secrets encrypt`",
        )
    groups: list[list[AgeKey]] = []
    other = _count_other(raw)
    if _age_keys(raw.get("age")) or other:
        groups = [_age_keys(raw.get("age"))]
    else:
        for group in _as_list(raw.get("key_groups")):
            groups.append(_age_keys(group.get("age")) if isinstance(group, MutableMapping) else [])
            other += _count_other(group)
    if not groups:
        raise DecryptError(
            "sops metadata lists no keys",
            path=path,
            hint="the file is damaged; restore it from git",
        )
    rules = [(r, str(raw[r])) for r in RULES if raw.get(r)]
    if len(rules) > 1:
        raise DecryptError(
            "sops metadata sets more than one of " + ", ".join(RULES),
            path=path,
            hint="keep one rule",
        )
    rule, value = rules[0] if rules else ("unencrypted_suffix", DEFAULT_UNENCRYPTED_SUFFIX)
    try:
        threshold = int(raw.get("shamir_threshold") or 0)
    except (TypeError, ValueError):
        raise DecryptError(
            "shamir_threshold is not an integer",
            path=path,
            hint="the file is damaged; restore it from git",
        ) from None
    mac_only = raw.get("mac_only_encrypted")
    mac_only = mac_only is True or str(mac_only).lower() == "true"
    md = Metadata(
        raw=raw,
        groups=groups,
        other_keys=other,
        shamir_threshold=threshold,
        lastmodified=str(raw.get("lastmodified") or ""),
        mac=str(raw.get("mac") or ""),
        rule=rule,
        rule_value=value,
        mac_only_encrypted=mac_only,
        version=str(raw.get("version") or ""),
    )
    md.comment_rules = bool(
        raw.get("unencrypted_comment_regex") or raw.get("encrypted_comment_regex")
    )
    if rule.endswith("regex"):
        from ..linear_regex import RegexError

        try:
            md.compile_rule()
        except RegexError as exc:
            raise DecryptError(
                f"{rule} is not a regular expression envshim can use ({exc})",
                path=path,
                hint="write it in Go's regexp syntax, as sops reads it",
            ) from None
    return md


def go_rfc3339(text: str) -> str:
    """``lastmodified`` as Go's ``time.Parse`` then ``Format(time.RFC3339)`` gives it back (the MAC's AAD).

    Fractional seconds are dropped and a zero offset is written ``Z``. Parsed by
    hand: importing ``datetime`` costs more than the whole check on the export path.
    """
    t = text.strip()
    if (
        len(t) < 20
        or t[10] not in "Tt"
        or t[4] != "-"
        or t[7] != "-"
        or t[13] != ":"
        or t[16] != ":"
    ):
        raise ValueError("lastmodified is not an RFC 3339 time")
    base = t[:10] + "T" + t[11:19]
    rest = t[19:]
    if rest.startswith("."):
        i = 1
        while i < len(rest) and rest[i].isdigit():
            i += 1
        rest = rest[i:]
    if rest in ("Z", "z"):
        return base + "Z"
    if (
        len(rest) != 6
        or rest[0] not in "+-"
        or rest[3] != ":"
        or not (rest[1:3] + rest[4:]).isdigit()
    ):
        raise ValueError("lastmodified has no valid time zone")
    if not (base[:4] + base[5:7] + base[8:10] + base[11:13] + base[14:16] + base[17:19]).isdigit():
        raise ValueError("lastmodified is not an RFC 3339 time")
    if rest[1:] == "00:00":
        return base + "Z"
    return base + rest


# --- walking -----------------------------------------------------------------

if TYPE_CHECKING:  # aad path, name path, container, key
    Leaf = tuple[list[str], list[str | int], Any, Any]


def is_branch(node: Any) -> bool:
    return isinstance(node, (Pairs, MutableMapping))


def walk(
    node: Any, aad: list[str], names: list[str | int], skip_top: str | None = None
) -> Iterator[Leaf]:
    """Every leaf slot ``(aad path, name path, container, key)`` under ``node``, in file order.

    In a :class:`Pairs` branch the slot is the ``[key, value]`` item itself
    (index 1), so reading and replacing a value costs O(1).
    """
    if isinstance(node, Pairs):
        for item in node:
            k, v = item
            if isinstance(k, Comment):
                continue
            if skip_top is not None and not aad and k == skip_top:
                continue
            key = str(k)
            if is_branch(v) or isinstance(v, list):
                yield from walk(v, [*aad, key], [*names, key])
            else:
                yield [*aad, key], [*names, key], item, 1
    elif is_branch(node):
        for k, v in list(node.items()):
            if skip_top is not None and not aad and k == skip_top:
                continue
            key = str(k)
            if is_branch(v) or isinstance(v, list):
                yield from walk(v, [*aad, key], [*names, key])
            else:
                yield [*aad, key], [*names, key], node, k
    elif isinstance(node, list):
        # sops keeps a comment inside a list as an item (``- ENC[…,type:comment]``);
        # once decrypted it is a Comment and not a value: indices count values only
        n = 0
        for i, v in enumerate(node):
            if isinstance(v, Comment):
                continue
            if is_branch(v) or isinstance(v, list):
                yield from walk(v, aad, [*names, n])
            else:
                yield aad, [*names, n], node, i
            n += 1


def has_list_comments(node: Any) -> bool:
    """Whether a decrypted tree holds a comment as a list item (envshim does not write those)."""
    if isinstance(node, Pairs):
        return any(has_list_comments(v) for _k, v in node)
    if is_branch(node):
        return any(has_list_comments(v) for v in node.values())
    if isinstance(node, list):
        return any(isinstance(v, Comment) or has_list_comments(v) for v in node)
    return False


def get_slot(container: Any, key: Any) -> Any:
    return container[key]


def set_slot(container: Any, key: Any, value: Any) -> None:
    container[key] = value


def aad_string(path: list[str]) -> str:
    return ":".join(path) + ":"


# --- typed plaintext -----------------------------------------------------------


def typed_plaintext(kind: str, plain: bytes) -> Any:
    """The Python value of a decrypted leaf, as sops' cipher types it."""
    text = plain.decode("utf-8", "surrogatepass")
    if kind in ("str", "comment"):
        return text
    if kind == "bytes":
        return plain
    if kind in ("int", "int64"):
        return int(text.strip())
    if kind == "float":
        return float(text)
    if kind == "bool":
        low = text.strip()
        if low in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if low in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise ValueError("not a boolean")
    if kind == "time":
        go_rfc3339(text)  # sops (3.9+) writes YAML timestamps as RFC 3339 text
        return SopsTime(text)
    raise ValueError("unknown type")


class SopsTime(str):
    """A YAML timestamp sops encrypted with ``type:time``: its RFC 3339 text, as
    ``sops decrypt`` shows it; hashed into the MAC as Go formats it back."""

    __slots__ = ()


def mac_bytes(kind: str, plain: bytes) -> bytes:
    """What sops hashes for a value whose typed reading failed: the bytes as written
    (the MAC then decides whether the file was changed)."""
    return plain


def kind_and_bytes(value: Any) -> tuple[str, bytes]:
    """How sops' cipher encrypts a Python value: its type tag and plaintext bytes."""
    if isinstance(value, bool):
        return "bool", b"True" if value else b"False"
    if isinstance(value, bytes):
        return "bytes", value
    if isinstance(value, int):
        return "int", str(int(value)).encode()
    if isinstance(value, float):
        return "float", go_float(float(value)).encode()
    if isinstance(value, SopsTime):
        return "time", str(value).encode()
    return "str", str(value).encode("utf-8", "surrogatepass")


def display(value: Any) -> str:
    """A leaf as an environment value (DESIGN §4): booleans ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        text = getattr(value, "text", None)
        return text if text else go_float(float(value))
    if isinstance(value, int):
        text = getattr(value, "text", None)
        return text if text else str(int(value))
    return str(value)


def is_empty(value: Any) -> bool:
    return (isinstance(value, (str, bytes)) and len(value) == 0) or value is None


# --- decrypt and encrypt the whole tree ---------------------------------------

Stash = dict[tuple[str, str, bytes], bytes]


class Plain:
    """One decrypted leaf: where it is and its value."""

    __slots__ = ("container", "encrypted", "names", "value")

    def __init__(
        self, names: list[str | int], value: Any, encrypted: bool, container: Any = None
    ) -> None:
        self.names = names
        self.value = value
        self.encrypted = encrypted
        self.container = container


def decrypt_branches(
    branches: list[Any],
    md: Metadata,
    key: bytes,
    path: str,
    *,
    skip_top: str | None,
    stash: Stash | None = None,
) -> tuple[str, list[Plain]]:
    """Decrypt every leaf in place; return the recomputed MAC and the leaves in order.

    A value whose plaintext does not read as its type tag (the tag is outside
    sops' authentication: ``type:str`` changed to ``type:int``) is an error that
    names the key, never the value, and comes after the MAC check, which catches
    most such edits first.
    """
    mac = Mac(md.mac_only_encrypted)
    leaves: list[Plain] = []
    mistyped: list[list[str | int]] = []
    cipher = aesgcm.cipher(key)  # one AES-GCM object for every value of the file
    hint = "the file was changed or damaged; restore it from git"
    for branch in branches:
        for aad, names, container, k in walk(branch, [], [], skip_top):
            value = get_slot(container, k)
            if value is None:
                continue
            encrypted = md.should_encrypt(aad)
            if md.comment_rules:
                encrypted = aesgcm.is_encrypted(value)
            if encrypted and not is_empty(value):
                if not isinstance(value, str) or not aesgcm.is_encrypted(value):
                    raise DecryptError(
                        f"the value of {shown_name(names)} is not encrypted, "
                        "though the file's rules encrypt it",
                        path=path,
                        hint="a value without sops' encryption was added by hand; "
                        "restore the file from git",
                    )
                try:
                    kind, plain = aesgcm.decrypt(value, cipher, aad_string(aad))
                except aesgcm.CipherError as exc:
                    raise DecryptError(
                        f"cannot decrypt {shown_name(names)}: {exc}", path=path, hint=hint
                    ) from None
                if kind == "comment" and isinstance(container, list):
                    # a comment kept as a list item: no value, not in the MAC (as sops)
                    set_slot(container, k, Comment(plain.decode("utf-8", "replace")))
                    continue
                try:
                    new = typed_plaintext(kind, plain)
                except (ValueError, UnicodeDecodeError):
                    mistyped.append(names)
                    new = None
                if new is None:
                    if not md.mac_only_encrypted or encrypted:
                        mac.add(mac_bytes(kind, plain))
                    continue
                if stash is not None:
                    iv = aesgcm.iv_of(value)
                    if iv is not None:
                        stash[(aad_string(aad), kind, plain)] = iv
                set_slot(container, k, new)
                value = new
            if not md.mac_only_encrypted or encrypted:
                mac.add(go_rfc3339(value) if isinstance(value, SopsTime) else value)
            leaves.append(Plain(names, value, encrypted, container))
    computed = mac.hexdigest()
    if mistyped:
        check_mac(md, key, computed, path)  # a changed file is reported as changed first
        raise DecryptError(
            f"the value of {shown_name(mistyped[0])} does not match its sops type",
            path=path,
            hint="its type tag was changed by hand; restore the file from git",
        )
    return computed, leaves


def shown_name(names: list[str | int]) -> str:
    """A key as a message shows it: its flattened name when that is a variable name,
    else a description that quotes nothing from the file."""
    from .dotenv import is_shell_name

    name = flat_name(names)
    return name if is_shell_name(name) else "a key whose name is not a variable name"


def encrypt_branches(
    branches: list[Any],
    md: Metadata,
    key: bytes,
    *,
    skip_top: str | None,
    stash: Stash | None = None,
) -> str:
    """Encrypt every leaf in place (reusing stashed IVs for unchanged values); return the MAC."""
    mac = Mac(md.mac_only_encrypted)
    stash = stash or {}
    cipher = aesgcm.cipher(key)
    for branch in branches:
        for aad, _names, container, k in walk(branch, [], [], skip_top):
            value = get_slot(container, k)
            if value is None:
                continue
            encrypted = md.should_encrypt(aad)
            if not encrypted:
                value = _canonical(value)
                set_slot(container, k, value)
            if not md.mac_only_encrypted or encrypted:
                mac.add(go_rfc3339(value) if isinstance(value, SopsTime) else value)
            if encrypted and not is_empty(value):
                kind, plain = kind_and_bytes(value)
                a = aad_string(aad)
                set_slot(
                    container,
                    k,
                    aesgcm.encrypt(plain, kind, cipher, a, stash.get((a, kind, plain))),
                )
    return mac.hexdigest()


def _canonical(value: Any) -> Any:
    """A plaintext number as a plain int/float, so it is written in its canonical form.

    ruamel keeps how a number was written (``0755``, ``1_000``); Go's yaml.v3
    reads some of those differently (``0755`` is octal 493 there), and a value
    sops reads differently from envshim would break the MAC.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if not type(value).__module__.startswith("ruamel"):
        return value
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    return int(value) if isinstance(value, int) else float(value)


def flat_name(names: list[str | int]) -> str:
    return "__".join(str(n) for n in names)


def check_mac(md: Metadata, key: bytes, computed: str, path: str) -> None:
    """Compare the stored MAC with the recomputed one; refuse the file on any doubt."""
    hint = "the file was changed outside sops/envshim or is damaged; restore it from git"
    if not md.mac:
        raise DecryptError("sops file has no MAC", path=path, hint=hint)
    try:
        aad = go_rfc3339(md.lastmodified)
        _kind, plain = aesgcm.decrypt(md.mac, key, aad)
    except (aesgcm.CipherError, ValueError) as exc:
        raise DecryptError(f"MAC cannot be verified: {exc}", path=path, hint=hint) from None
    if plain.decode("ascii", "replace") != computed:
        raise DecryptError(
            "MAC mismatch: the values or their order were changed", path=path, hint=hint
        )


def encrypt_mac(computed: str, key: bytes, lastmodified: str) -> str:
    return aesgcm.encrypt(computed.encode(), "str", key, go_rfc3339(lastmodified))


# --- comments --------------------------------------------------------------


def crypt_comment(
    text: str, key: bytes, aad: str, *, encrypt: bool, stash: Stash | None = None
) -> str:
    """Encrypt or decrypt one comment's text (after the ``#``); undecryptable comments stay as they are."""
    stash = {} if stash is None else stash
    if encrypt:
        if aesgcm.is_encrypted(text) or not text:
            return text
        plain = text.encode("utf-8", "surrogatepass")
        return aesgcm.encrypt(plain, "comment", key, aad, stash.get((aad, "comment", plain)))
    if not aesgcm.is_encrypted(text):
        return text
    try:
        _kind, plain = aesgcm.decrypt(text, key, aad)
    except aesgcm.CipherError:
        return text  # as sops: an old or foreign comment is kept as written
    iv = aesgcm.iv_of(text)
    if iv is not None:
        stash[(aad, "comment", plain)] = iv
    return plain.decode("utf-8", "replace")


def map_pairs_comments(branch: Pairs, fn: Callable[[str, list[str]], str], path: list[str]) -> None:
    for item in branch:
        if isinstance(item[0], Comment):
            item[0] = Comment(fn(str(item[0]), path))
        elif isinstance(item[1], Pairs):
            map_pairs_comments(item[1], fn, [*path, str(item[0])])
