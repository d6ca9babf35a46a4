"""dotenvx private keys kept in the OS secret store, against a real Secret Service.

Every test here runs its own D-Bus session (``dbus-run-session``) with a real
gnome-keyring whose login keyring is unlocked with a password, and has the real
dotenvx put the key there (`dotenvx encrypt`, then `dotenvx native up`, which
moves the key out of ``.env.keys`` into the store). dotenvx is the oracle: what
it decrypts with the store, envshim decrypts; where it leaves the store shut
(``CI``, ``DOTENVX_NO_NATIVE=true``), so does envshim.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import need, run_envshim

# What the .env holds before `dotenvx encrypt` (dotenv syntax) and what it means.
# No `$`: dotenvx expands it and envshim does not, a difference tested elsewhere.
SOURCE = "".join(
    [
        "HELLO=World\n",
        'DB_PASSWORD="s3cr3t value ✓"\n',
        'APOS="it\'s"\n',
        'MULTI="line1\\nline2"\n',
        "EMPTY=\n",
    ]
)
EXPECTED = {
    "HELLO": "World",
    "DB_PASSWORD": "s3cr3t value ✓",
    "APOS": "it's",
    "MULTI": "line1\nline2",
    "EMPTY": "",
}
SECRETS_SERVICE = "org.freedesktop.secrets"
SLOW = 5.0  # seconds: envshim gives up on the store after 2


def _dbus_send(env: dict[str, str], dest: str, path: str, method: str, *args: str) -> str:
    return subprocess.run(
        [need("dbus-send"), "--session", "--print-reply", f"--dest={dest}", path, method, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def _daemon_pid(env: dict[str, str]) -> int:
    """The pid of the process that owns the Secret Service name on this bus."""
    out = _dbus_send(
        env,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.GetConnectionUnixProcessID",
        f"string:{SECRETS_SERVICE}",
    )
    return int(out.split("uint32")[1].split()[0])


@pytest.fixture
def keyring(clean_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The environment of a fresh session bus with an unlocked gnome-keyring.

    The bus lives as long as ``dbus-run-session``'s child, a ``cat`` reading our
    pipe: closing the pipe ends the session, and gnome-keyring leaves with its bus.
    """
    session = need("dbus-run-session")
    daemon = need("gnome-keyring-daemon")
    need("secret-tool")
    env = {k: v for k, v in clean_env.items() if k not in ("CI", "DBUS_SESSION_BUS_ADDRESS")}
    Path(env["XDG_CACHE_HOME"]).mkdir(parents=True, exist_ok=True)  # its control socket
    proc = subprocess.Popen(
        [session, "--", "sh", "-c", 'printf "%s\\n" "$DBUS_SESSION_BUS_ADDRESS"; exec cat'],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    pids: list[int] = []
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().decode().strip()
        assert address.startswith("unix:"), "dbus-run-session printed no bus address"
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        # --unlock reads the login keyring's password on stdin (creating the keyring)
        unlock = subprocess.run(
            [daemon, "--unlock", "--components=secrets"],
            input=b"keyring-password-" + secrets.token_hex(4).encode(),
            env=env,
            capture_output=True,
            timeout=30,
        )
        assert unlock.returncode == 0, unlock.stderr
        deadline = time.monotonic() + 10
        while not pids:  # the daemon it forked takes the bus name a moment later
            try:
                pids.append(_daemon_pid(env))
            except subprocess.CalledProcessError:
                assert time.monotonic() < deadline, "gnome-keyring never joined the bus"
                time.sleep(0.05)
        yield env
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        for pid in pids:  # it leaves with the bus; make sure of it
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _dotenvx(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("dotenvx"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _stored_key(env: dict[str, str], public: str) -> str:
    """The private key the store holds for ``public`` (read with the real secret-tool)."""
    return subprocess.run(
        [need("secret-tool"), "lookup", "service", "dotenvx", "public-key", public],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()


def _native_project(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A project whose `.env` the real dotenvx encrypted, its key only in the store."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".env").write_text(SOURCE)
    (proj / "envshim.toml").write_text('files = [".env"]\n')
    assert _dotenvx("encrypt", "-f", ".env", cwd=proj, env=env).returncode == 0
    up = _dotenvx("native", "up", "-f", ".env", cwd=proj, env=env)
    assert up.returncode == 0, up.stderr
    text = (proj / ".env").read_text()
    public = re.search(r'^DOTENV_PUBLIC_KEY="?([0-9a-f]{66})', text, re.M)
    assert public, "dotenvx wrote no public key"
    keys = proj / ".env.keys"
    assert not keys.exists() or "DOTENV_PRIVATE_KEY=" not in keys.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", _stored_key(env, public[1]))
    assert "World" not in text
    return proj, public[1]


def _export(proj: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_envshim("export", "--format", "json", str(proj), env=env)
    return proc, time.monotonic() - started


def _dotenvx_values(proj: Path, env: dict[str, str]) -> dict[str, str]:
    got = _dotenvx("get", "-f", ".env", cwd=proj, env=env)
    values = json.loads(got.stdout)
    values.pop("DOTENV_PUBLIC_KEY", None)
    return values


def _assert_missing_key(proc: subprocess.CompletedProcess[str], proj: Path, key: str) -> None:
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"{proj / '.env'}: you have no DOTENV_PRIVATE_KEY* for .env" in proc.stderr
    assert key not in proc.stderr and "World" not in proc.stderr


def test_key_only_in_the_secret_store_opens_the_file(keyring, tmp_path):
    proj, public = _native_project(tmp_path, keyring)
    proc, _ = _export(proj, keyring)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED
    assert _dotenvx_values(proj, keyring) == EXPECTED  # the oracle reads the same
    key = _stored_key(keyring, public)
    assert key not in proc.stdout and key not in proc.stderr


def test_store_not_asked_when_the_environment_or_keys_file_has_the_key(keyring, tmp_path):
    """A dbus-monitor on the session bus sees every search of the Secret Service:
    none while a matching key is in the environment or `.env.keys`, one without."""
    proj, public = _native_project(tmp_path, keyring)
    key = _stored_key(keyring, public)
    log = tmp_path / "monitor.log"
    rule = "type='method_call',interface='org.freedesktop.Secret.Service',member='SearchItems'"
    with log.open("w") as out:
        monitor = subprocess.Popen(
            [need("dbus-monitor"), "--session", rule], stdout=out, stderr=out, env=keyring
        )
    try:
        deadline = time.monotonic() + 10
        while "NameLost" not in log.read_text():  # it has become a monitor
            assert time.monotonic() < deadline, "dbus-monitor did not start"
            time.sleep(0.05)

        proc, _ = _export(proj, {**keyring, "DOTENV_PRIVATE_KEY": key})
        assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
        keys_file = proj / ".env.keys"
        keys_file.write_text(f"DOTENV_PRIVATE_KEY={key}\n")
        keys_file.chmod(0o600)
        proc, _ = _export(proj, keyring)
        assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
        keys_file.unlink()

        # the control: without them, the store is searched, by its public key
        proc, _ = _export(proj, keyring)
        assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
        deadline = time.monotonic() + 10
        while f'string "{public}"' not in log.read_text():
            assert time.monotonic() < deadline, "the control search never reached the bus"
            time.sleep(0.05)
        # messages arrive in order: a search by the two runs above would come first
        assert log.read_text().count("member=SearchItems") == 1
    finally:
        monitor.terminate()
        monitor.wait(timeout=10)

    # with the store's entry gone, the key in the environment alone still opens it
    subprocess.run(
        [need("secret-tool"), "clear", "service", "dotenvx", "public-key", public],
        env=keyring,
        check=True,
        timeout=30,
    )
    assert _stored_key(keyring, public) == ""
    proc, _ = _export(proj, {**keyring, "DOTENV_PRIVATE_KEY": key})
    assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
    proc, _ = _export(proj, keyring)
    _assert_missing_key(proc, proj, key)


def test_a_key_that_does_not_match_leaves_the_store_in_use(keyring, tmp_path):
    """dotenvx files store keys by public key: a DOTENV_PRIVATE_KEY for another file
    (or an unrelated .env.keys entry) does not stop the lookup, in dotenvx or envshim."""
    proj, _ = _native_project(tmp_path, keyring)
    other = secrets.token_hex(32)
    env = {**keyring, "DOTENV_PRIVATE_KEY": other}
    assert _dotenvx_values(proj, env) == EXPECTED
    proc, _ = _export(proj, env)
    assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
    assert other not in proc.stderr
    keys_file = proj / ".env.keys"
    keys_file.write_text(f"DOTENV_PRIVATE_KEY={secrets.token_hex(32)}\n")
    keys_file.chmod(0o600)
    assert _dotenvx_values(proj, keyring) == EXPECTED
    proc, _ = _export(proj, keyring)
    assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr


@pytest.mark.parametrize(
    ("name", "value", "opened"),
    [
        ("CI", "1", False),
        ("CI", "false", False),
        ("DOTENVX_NO_NATIVE", "true", False),
        ("DOTENVX_NO_NATIVE", "1", True),
    ],
)
def test_ci_and_dotenvx_no_native_keep_the_store_shut(keyring, tmp_path, name, value, opened):
    """dotenvx never asks the store when CI is set (to anything) or DOTENVX_NO_NATIVE=true."""
    proj, public = _native_project(tmp_path, keyring)
    env = {**keyring, name: value}
    dotenvx_opened = _dotenvx("get", "HELLO", "-f", ".env", cwd=proj, env=env).stdout.strip()
    assert (dotenvx_opened == "World") is opened  # the oracle
    proc, _ = _export(proj, env)
    if opened:
        assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr
    else:
        _assert_missing_key(proc, proj, _stored_key(keyring, public))


def test_locked_keyring_is_no_key(keyring, tmp_path):
    """A locked keyring asks for its password through a prompter; with none to show it,
    the lookup fails, and envshim gives the usual missing-key error at once."""
    proj, public = _native_project(tmp_path, keyring)
    key = _stored_key(keyring, public)
    _dbus_send(
        keyring,
        SECRETS_SERVICE,
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.Lock",
        "array:objpath:/org/freedesktop/secrets/collection/login",
    )
    proc, took = _export(proj, keyring)
    _assert_missing_key(proc, proj, key)
    assert took < SLOW


def test_hung_secret_service_is_given_up_quickly(keyring, tmp_path):
    """The keyring daemon stopped (SIGSTOP): D-Bus would wait 25 s, dotenvx 10 s;
    envshim kills secret-tool after 2 s and reports the missing key."""
    proj, public = _native_project(tmp_path, keyring)
    key = _stored_key(keyring, public)
    daemon = _daemon_pid(keyring)
    os.kill(daemon, signal.SIGSTOP)
    try:
        proc, took = _export(proj, keyring)
    finally:
        os.kill(daemon, signal.SIGCONT)
    _assert_missing_key(proc, proj, key)
    assert 1.5 < took < SLOW  # it did wait for the store, and not for long
    # and the store answers again once the daemon runs
    proc, _ = _export(proj, keyring)
    assert proc.returncode == 0 and json.loads(proc.stdout) == EXPECTED, proc.stderr


def test_outside_any_session_the_key_is_missing_quickly(keyring, tmp_path):
    """The key is in a store, but this shell has no session bus to reach it."""
    proj, public = _native_project(tmp_path, keyring)
    key = _stored_key(keyring, public)
    outside = {k: v for k, v in keyring.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    proc, took = _export(proj, outside)
    _assert_missing_key(proc, proj, key)
    assert took < SLOW
    # a bus address that leads nowhere is no key either
    gone = {**keyring, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    proc, took = _export(proj, gone)
    _assert_missing_key(proc, proj, key)
    assert took < SLOW
