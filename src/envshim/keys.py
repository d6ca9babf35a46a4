"""Age identities and recipients, gathered from every place sops and mise look.

One key then serves sops, mise and envshim. pyrage is imported inside the
functions that need it, so importing this module costs nothing on the export
path of a project without secrets.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ._record import dataclass  # dataclasses without inspect: the export path
from .errors import ConfigError, DecryptError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

# The one next step wherever a secret does not open for lack of a key: `join` creates an
# identity when there is none and prints the line a maintainer runs to add it.
JOIN_HINT = "run `envshim join` and send the line it prints to a maintainer"

_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
_AGE_MAGIC = "age-encryption.org/v1"


@dataclass
class Identity:
    """One private key: the pyrage object, its public key, and where it was found."""

    identity: Any  # pyrage.x25519.Identity | pyrage.ssh.Identity
    recipient: str  # age1… or "ssh-ed25519 AAAA…"
    source: str  # a path or "$VAR"; never the secret


def _home(environ: Mapping[str, str]) -> Path:
    # Not paths.home: sops (Go's os.UserHomeDir) and mise take $HOME as given, even relative.
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def default_key_file(environ: Mapping[str, str]) -> Path:
    """``<user config dir>/sops/age/keys.txt`` as sops computes it.

    sops uses Go's ``os.UserConfigDir`` (``$XDG_CONFIG_HOME`` or ``~/.config`` on
    Unix, ``~/Library/Application Support`` on macOS) but honours
    ``XDG_CONFIG_HOME`` on macOS too.
    """
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if sys.platform == "darwin":
        base = Path(xdg) if xdg else _home(environ) / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(environ.get("APPDATA") or _home(environ) / "AppData" / "Roaming")
    else:
        base = Path(xdg) if xdg and os.path.isabs(xdg) else _home(environ) / ".config"
    return base / "sops" / "age" / "keys.txt"


def mise_key_file(environ: Mapping[str, str]) -> Path:
    """mise's default age identity, ``~/.config/mise/age.txt``."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else _home(environ) / ".config"
    return base / "mise" / "age.txt"


def check_private(path: Path) -> None:
    """Refuse a key file that group or others can read, naming the fix."""
    mode = path.stat().st_mode
    if mode & 0o077:
        import shlex

        raise DecryptError(
            f"key file is readable by group or others (mode {mode & 0o777:o})",
            path=path,
            hint=f"run `chmod 600 {shlex.quote(str(path))}`",
        )


def _warn(warnings: list[str] | None, text: str) -> None:
    if warnings is None:
        sys.stderr.write(f"envshim: warning: {text}\n")
    else:
        warnings.append(text)


def _has_terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _unlock_passphrase_file(data: bytes, source: str) -> str:
    """Decrypt an scrypt-protected identity file, asking for its passphrase on the terminal."""
    import getpass

    import pyrage

    if not _has_terminal():
        raise DecryptError(
            "identity file is passphrase-protected and there is no terminal to ask for it",
            path=source,
            hint="run the command from a terminal, or provide the key through SOPS_AGE_KEY_CMD",
        )
    if data.lstrip().startswith(_ARMOR_BEGIN.encode()):
        data = _dearmor(data)
    for _attempt in range(3):
        secret = getpass.getpass(f"Passphrase for {source}: ")
        try:
            return pyrage.passphrase.decrypt(data, secret).decode("utf-8")
        except Exception:
            sys.stderr.write("envshim: wrong passphrase\n")
    raise DecryptError(
        "wrong passphrase for the identity file",
        path=source,
        hint="check the passphrase and try again",
    )


def _dearmor(data: bytes) -> bytes:
    """The binary age file inside an ASCII-armored one (pyrage.passphrase needs it)."""
    import base64

    lines = [ln.strip() for ln in data.decode("ascii", "replace").strip().splitlines()]
    body = [ln for ln in lines if ln and not ln.startswith("-----")]
    return base64.b64decode("".join(body))


