"""The user store: one developer's own values for one project, outside the repository.

Layout, one directory per project id (0700, files 0600)::

    <platformdirs.user_data_dir("envshim")>/users/<id>/
        meta.json              not secret: id, encryption, recipients, projects, created
        values.age             the values (a JSON object), age-encrypted to the user's own key
        values.PLAINTEXT.json  instead of values.age in a store made with ``--plaintext``
        .store.lock            flock held by every writer for its whole read-modify-write

Recipients: a new store is encrypted to the identities of the default key file
(``envshim key new`` writes it, sops reads it); without one, to the first identity
found. They are recorded in ``meta.json`` and every later write encrypts to the
same ones, so which key opens the store never changes behind the user's back.

The project links to its store by id: ``user_store`` in ``envshim.toml`` (or in
the ``_.envshim`` table of ``mise.toml``), else ``ENV_SECRETS_ID`` /
``USER_SECRETS_ID`` in ``.env`` (python-env-secrets), else ``<UserSecretsId>`` in
a ``*.csproj`` (dotnet). The store records the absolute paths of the projects
that may load it; another directory presenting the same id is refused until
``envshim user link`` adds it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from . import paths
from .errors import ConfigError, DecryptError, UsageError
from .gitcmd import git_argv
from .userlink import check_id

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

META = "meta.json"
ENCRYPTED = "values.age"
PLAINTEXT = "values.PLAINTEXT.json"
FORMAT_VERSION = 1
PLAINTEXT_LABEL = "PLAINTEXT envshim user store: these values are NOT encrypted"

# What every shell can hold as a name (the reserved names are checked by envshim.names).
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_key(key: str) -> str:
    """``key`` if envshim may write it: a name every shell holds and nobody reserves."""
    from .names import check

    return check(key, usage=True)


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the store --------------------------------------------------------------------------------


def _is_private(st: os.stat_result) -> bool:
    return not (st.st_mode & 0o077) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def _fix_hint(path: Path, mode: str) -> str:
    import shlex

    return f"run `chmod {mode} {shlex.quote(str(path))}` (and check who else could have read it)"


def choose_recipients(identities: list[Any], environ: Mapping[str, str]) -> list[str]:
    """The recipients of a new store: the default key file's identities, else the first one."""
    from .keys import default_key_file

    default = str(default_key_file(environ))
    chosen = [i.recipient for i in identities if i.source == default]
    return chosen or [identities[0].recipient]


class NoKeyError(DecryptError):
    """No identity we hold opens the store (as opposed to a damaged store)."""


def no_identity_error(environ: Mapping[str, str], path: Path | None = None) -> NoKeyError:
    from .keys import default_key_file

    return NoKeyError(
        "no age identity found for the user store",
        path=path,
        hint=f"run `envshim join` (writes {default_key_file(environ)}) or set SOPS_AGE_KEY_FILE; "
        "`envshim user init --plaintext` makes an unencrypted store instead",
    )


