"""sops files, natively: read, verify and write them without the sops binary.

Public read API (used by the team layer): :func:`is_sops_file`,
:func:`decrypt_file`, :func:`file_recipients`. Write API (used by the
``secrets`` and ``recipients`` commands): :func:`open_document` then
:meth:`SopsDocument.set` / :meth:`~SopsDocument.remove` /
:meth:`~SopsDocument.save`, :func:`encrypt_plaintext`.

One store per format, as sops has them (``sops_dotenv``, ``sops_yaml``,
``sops_json``, ``sops_ini``); the tree walk, value cipher and MAC live in
``sops_tree`` and ``envshim.crypto``. ``cryptography``, ``pyrage`` and
``ruamel.yaml`` are imported only when a file needs them.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, DecryptError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from ..keys import Identity
    from .sops_tree import Metadata, Plain, Stash

_EXT_STORES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}
# sops metadata as each store writes it (checked with plain string searches: cheap on every cd)
_MARKERS = (
    ("dotenv", ("\nsops_mac=", "\nsops_version=", "\nsops_lastmodified=")),
    ("ini", ("\n[sops]",)),
    ("yaml", ("\nsops:\n", "\nsops:\r\n")),
)


def _read_text(path: Path) -> str:
    from ..safeio import read_regular

    try:
        data = read_regular(path)  # a regular file of bounded size, or a one-line error
    except OSError as exc:
        raise ConfigError(
            f"cannot read ({exc.strerror or type(exc).__name__})",
            path=path,
            hint="check that the file exists and is readable",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(
            "not a sops file: not UTF-8 text",
            path=path,
            hint="sops files are text; is this an age file?",
        ) from None


def _sniff(text: str) -> str | None:
    text = "\n" + text
    for store, markers in _MARKERS:
        if any(m in text for m in markers):
            return store
    if '"sops"' in text and '"mac"' in text:
        return "json"
    return None


def is_sops_file(path: Path) -> bool:
    """Whether ``path`` holds sops metadata (a cheap text check, no parsing)."""
    from ..safeio import read_regular

    try:
        text = read_regular(path)[: 1 << 20].decode("utf-8", "replace")
    except (OSError, ConfigError):
        return False
    return _sniff(text) is not None


def store_for(path: Path, text: str | None = None) -> str:
    """The sops store of a file, from its extension as sops decides, else from its content."""
    store = _EXT_STORES.get(Path(path).suffix.lower())
    if store:
        return store
    if text is not None:
        sniffed = _sniff(text)
        if sniffed == "json":
            return "binary"
        if sniffed:
            return sniffed
    raise DecryptError(
        "unknown sops store: cannot tell the format of this file",
        path=path,
        hint="name it .env, .yaml, .json or .ini as sops expects",
    )


def _load(path: Path, store: str, text: str) -> tuple[list[Any], Any, dict[str, int]]:
    """``(branches, raw metadata, lines)`` of an encrypted file."""
    if store == "dotenv":
        from . import sops_dotenv

        branch, meta, lines = sops_dotenv.load(text, str(path))
        return [branch], meta, lines
    if store == "ini":
        from . import sops_ini

        branch, meta, lines = sops_ini.load(text, str(path))
        return [branch], meta, lines
    if store in ("json", "binary"):
        from . import sops_json

        data, meta, lines = sops_json.load(text, str(path))
        return [data], meta, lines
    from . import sops_yaml

    return (*sops_yaml.load(text, str(path)),)  # type: ignore[return-value]


def _skip_top(store: str) -> str | None:
    return "sops" if store in ("yaml", "json", "binary") else None


def file_recipients(path: Path) -> list[str]:
    """The age recipients a sops file's data key is wrapped for (all key groups)."""
    from .sops_tree import parse_metadata

    path = Path(path)
    text = _read_text(path)
    store = store_for(path, text)
    _branches, meta, _lines = _load(path, store, text)
    return parse_metadata(meta, str(path)).recipients()