def parse_identities(text: str, source: str, warnings: list[str] | None = None) -> list[Identity]:
    """The identities in an age identity file's text: comments and blank lines skipped."""
    from pyrage import x25519

    out: list[Identity] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("AGE-SECRET-KEY-PQ-1"):
            _warn(
                warnings,
                f"{source}:{number}: post-quantum age identity (AGE-SECRET-KEY-PQ-1…) "
                "is not supported by envshim's age library; skipped",
            )
            continue
        if line.startswith("AGE-PLUGIN-"):
            _warn(warnings, f"{source}:{number}: age plugin identities are not supported; skipped")
            continue
        try:
            ident = x25519.Identity.from_str(line)
        except Exception:
            raise DecryptError(
                "not an age identity (expected AGE-SECRET-KEY-1…)",
                path=source,
                line=number,
                hint="an identity file holds one key per line, `#` comments",
            ) from None
        out.append(Identity(ident, str(ident.to_public()), source))
    return out


def _read_key_file(path: Path) -> bytes:
    try:
        check_private(path)
        return path.read_bytes()
    except OSError as exc:
        raise DecryptError(
            f"cannot read the key file ({exc.strerror or type(exc).__name__})",
            path=path,
            hint="check its owner and permissions",
        ) from None


def _identities_from_file(path: Path, warnings: list[str] | None) -> list[Identity]:
    data = _read_key_file(path)
    head = data.lstrip()[:64].decode("ascii", "replace")
    if head.startswith((_ARMOR_BEGIN, _AGE_MAGIC)):
        text = _unlock_passphrase_file(data, str(path))
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError(
                "identity file is not text", path=path, hint="expected AGE-SECRET-KEY-1… lines"
            ) from None
    return parse_identities(text, str(path), warnings)


def _ssh_public(path: Path, data: bytes) -> str:
    """The OpenSSH public key of a private key: from ``<path>.pub``, else derived."""
    pub = path.with_name(path.name + ".pub")
    try:
        fields = pub.read_text().split()
        if len(fields) >= 2:
            return f"{fields[0]} {fields[1]}"
    except OSError:
        pass
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(data, password=None)
    text = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return " ".join(text.split()[:2])


def _ssh_identity(path: Path, warnings: list[str] | None) -> list[Identity]:
    from pyrage import ssh

    data = _read_key_file(path)
    try:
        ident = ssh.Identity.from_buffer(data)
        recipient = _ssh_public(path, data)
    except Exception:
        _warn(
            warnings,
            f"{path}: SSH key could not be used as an age identity "
            "(passphrase-protected or unsupported type); skipped",
        )
        return []
    return [Identity(ident, recipient, str(path))]