class Store:
    """One project's store directory. Nothing is created until a write."""

    def __init__(self, store_id: str, environ: Mapping[str, str]) -> None:
        self.id = check_id(store_id)
        self.environ = environ
        self.dir = paths.data_dir(environ) / "users" / self.id
        self.meta_path = self.dir / META
        self.age_path = self.dir / ENCRYPTED
        self.plain_path = self.dir / PLAINTEXT
        self._meta: dict[str, Any] | None = None
        self._identities: list[Any] | None = None

    # -- reading

    def exists(self) -> bool:
        return self.meta_path.is_file()

    def watch_paths(self) -> list[Path]:
        return [self.dir, self.meta_path, self.age_path, self.plain_path]

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = self._read_meta()
        return self._meta

    def _read_meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                "user store has no meta.json",
                path=self.dir,
                hint="`envshim user init` creates the store",
            ) from None
        except (OSError, ValueError, UnicodeDecodeError):
            data = None
        ok = (
            isinstance(data, dict)
            and data.get("id") == self.id
            and data.get("encryption") in ("age", "plaintext")
            and isinstance(data.get("projects"), list)
            and isinstance(data.get("recipients"), list)
        )
        if not ok:
            raise ConfigError(
                "user store metadata is damaged",
                path=self.meta_path,
                hint="restore it from a backup, or move the directory away and "
                "run `envshim user init` (the values file is kept apart)",
            )
        return data  # type: ignore[return-value]

    @property
    def plaintext(self) -> bool:
        return self.meta["encryption"] == "plaintext"

    @property
    def values_path(self) -> Path:
        return self.plain_path if self.plaintext else self.age_path

    def projects(self) -> list[str]:
        return [p["path"] for p in self.meta["projects"] if isinstance(p, dict) and "path" in p]

    def belongs_to(self, root: Path) -> bool:
        here = os.path.realpath(root)
        return any(os.path.realpath(p) == here for p in self.projects())

    def check_permissions(self) -> None:
        """A store others can read or write is refused, with the chmod that fixes it."""
        st = os.stat(self.dir)
        if not _is_private(st):
            raise ConfigError(
                f"user store directory is open to others (mode {st.st_mode & 0o777:o})",
                path=self.dir,
                hint=_fix_hint(self.dir, "700"),
            )
        for path in (self.values_path, self.meta_path):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if not _is_private(st):
                raise ConfigError(
                    f"user store file is open to others (mode {st.st_mode & 0o777:o})",
                    path=path,
                    hint=_fix_hint(path, "600"),
                )

    def use_identities(self, identities: list[Any]) -> None:
        """Identities someone already loaded (the team layer shares them through the context)."""
        self._identities = list(identities)

    def identities(self, warnings: list[str] | None = None) -> list[Any]:
        if self._identities is None:
            from .keys import load_identities

            self._identities = load_identities(self.environ, warnings)
        return self._identities

    def read(self, warnings: list[str] | None = None) -> dict[str, str]:
        """The values, decrypted in memory. Raises DecryptError/ConfigError with the fix."""
        self.check_permissions()
        try:
            data = self.values_path.read_bytes()
        except FileNotFoundError:
            return {}
        if self.plaintext:
            return self._decode(data)
        identities = self.identities(warnings)
        if not identities:
            # `envshim join` would make a new key, which cannot open a store made with the old
            recipients = ", ".join(self.meta["recipients"]) or "unknown recipients"
            raise NoKeyError(
                f"user store is encrypted to {recipients}, and you have no age identity",
                path=self.values_path,
                hint="restore the key that made it (or set SOPS_AGE_KEY_FILE to it), "
                "or `envshim user clear` to start over without the old values",
            )
        import pyrage

        try:
            plain = pyrage.decrypt(data, [i.identity for i in identities])
        except Exception as exc:
            if "No matching keys" in str(exc):
                recipients = ", ".join(self.meta["recipients"]) or "unknown recipients"
                raise NoKeyError(
                    f"user store is encrypted to {recipients}, and none of your identities matches",
                    path=self.values_path,
                    hint="set SOPS_AGE_KEY_FILE to the key that made it (see `envshim user info`), "
                    "or `envshim user clear` to start over without the old values",
                ) from None
            raise self._damaged() from None
        return self._decode(plain)

    def _damaged(self) -> DecryptError:
        return DecryptError(
            "user store is damaged: it does not decrypt or parse",
            path=self.values_path,
            hint="restore the file from a backup, or `envshim user clear` to start over",
        )

    def _decode(self, data: bytes) -> dict[str, str]:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self._damaged() from None
        values = doc.get("values") if isinstance(doc, dict) else None
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise self._damaged()
        return values

    # -- writing

    def _encode(self, values: Mapping[str, str]) -> bytes:
        body: dict[str, Any] = {"values": dict(sorted(values.items()))}
        if self.plaintext:
            body = {"_": PLAINTEXT_LABEL, **body}
            return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        import pyrage

        from .keys import parse_recipient

        recipients = [parse_recipient(r) for r in self.meta["recipients"]]
        if not recipients:
            raise self._damaged()
        data = pyrage.encrypt(json.dumps(body, ensure_ascii=False).encode("utf-8"), recipients)
        return data

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from .atomic import locked

        with locked(self.dir / "store"):
            self._meta = None  # another writer may have changed it while we waited
            yield

    def _write_meta(self, meta: dict[str, Any]) -> None:
        from .atomic import write_atomic

        write_atomic(
            self.meta_path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n", lock=False
        )
        self._meta = meta

    def _write_values(self, values: Mapping[str, str]) -> None:
        from .atomic import write_atomic

        data = self._encode(values)
        if not self.plaintext:
            # prove it opens with a key we hold before it replaces anything
            import pyrage

            identities = self.identities()
            try:
                pyrage.decrypt(data, [i.identity for i in identities])
            except Exception:
                raise NoKeyError(
                    "none of your identities can open the user store as written",
                    path=self.values_path,
                    hint="set SOPS_AGE_KEY_FILE to the key that made it (`envshim user info`)",
                ) from None
        write_atomic(self.values_path, data, lock=False)

    def create(self, root: Path, *, plaintext: bool = False) -> bool:
        """Make the store for ``root`` if it does not exist; True when it was made here."""
        self._precheck(plaintext)
        with self._locked():
            if self.exists():
                return False
            self._create_locked(root, plaintext=plaintext)
            return True

    def _precheck(self, plaintext: bool) -> None:
        """Fail before anything is created when no identity could encrypt the store."""
        if not plaintext and not self.exists() and not self.identities():
            raise no_identity_error(self.environ)

    def _create_locked(self, root: Path, *, plaintext: bool) -> None:
        recipients: list[str] = []
        if not plaintext:
            identities = self.identities()
            if not identities:
                raise no_identity_error(self.environ)
            recipients = choose_recipients(identities, self.environ)
        meta = {
            "envshim_user_store": FORMAT_VERSION,
            "id": self.id,
            "encryption": "plaintext" if plaintext else "age",
            "recipients": recipients,
            "created": now_iso(),
            "projects": [project_record(root, self.environ)],
        }
        if plaintext:
            meta["warning"] = PLAINTEXT_LABEL
        self.dir.mkdir(mode=0o700, parents=False, exist_ok=True)
        self._meta = meta
        self._write_values({})
        self._write_meta(meta)

    def update(
        self,
        change: Callable[[dict[str, str]], Any],
        *,
        root: Path | None = None,
        create: bool = False,
        reset: bool = False,
    ) -> dict[str, str]:
        """Read, ``change(values)`` in place, write back: all under the store's lock.

        ``create``: make the store for ``root`` first when it is missing.
        ``reset``: start from no values and re-choose the recipients (``clear``),
        which also recovers a store nobody can open any more.
        """
        if not self.exists() and (not create or root is None):
            raise self.missing_error()  # checked before locking: the lock would create the dir
        if create:
            self._precheck(False)
        with self._locked():
            if not self.exists():
                if not create or root is None:
                    raise self.missing_error()
                self._create_locked(root, plaintext=False)
            if root is not None and not self.belongs_to(root):
                raise foreign_store_error(self, root)
            if reset:
                values: dict[str, str] = {}
                self.check_permissions()
                if not self.plaintext:
                    identities = self.identities()
                    if not identities:
                        raise no_identity_error(self.environ, self.values_path)
                    meta = dict(self.meta, recipients=choose_recipients(identities, self.environ))
            else:
                values = self.read()
            before = set(values)
            change(values)
            for key, value in values.items():
                if key not in before:  # a name already stored is the doctor's to report
                    check_key(key)
                if "\0" in value:
                    raise UsageError(
                        f"the value of {key} contains a NUL byte, which no environment can hold"
                    )
            if reset and not self.plaintext and meta != self.meta:
                old = self._meta
                self._meta = meta  # encrypt to the new recipients, then record them
                try:
                    self._write_values(values)
                except BaseException:
                    self._meta = old
                    raise
                self._write_meta(meta)
            else:
                self._write_values(values)
            return values

    def missing_error(self) -> ConfigError:
        return ConfigError(
            "no user store for this project on this machine yet",
            path=self.dir,
            hint="`envshim user set KEY` or `envshim user init` creates it",
        )

    def add_project(self, root: Path) -> bool:
        """Let ``root`` load this store too (``envshim user link``); False if it already may."""
        with self._locked():
            if self.belongs_to(root):
                return False
            meta = dict(self.meta)
            meta["projects"] = [*meta["projects"], project_record(root, self.environ)]
            self._write_meta(meta)
            return True