# --- the data key ------------------------------------------------------------


def _describe(identities: list[Identity]) -> str:
    if not identities:
        return "you have no age identity"
    keys = ", ".join(f"{i.recipient} ({i.source})" for i in identities)
    return f"none of your identities ({keys}) is a recipient"


def recover_data_key(md: Metadata, identities: list[Identity], path: Path) -> bytes:
    """Unwrap the data key with any identity; combine Shamir shares for several key groups."""
    from ..crypto.datakey import unwrap
    from ..keys import JOIN_HINT, normalize_recipient

    parts: list[bytes] = []
    for group in md.groups:
        part = None
        for key in group:
            wanted = normalize_recipient(key.recipient)
            # X25519 identities only open stanzas for their own recipient: try the match first
            matching = [i.identity for i in identities if i.recipient == wanted]
            others = [
                i.identity
                for i in identities
                if i.recipient.startswith("ssh-") and i.recipient != wanted
            ]
            for candidates in (matching, others):
                if candidates and part is None:
                    part = unwrap(key.enc, candidates)
            if part is None and matching:
                # our own key is a recipient, yet its stanza does not open: damaged, not unauthorised
                raise DecryptError(
                    f"the data key wrapped for {wanted} cannot be unwrapped (damaged age header)",
                    path=path,
                    hint="the file is damaged; restore it from git",
                )
            if part is not None:
                break
        if part is not None:
            parts.append(part)
    need = md.shamir_threshold or len(md.groups)
    if len(md.groups) == 1 and parts:
        key = parts[0]
    elif len(md.groups) > 1 and len(parts) >= need:
        from ..crypto import shamir

        try:
            key = shamir.combine(parts[:need] if need >= 2 else parts)
        except ValueError:
            raise DecryptError(
                "the key group shares do not combine",
                path=path,
                hint="the file is damaged; restore it from git",
            ) from None
    else:
        recipients = ", ".join(md.recipients()) or "(none envshim can use)"
        if len(md.groups) > 1:
            msg = (
                f"you can open {len(parts)} of the {need} key groups needed; "
                f"recipients are: {recipients}"
            )
        else:
            msg = f"{_describe(identities)} of {path.name}; recipients are: {recipients}"
        if any(r.startswith("age1pq1") for r in md.recipients()):
            msg += (
                "; post-quantum age keys (age1pq1…, AGE-SECRET-KEY-PQ-1…) are not supported "
                "by envshim's age library"
            )
        raise DecryptError(
            msg,
            path=path,
            hint=JOIN_HINT,
        )
    if len(key) != 32:
        raise DecryptError(
            "the data key has the wrong length",
            path=path,
            hint="the file is damaged; restore it from git",
        )
    return key


# --- documents ---------------------------------------------------------------