def _run_key_cmd(command: str) -> str:
    """``SOPS_AGE_KEY_CMD``: a command the user set in their own environment."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError:
        raise ConfigError("SOPS_AGE_KEY_CMD cannot be parsed", hint="check its quoting") from None
    if not argv:
        return ""
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DecryptError(
            f"SOPS_AGE_KEY_CMD could not run ({type(exc).__name__})",
            hint="check the command in SOPS_AGE_KEY_CMD",
        ) from None
    if proc.returncode != 0:
        raise DecryptError(
            f"SOPS_AGE_KEY_CMD failed (exit {proc.returncode})",
            hint="check the command in SOPS_AGE_KEY_CMD",
        )
    return proc.stdout.decode("utf-8", "replace")


def load_identities(
    environ: Mapping[str, str], warnings: list[str] | None = None
) -> list[Identity]:
    """Every identity the user has, in sops' order of sources, without duplicates.

    Non-fatal problems (a post-quantum key, a named file that is missing) go to
    ``warnings`` (or stderr when it is None); a key file readable by others and
    an undecryptable passphrase file raise :class:`DecryptError`.
    """
    found: list[Identity] = []

    def from_text(var: str) -> None:
        text = environ.get(var)
        if text:
            found.extend(parse_identities(text, f"${var}", warnings))

    def from_file(path: Path, var: str | None = None) -> None:
        if path.is_file():
            found.extend(_identities_from_file(path, warnings))
        elif var:
            _warn(warnings, f"${var} names {path}, which does not exist")

    def from_named_file(var: str) -> None:
        value = environ.get(var)
        if value:
            from_file(Path(value).expanduser(), var)

    from_text("ENVSHIM_AGE_KEY")
    from_named_file("ENVSHIM_AGE_KEY_FILE")
    from_text("SOPS_AGE_KEY")
    from_named_file("SOPS_AGE_KEY_FILE")
    if environ.get("SOPS_AGE_KEY_CMD"):
        try:
            output = _run_key_cmd(environ["SOPS_AGE_KEY_CMD"])
        except (ConfigError, DecryptError) as exc:
            # as sops: a failing command (a locked password manager) leaves the other sources usable
            _warn(warnings, str(exc))
        else:
            found.extend(parse_identities(output, "$SOPS_AGE_KEY_CMD", warnings))
    from_text("MISE_SOPS_AGE_KEY")
    from_named_file("MISE_SOPS_AGE_KEY_FILE")
    from_file(default_key_file(environ))
    from_file(mise_key_file(environ))
    ssh_named = environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    ssh_paths = [Path(ssh_named).expanduser()] if ssh_named else []
    ssh_dir = _home(environ) / ".ssh"
    ssh_paths += [ssh_dir / "id_ed25519", ssh_dir / "id_rsa"]
    for path in ssh_paths:
        if path.is_file():
            found.extend(_ssh_identity(path, warnings))

    unique: list[Identity] = []
    seen: set[str] = set()
    for ident in found:
        if ident.recipient not in seen:
            seen.add(ident.recipient)
            unique.append(ident)
    return unique


def identity_files(environ: Mapping[str, str]) -> list[Path]:
    """The identity files envshim would read (for the hook's watch list)."""
    paths = [
        Path(environ[v]).expanduser()
        for v in ("ENVSHIM_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE", "MISE_SOPS_AGE_KEY_FILE")
        if environ.get(v)
    ]
    paths += [default_key_file(environ), mise_key_file(environ)]
    ssh_dir = _home(environ) / ".ssh"
    paths += [ssh_dir / "id_ed25519", ssh_dir / "id_rsa"]
    return paths


def parse_recipient(text: str) -> Any:
    """A pyrage recipient from ``age1…`` or ``ssh-ed25519 …``/``ssh-rsa …``."""
    from pyrage import ssh, x25519

    text = text.strip()
    try:
        if text.startswith("age1pq1"):
            raise ConfigError(
                "post-quantum age recipients (age1pq1…) are not supported",
                hint="use an X25519 key from `age-keygen` or `envshim key new`",
            )
        if text.startswith("age1"):
            return x25519.Recipient.from_str(text)
        if text.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return ssh.Recipient.from_str(text)
    except ConfigError:
        raise
    except Exception:
        pass
    shown = text[:16] + ("…" if len(text) > 16 else "")
    raise ConfigError(
        f"not an age or SSH public key: {shown!r}",
        hint="expected age1… or ssh-ed25519 AAAA… (see `envshim key show`)",
    )


def normalize_recipient(text: str) -> str:
    """The canonical string of a recipient: ``age1…`` or ``<type> <base64>`` (comment dropped)."""
    text = text.strip()
    if text.startswith("ssh-"):
        return " ".join(text.split()[:2])
    return text


def generate_identity() -> tuple[str, str]:
    """A fresh X25519 identity: (secret ``AGE-SECRET-KEY-1…``, public ``age1…``)."""
    from pyrage import x25519

    ident = x25519.Identity.generate()
    return str(ident), str(ident.to_public())


def _looks_like_identity_file(path: Path) -> bool:
    """Whether an existing file holds age identities (or is an encrypted identity file)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return False
    text = head.decode("utf-8", "replace")
    if text.lstrip().startswith((_ARMOR_BEGIN, _AGE_MAGIC)):
        return True
    return any(ln.strip().startswith("AGE-") for ln in text.splitlines())


def write_new_identity(path: Path) -> str:
    """Write a new identity file as ``age-keygen`` does (0600 in a 0700 dir); return its public key.

    Never replaces an existing file.
    """
    from datetime import UTC, datetime

    from .atomic import write_atomic

    path = Path(path)
    if path.exists():
        if _looks_like_identity_file(path):
            raise ConfigError(
                "an identity file already exists here; not overwriting it",
                path=path,
                hint="`envshim key show` prints its public key",
            )
        raise ConfigError(
            "a file that is not an age identity file is already here; not overwriting it",
            path=path,
            hint="choose another path with --file",
        )
    secret, public = generate_identity()
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    text = f"# created: {created}\n# public key: {public}\n{secret}\n"
    write_atomic(path, text, mode=0o600, overwrite=False)
    return public
