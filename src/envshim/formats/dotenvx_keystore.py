"""dotenvx private keys kept in the operating system's secret store.

dotenvx (2.25 and later) can keep a file's private key in the OS store instead
of ``.env.keys``: `dotenvx native up`, or the "Linux Secret Service" / "macOS
Keychain" choice `dotenvx encrypt` offers on a terminal. It files the key under
the file's public key (lower-case hex, as ``DOTENV_PUBLIC_KEY`` holds it):

* Linux: a Secret Service item with the attributes ``service=dotenvx`` and
  ``public-key=<hex>``, read here with the platform's own ``secret-tool lookup``
  (libsecret-tools), which is also what dotenvx reads and writes it with;
* macOS: a generic password with service ``dotenvx`` and account ``<hex>``, read
  with ``/usr/bin/security find-generic-password -s dotenvx -a <hex> -w``. Written
  from dotenvx's source and not tested: no macOS machine runs the tests;
* Windows (Credential Manager target ``dotenvx:<hex>``): not supported.

As dotenvx does, the store is asked only for a public key that no private key from
the environment or ``.env.keys`` matches, and never when ``CI`` is set (to anything)
or ``DOTENVX_NO_NATIVE=true``. The answer has to be quick, since the shell hook
waits for it: a tool that does not answer within ``TIMEOUT`` seconds is killed, and
any failure (no session bus, no tool, a locked or absent keyring, a damaged entry)
means "no key", so the file gets the usual missing-key error. The tool is run only
from the system's own directories, never from a PATH a project could extend, with
only the public key in its argv and a minimal environment; its stderr is dropped
and the key it prints is kept in memory only, never logged or shown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from .dotenvx import PrivateKey

SERVICE = "dotenvx"
TIMEOUT = 2.0  # seconds: a locked, hung or absent store must not hold up the prompt
# Where the system installs secret-tool (Debian, Fedora, Arch, NixOS); not PATH,
# which a project's `_.path` may have put its own directories in front of.
SYSTEM_DIRS = ("/usr/bin", "/bin", "/usr/local/bin", "/run/current-system/sw/bin")
SECURITY = "/usr/bin/security"  # macOS; what dotenvx runs too
_HEX_DIGITS = frozenset("0123456789abcdef")

_answers: dict[str, str] = {}  # public key -> private key found, for this process only
_gave_up = False  # the store timed out once: do not wait for it again in this process


def enabled(environ: Mapping[str, str]) -> bool:
    """dotenvx's own switch: no store lookups in CI or when ``DOTENVX_NO_NATIVE=true``."""
    return not environ.get("CI") and environ.get("DOTENVX_NO_NATIVE") != "true"


def lookup(public_key_hex: str, environ: Mapping[str, str]) -> str | None:
    """The private key text the OS store holds for this public key, or ``None``."""
    public = public_key_hex.strip().lower()
    if not _compressed_point(public) or not enabled(environ) or _gave_up:
        return None
    if public not in _answers:
        found = _ask(public, environ)
        if found is None:
            return None  # not remembered: the keyring may be unlocked by the next call
        _answers[public] = found
    return _answers[public]


def _compressed_point(text: str) -> bool:
    """66 lower-case hex digits starting 02 or 03, as dotenvx writes a public key."""
    return len(text) == 66 and text[:2] in ("02", "03") and set(text) <= _HEX_DIGITS


def stored_keys(
    publics: Iterable[str], have: Iterable[PrivateKey], environ: Mapping[str, str]
) -> list[PrivateKey]:
    """Keys from the store for the ``publics`` none of ``have`` matches.

    A stored key counts only if it is 64 hex digits and its public key is the one it
    was filed under (anything else is treated as no key).
    """
    from .dotenvx import _private

    matched = {k.public_hex for k in have}
    out: list[PrivateKey] = []
    for public in dict.fromkeys(p.strip().lower() for p in publics):
        if public in matched:
            continue
        text = lookup(public, environ)
        key = _private("the OS secret store", text) if text else None
        if key is not None and key.public_hex == public:
            out.append(key)
    return out


def _ask(public: str, environ: Mapping[str, str]) -> str | None:
    if sys.platform.startswith("linux"):
        argv = _secret_tool(public, environ)
    elif sys.platform == "darwin":
        argv = [SECURITY, "find-generic-password", "-s", SERVICE, "-a", public, "-w"]
    else:
        return None  # Windows Credential Manager: not supported
    if argv is None or not os.access(argv[0], os.X_OK):
        return None
    return _run(argv, _child_env(environ))


def _secret_tool(public: str, environ: Mapping[str, str]) -> list[str] | None:
    # No session bus to ask: secret-tool would fail (or try to start one under X11).
    if not environ.get("DBUS_SESSION_BUS_ADDRESS"):
        runtime = environ.get("XDG_RUNTIME_DIR")
        if not runtime or not os.path.exists(os.path.join(runtime, "bus")):
            return None
    for directory in SYSTEM_DIRS:
        program = os.path.join(directory, "secret-tool")
        if os.path.isfile(program):
            return [program, "lookup", "service", SERVICE, "public-key", public]
    return None


def _child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What the tool needs to find the bus or keychain, and nothing else (no
    ``DOTENV_PRIVATE_KEY*``, no ``DISPLAY``, so D-Bus is never autolaunched)."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    for name in ("HOME", "USER", "LOGNAME", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        if environ.get(name):
            env[name] = environ[name]
    return env


def _run(argv: list[str], env: dict[str, str]) -> str | None:
    import subprocess

    global _gave_up
    try:
        proc = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT,  # run() kills the child when it expires
            check=False,
        )
    except subprocess.TimeoutExpired:
        _gave_up = True
        return None
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    try:
        return proc.stdout.decode("ascii").strip() or None
    except UnicodeDecodeError:
        return None