class SopsDocument:
    """A decrypted sops file held in memory, ready to change and write back."""

    def __init__(
        self,
        path: Path,
        store: str,
        branches: list[Any],
        md: Metadata,
        data_key: bytes,
        leaves: list[Plain],
        lines: dict[str, int],
        stash: Stash | None = None,
    ) -> None:
        self.path = path
        self.store = store
        self.branches = branches
        self.md = md
        self.data_key = data_key
        self.leaves = leaves
        self.lines = lines
        self.stash: Stash = {} if stash is None else stash
        self.recipients: list[str] | None = None  # a new recipient set to wrap for on save
        self.rotated = False

    # -- reading
    def values(self) -> list[tuple[str, str, int | None]]:
        from .sops_tree import display, walk

        out: list[tuple[str, str, int | None]] = []
        for branch in self.branches:
            for _aad, names, container, k in walk(branch, [], [], _skip_top(self.store)):
                value = container[k]
                if value is None:
                    continue
                name = self._name(names)
                out.append((name, display(value), self._line(name, container, k)))
        return out

    def authenticated_values(self) -> list[tuple[str, str, int | None]]:
        """:meth:`values`, refusing an unauthenticated empty value that blanks another.

        sops writes an empty value as it is (its cipher has nothing to encrypt) and
        hashes nothing for it, so neither ciphertext nor MAC vouches for it: anyone
        can append ``TOKEN=`` to a sops file without a key. Loaded as sops loads it,
        such a line would blank the secret written above it, so a key that appears
        again with an empty value at a position the file's rules encrypt is an
        error. (A lone empty value loads as sops loads it; names that take over a
        shell, such as ``PATH``, never come from a secret file at all.)
        """
        from .sops_tree import is_empty

        values = self.values()
        if len(values) != len(self.leaves):  # both walk the same tree: never, but fail closed
            raise DecryptError(
                "the file's values could not be matched to their checks",
                path=self.path,
                hint="restore the file from git",
            )
        seen: set[str] = set()
        for (name, _value, line), leaf in zip(values, self.leaves, strict=True):
            if name in seen and leaf.encrypted and is_empty(leaf.value):
                from .sops_tree import shown_name

                raise DecryptError(
                    f"{shown_name(leaf.names)} appears again with an empty value, which sops "
                    "neither encrypts nor covers by its MAC (it would blank the value above)",
                    path=self.path,
                    line=self._item_line(leaf.container, line),
                    hint="anyone can add such a line without a key; remove it, "
                    "or restore the file from git",
                )
            seen.add(name)
        return values

    def _item_line(self, container: Any, default: int | None) -> int | None:
        top = self.branches[0] if self.branches else None
        return getattr(top, "item_lines", {}).get(id(container), default)

    def _name(self, names: list[str | int]) -> str:
        if self.store == "ini":
            from .sops_ini import flat_name

            return flat_name(names)
        from .sops_tree import flat_name

        return flat_name(names)

    def _line(self, name: str, container: Any, key: Any) -> int | None:
        if name in self.lines:
            return self.lines[name]
        if self.store == "yaml":
            from .sops_yaml import line_of

            return line_of(container, key)
        return None

    def names(self) -> list[str]:
        return [name for name, _v, _l in self.values()]

    # -- changing
    def _find(self, name: str) -> tuple[Any, Any] | None:
        from .sops_tree import walk

        for branch in self.branches:
            for _aad, names, container, k in walk(branch, [], [], _skip_top(self.store)):
                if self._name(names) == name:
                    return container, k
        return None

    def set(self, name: str, value: str) -> None:
        """Set one value (a new key goes at the end of the top level)."""
        from .sops_tree import Pairs, set_slot

        if self.store in ("ini", "binary"):
            raise ConfigError(
                f"envshim does not write sops {self.store} files",
                path=self.path,
                hint="use `sops` to change this file, or keep secrets in .env/.yaml/.json",
            )
        slot = self._find(name)
        if slot is not None:
            set_slot(slot[0], slot[1], value)
            return
        if not name or (
            self.store == "dotenv" and ("=" in name or "\n" in name or name.startswith("#"))
        ):
            raise ConfigError(
                f"{name!r} cannot be a key in a dotenv file",
                path=self.path,
                hint="use letters, digits and _",
            )
        top = self.branches[0]
        if isinstance(top, Pairs):
            top.append([name, value])
            return
        # yaml/json: `app__db__host` goes under an existing `app: {db: …}` mapping
        parent, rest = top, name.split("__")
        while len(rest) > 1 and isinstance(parent.get(rest[0]), dict):
            parent, rest = parent[rest[0]], rest[1:]
        parent["__".join(rest)] = value

    def remove(self, name: str) -> None:
        from .sops_tree import Pairs

        slot = self._find(name)
        if slot is None:
            raise ConfigError(
                f"{name} is not in this file",
                path=self.path,
                hint="`envshim secrets list` shows the keys",
            )
        container, key = slot
        top = self.branches[0]
        if isinstance(top, Pairs):  # the slot is a [key, value] item of the top branch
            top[:] = [item for item in top if item is not container]
        else:
            del container[key]

    def set_recipients(self, recipients: list[str]) -> None:
        """Wrap the data key for exactly these recipients on save (one key group)."""
        from ..keys import normalize_recipient, parse_recipient

        for r in recipients:
            parse_recipient(r)
        self.recipients = list(dict.fromkeys(normalize_recipient(r) for r in recipients))

    def rotate(self) -> None:
        """A new data key on save: every value is encrypted again."""
        from ..crypto.datakey import new_data_key

        self.data_key = new_data_key()
        self.stash = {}
        self.rotated = True

    # -- writing
    def render(self) -> str:
        """The encrypted file text (the in-memory values are encrypted in a copy)."""
        import copy

        from ..crypto.datakey import wrap
        from ..keys import parse_recipient
        from . import sops_meta
        from .sops_tree import encrypt_branches, encrypt_mac

        if self.md.comment_rules:
            raise ConfigError(
                "this file uses sops' comment regex rules, which envshim does not write",
                path=self.path,
                hint="change it with `sops edit`",
            )
        self._refuse_list_comments()
        branches = copy.deepcopy(self.branches)
        mac = encrypt_branches(
            branches, self.md, self.data_key, skip_top=_skip_top(self.store), stash=self.stash
        )
        self._crypt_comments(branches, encrypt=True)
        lastmodified = _now()
        old = {k.recipient: k.enc for g in self.md.groups for k in g}
        if self.recipients is not None:
            if len(self.md.groups) > 1 and not self.rotated:
                self.rotate()
                return self.render()
            groups = [
                [
                    (
                        r,
                        old[r]
                        if (r in old and not self.rotated)
                        else wrap(self.data_key, parse_recipient(r)),
                    )
                    for r in self.recipients
                ]
            ]
        elif self.rotated:
            groups = self._rewrap_groups()
        else:
            groups = [[(k.recipient, k.enc) for k in g] for g in self.md.groups]
        keep_other = not self.rotated and self.recipients is None
        if self.md.other_keys and not keep_other:
            self.md.other_keys = 0  # pgp/kms entries cannot follow a new data key
        meta = sops_meta.build(
            groups,
            lastmodified=lastmodified,
            mac=encrypt_mac(mac, self.data_key, lastmodified),
            rule=(self.md.rule, self.md.rule_value),
            shamir_threshold=self.md.shamir_threshold,
            mac_only_encrypted=self.md.mac_only_encrypted,
            extra=_plain(self.md.raw) if keep_other else None,
        )
        return _emit(self.store, branches, meta)

    def _rewrap_groups(self) -> list[list[tuple[str, str]]]:
        from ..crypto.datakey import wrap
        from ..keys import parse_recipient

        groups = self.md.groups
        if len(groups) == 1:
            return [
                [
                    (k.recipient, wrap(self.data_key, parse_recipient(k.recipient)))
                    for k in groups[0]
                ]
            ]
        from ..crypto import shamir

        shares = shamir.split(self.data_key, len(groups), self.md.shamir_threshold or len(groups))
        return [
            [(k.recipient, wrap(share, parse_recipient(k.recipient))) for k in g]
            for g, share in zip(groups, shares, strict=True)
        ]

    def _crypt_comments(self, branches: list[Any], *, encrypt: bool) -> None:
        from .sops_tree import Pairs, crypt_comment, map_pairs_comments

        def fn(text: str, path: list[str]) -> str:
            if not self.md.should_encrypt(path):
                return text
            from .sops_tree import aad_string

            return crypt_comment(
                text, self.data_key, aad_string(path), encrypt=encrypt, stash=self.stash
            )

        if self.store == "yaml":
            from .sops_yaml import map_comments

            for branch in branches:
                map_comments(branch, fn)
        else:
            for branch in branches:
                if isinstance(branch, Pairs):
                    map_pairs_comments(branch, fn, [])

    def _refuse_list_comments(self) -> None:
        from .sops_tree import has_list_comments

        if any(has_list_comments(b) for b in self.branches):
            raise ConfigError(
                "this file has comments inside lists, which envshim does not write",
                path=self.path,
                hint="change it with `sops edit`",
            )

    def plaintext(self) -> str:
        """The decrypted file as sops shows it (for ``edit``): never written outside a private dir."""
        import copy

        self._refuse_list_comments()

        branches = copy.deepcopy(self.branches)
        self._crypt_comments(branches, encrypt=False)
        if self.store == "yaml":
            from .sops_yaml import emit

            return emit(branches, None, plain=True)
        return _emit(self.store, branches, None)

    def save(self) -> None:
        from ..atomic import replace_preserving_mode

        replace_preserving_mode(self.path, self.render())


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _emit(store: str, branches: list[Any], meta: dict[str, Any] | None) -> str:
    if store == "dotenv":
        from . import sops_dotenv

        return sops_dotenv.emit(branches[0], meta)
    if store in ("json", "binary"):
        from . import sops_json

        return sops_json.emit(branches[0], meta)
    if store == "yaml":
        from . import sops_yaml

        return sops_yaml.emit(branches, meta)
    raise ConfigError(f"envshim does not write sops {store} files", hint="use `sops` for this file")