def foreign_store_error(store: Store, root: Path) -> ConfigError:
    return ConfigError(foreign_store_message(store, root), path=root)


def foreign_store_message(store: Store, root: Path) -> str:
    owners = store.projects()
    owner = owners[0] if owners else "another project"
    gone = "" if owners and os.path.isdir(owner) else " (which no longer exists: moved?)"
    return (
        f"user store {store.id} belongs to {owner}{gone}, not to this directory; "
        "not loaded: run `envshim user link` here to share it, "
        "or `envshim user init --new` for a store of this directory's own"
    )


def project_record(root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    record = {"path": os.path.realpath(root), "linked": now_iso()}
    remote = git_remote(root, environ)
    if remote:
        record["git_remote"] = remote
    return record


def git_remote(root: Path, environ: Mapping[str, str]) -> str | None:
    """``remote.origin.url``, with any credentials in it removed."""
    import shutil
    import subprocess

    git = shutil.which("git", path=environ.get("PATH"))
    if not git:
        return None
    try:
        proc = subprocess.run(
            git_argv("config", "--get", "remote.origin.url", git=git),
            cwd=root,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    url = proc.stdout.strip()
    if proc.returncode != 0 or not url:
        return None
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url)


# the project side (options, the link) lives in its own module; these names stay importable here
from .userproject import MISE_FILES, ProjectLink, open_project, write_link  # noqa: E402, F401