def open_document(path: Path, identities: list[Identity]) -> SopsDocument:
    """Decrypt a sops file in memory and verify its MAC (fail closed)."""
    from .sops_tree import check_mac, decrypt_branches, parse_metadata

    path = Path(path)
    text = _read_text(path)
    store = store_for(path, text)
    branches, meta, lines = _load(path, store, text)
    if meta is None:
        raise DecryptError(
            "not a sops file: no sops metadata",
            path=path,
            hint="encrypt it with `envshim secrets encrypt`",
        )
    md = parse_metadata(meta, str(path))
    key = recover_data_key(md, identities, path)
    stash: dict[Any, bytes] = {}
    try:
        computed, leaves = decrypt_branches(
            branches, md, key, str(path), skip_top=_skip_top(store), stash=stash
        )
    except RecursionError:
        raise DecryptError(
            "nested too deeply to read", path=path, hint="flatten the structure"
        ) from None
    check_mac(md, key, computed, str(path))
    return SopsDocument(path, store, branches, md, key, leaves, lines, stash)


def decrypt_file(path: Path, identities: list[Identity]) -> list[tuple[str, str, int | None]]:
    """``(flattened key, value, line)`` for every value of a sops file, MAC checked.

    A binary-store file holds one blob: when it is dotenv text (the usual case
    for environment files) its bindings are returned, otherwise one ``data``
    entry.
    """
    doc = open_document(path, identities)
    if doc.store == "binary":
        blob = next((v for k, v, _l in doc.values() if k == "data"), "")
        from .dotenv import parse

        try:
            return [(b.key, b.value, b.line) for b in parse(blob, str(path))]
        except ConfigError:
            return [("data", blob, None)]
    return doc.authenticated_values()


def key_names(path: Path) -> list[tuple[str, int | None]]:
    """``(flattened key, line)`` of every value, without decrypting: sops keeps key names
    in plaintext (what can be shown to someone who holds no key). A binary-store
    file's names are inside its encrypted blob: none."""
    path = Path(path)
    text = _read_text(path)
    store = store_for(path, text)
    if store == "binary":
        return []
    branches, _meta, lines = _load(path, store, text)
    view = SopsDocument(path, store, branches, None, b"", [], lines)  # type: ignore[arg-type]
    return [(name, line) for name, _value, line in view.values()]


def decrypt_plaintext(path: Path, identities: list[Identity]) -> str:
    """The file as ``sops decrypt`` prints it (the blob itself for the binary store)."""
    doc = open_document(path, identities)
    if doc.store == "binary":
        return next((v for k, v, _l in doc.values() if k == "data"), "")
    return doc.plaintext()


# --- new files ---------------------------------------------------------------


class CreationRule:
    """What ``.sops.yaml`` says for new files: recipients per key group and the encryption rule."""

    def __init__(
        self,
        groups: list[list[str]],
        rule: tuple[str, str] = ("unencrypted_suffix", "_unencrypted"),
        shamir_threshold: int = 0,
        mac_only_encrypted: bool = False,
    ) -> None:
        self.groups = groups
        self.rule = rule
        self.shamir_threshold = shamir_threshold
        self.mac_only_encrypted = mac_only_encrypted


def load_plain_branches(store: str, text: str, path: Path) -> list[Any]:
    if store == "dotenv":
        from . import sops_dotenv

        return [sops_dotenv.load_plain(text, str(path))]
    if store == "json":
        from . import sops_json

        return [sops_json.load_plain(text, str(path))]
    if store == "yaml":
        from . import sops_yaml

        return sops_yaml.load_plain(text, str(path))
    if store == "binary":
        return [{"data": text}]
    raise ConfigError(
        f"envshim does not write sops {store} files",
        path=path,
        hint="use a .env, .yaml or .json file",
    )


def new_document(path: Path, store: str, branches: list[Any], rule: CreationRule) -> SopsDocument:
    """A document for a new sops file: fresh data key wrapped for the rule's recipients."""
    from ..crypto.datakey import new_data_key
    from .sops_tree import AgeKey, Metadata

    if not any(rule.groups):
        raise ConfigError(
            "no age recipients for this file",
            path=path,
            hint="add one with `envshim recipients add <age1…>`",
        )
    md = Metadata(
        raw={},
        groups=[[AgeKey(r, "") for r in g] for g in rule.groups],
        other_keys=0,
        shamir_threshold=rule.shamir_threshold,
        lastmodified="",
        mac="",
        rule=rule.rule[0],
        rule_value=rule.rule[1],
        mac_only_encrypted=rule.mac_only_encrypted,
        version="",
    )
    if rule.rule[0].endswith("regex"):
        from ..linear_regex import RegexError

        try:
            md.compile_rule()
        except RegexError:
            raise ConfigError(
                f"{rule.rule[0]} is not a valid regular expression", hint="fix it in .sops.yaml"
            ) from None
    doc = SopsDocument(Path(path), store, branches, md, new_data_key(), [], {})
    doc.rotated = True  # every key wrapped fresh
    return doc


def encrypt_plaintext(src: Path, out: Path, rule: CreationRule, store: str | None = None) -> None:
    """Encrypt a plaintext dotenv/yaml/json file into a sops file at ``out`` (atomically)."""
    from ..atomic import write_atomic

    text = _read_text(Path(src))
    # as sops: the extension picks the store, anything else is the binary store
    store = store or _EXT_STORES.get(Path(out).suffix.lower(), "binary")
    branches = load_plain_branches(store, text, Path(src))
    doc = new_document(Path(out), store, branches, rule)
    mode = 0o644
    if Path(out).exists():
        mode = Path(out).stat().st_mode & 0o777
    write_atomic(Path(out), doc.render(), mode=mode, lock=False)


def empty_document(path: Path, rule: CreationRule) -> SopsDocument:
    """A new, empty sops file's document (for ``secrets set`` on a file that does not exist yet)."""
    store = store_for(path)
    if store == "dotenv":
        from .sops_tree import Pairs

        branches: list[Any] = [Pairs()]
    elif store == "yaml":
        from ruamel.yaml.comments import CommentedMap

        branches = [CommentedMap()]
    elif store == "json":
        branches = [{}]
    else:
        raise ConfigError(
            f"envshim does not write sops {store} files",
            path=path,
            hint="use a .env, .yaml or .json file",
        )
    return new_document(path, store, branches, rule)
