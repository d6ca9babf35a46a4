"""``envshim run --redact`` and ``envshim redact`` end to end: real age secrets, real children,
real signals, a real pseudo-terminal."""

from __future__ import annotations

import base64
import hashlib
import os
import pty
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim

SECRET = "Tr0ub4dor&3-staging/password"
OTHER = "sk_live_0123456789abcdef"
RAW = SECRET.encode()

# The forms a program prints, made with the standard library (not envshim's code).
FORMS = {
    "plain": RAW,
    "base64": base64.b64encode(RAW),
    "url": b"".join(bytes((b,)) if chr(b).isalnum() else f"%{b:02X}".encode() for b in RAW),
    "json": "".join(f"\\u{ord(c):04x}" for c in SECRET).encode(),
    "hex": RAW.hex().encode(),
}


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str], home: Path) -> Path:
    key = home / ".config" / "sops" / "age" / "keys.txt"
    key.parent.mkdir(parents=True, mode=0o700)
    me = age_keygen(key)
    p = tmp_path / "proj"
    p.mkdir()
    (p / "envshim.toml").write_text("")
    plain = f"DB_PASSWORD={SECRET}\nSTRIPE_KEY={OTHER}\nPIN=1234\n".encode()
    subprocess.run(
        [need("age"), "-r", me, "-o", str(p / "secrets.env.age")], input=plain, check=True
    )
    return p


def envshim(*args: str) -> list[str]:
    return [sys.executable, "-m", "envshim", *args]


CHILD = r"""
import base64, os, sys
forms = {forms!r}
out, err = sys.stdout.buffer, sys.stderr.buffer
for name, form in forms.items():
    for stream in (out, err):
        stream.write(name.encode() + b" ")
        half = len(form) // 2
        stream.write(form[:half]); stream.flush()      # one value, two writes
        stream.write(form[half:] + b" end\n"); stream.flush()
blob = open({blob!r}, "rb").read()
out.write(b"BLOB>"); out.write(blob); out.write(b"<BLOB\n"); out.flush()
err.write(b"stderr done\n")
sys.exit(7)
"""


def core(form: bytes) -> bytes:
    return form.rstrip(b"=")[:-2] if form.endswith(b"=") else form


def test_run_redact_every_form_split_across_writes_and_streams(project, clean_env, tmp_path):
    blob = os.urandom(10 << 20)
    assert not any(core(f) in blob for f in FORMS.values())
    (tmp_path / "blob.bin").write_bytes(blob)
    code = CHILD.format(forms=FORMS, blob=str(tmp_path / "blob.bin"))
    proc = subprocess.run(
        envshim("run", "--redact", "--", sys.executable, "-c", code),
        cwd=project, env=clean_env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr[-2000:]
    for stream in (proc.stdout, proc.stderr):
        for name, form in FORMS.items():
            assert core(form) not in stream, name
        assert RAW not in stream
    text_out = proc.stdout[: proc.stdout.index(b"BLOB>")]
    for name in FORMS:
        line = next(li for li in text_out.splitlines() if li.startswith(name.encode() + b" "))
        assert b"[redacted DB_PASSWORD]" in line and line.endswith(b" end"), name
    expected_plain = b"plain [redacted DB_PASSWORD] end\n"
    assert text_out.startswith(expected_plain) and expected_plain in proc.stderr
    # every byte of the binary blob, unchanged, in order
    body = proc.stdout[proc.stdout.index(b"BLOB>") + 5 :]
    assert body == blob + b"<BLOB\n"
    assert proc.stderr.endswith(b"stderr done\n")
    assert b"is redacted" not in proc.stderr  # not a terminal: no notice
    assert b"PIN" in proc.stderr and b"1234" not in proc.stderr  # named, not shown


def test_run_redact_keeps_a_signal_death(project, clean_env):
    proc = subprocess.run(
        envshim("run", "--redact", "--", sys.executable, "-c",
                f"import os, signal; print({SECRET!r}, flush=True); os.kill(os.getpid(), signal.SIGTERM)"),
        cwd=project, env=clean_env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGTERM  # envshim itself died by SIGTERM
    assert proc.stdout == b"[redacted DB_PASSWORD]\n"
    shell = subprocess.run(
        ["bash", "-c", shlex.join(envshim("run", "--redact", "--", "sh", "-c", "kill -INT $$"))
         + "; echo status=$?"],
        cwd=project, env=clean_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shell.stdout.strip().endswith("status=130")


SLEEPER = r"""
import os, signal, sys, time
def got(signum, frame):  # os.write: the signal may come while print("ready") still flushes
    os.write(1, f"child got {{signal.Signals(signum).name}} {secret}\n".encode())
    os._exit(0)
signal.signal(signal.SIGINT, got)
print("ready", flush=True)
time.sleep(60)
"""


def start_sleeper(project: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        envshim("run", "--redact", "--", sys.executable, "-c", SLEEPER.format(secret=SECRET)),
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_sigint_and_sigterm_sent_to_envshim_reach_the_child_once(project, clean_env):
    proc = start_sleeper(project, clean_env)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert out == b"child got SIGINT [redacted DB_PASSWORD]\n", err
    assert proc.returncode == 0
    proc = start_sleeper(project, clean_env)
    proc.send_signal(signal.SIGTERM)  # the child does not handle it: it dies, and so does envshim
    out, _ = proc.communicate(timeout=60)
    assert out == b""
    assert proc.returncode == -signal.SIGTERM


def read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    got = b""
    while marker not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {marker!r}; got {got!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
    return got


def test_terminal_gets_a_notice_and_prompts_show_while_the_child_waits(project, clean_env):
    """On a terminal: one line says output is redacted; a prompt without a newline shows
    while the child waits for input (interactive output is not held back)."""
    child = (
        "import sys; sys.stdout.write('password for {0}? '.format(sys.argv[1])); sys.stdout.flush();"
        "line = sys.stdin.readline(); print('thanks', line.strip())"
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        envshim("run", "--redact", "--", sys.executable, "-c", child, SECRET),
        cwd=project, env=clean_env, stdin=slave, stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        seen = read_until(master, b"? ", deadline)  # the child is now blocked reading stdin
        assert b"password for [redacted DB_PASSWORD]? " in seen
        assert seen.count(b"is redacted") == 1
        os.write(master, OTHER.encode() + b"\n")
        seen += read_until(master, b"thanks", deadline)
        seen += read_until(master, b"\n", deadline)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    assert b"thanks [redacted STRIPE_KEY]" in seen
    assert RAW not in seen


def test_redact_filters_stdin_and_passes_binary_unchanged(project, clean_env, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(
        b"connect postgres://app:" + FORMS["url"] + b"@db/app\n"
        + b'{"token": "' + FORMS["json"] + b'"}\n'
        + b"key " + FORMS["hex"].upper() + b"\nsk " + OTHER.encode() + b"\n"
    )  # fmt: skip
    with log.open("rb") as stdin:
        proc = subprocess.run(envshim("redact"), cwd=project, env=clean_env, stdin=stdin,
                              capture_output=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        b"connect postgres://app:[redacted DB_PASSWORD]@db/app\n"
        b'{"token": "[redacted DB_PASSWORD]"}\n'
        b"key [redacted DB_PASSWORD]\nsk [redacted STRIPE_KEY]\n"
    )
    blob = os.urandom(10 << 20)
    (tmp_path / "blob").write_bytes(blob)
    with (tmp_path / "blob").open("rb") as stdin:
        proc = subprocess.run(envshim("redact"), cwd=project, env=clean_env, stdin=stdin,
                              capture_output=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0
    assert hashlib.sha256(proc.stdout).digest() == hashlib.sha256(blob).digest()


def test_run_redact_command_not_found_and_outside_a_project(project, clean_env, tmp_path):
    out = run_envshim("run", "--redact", "--", "no-such-command-xyz", env=clean_env, cwd=project)
    assert out.returncode == 127 and "command not found" in out.stderr
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    out = run_envshim("run", "--redact", "--", "echo", SECRET, env=clean_env, cwd=empty)
    assert out.returncode == 0 and out.stdout == SECRET + "\n"  # no secrets here to hide


COUNTER = r"""
import os, signal, time
r, w = os.pipe()
os.set_blocking(w, False)
os.set_blocking(r, False)
signal.set_wakeup_fd(w)  # one byte per delivery: Python's handlers would merge two into one
signal.signal(signal.SIGINT, lambda s, f: None)
os.write(1, b"ready\n")
got = b""
while not got:
    time.sleep(0.01)
    try:
        got = os.read(r, 100)
    except BlockingIOError:
        pass
time.sleep(1)  # a second SIGINT (a forwarded copy) would arrive in this time
try:
    got += os.read(r, 100)
except BlockingIOError:
    pass
os.write(1, f"SIGINT x{len(got)}\n".encode())
"""


def test_ctrl_c_on_the_terminal_reaches_the_child_once(project, clean_env):
    """The terminal sends SIGINT to the whole foreground group; envshim does not send a copy."""
    import fcntl
    import termios

    master, slave = pty.openpty()

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        envshim("run", "--redact", "--", sys.executable, "-c", COUNTER),
        cwd=project, env=clean_env, stdin=slave, stdout=slave, stderr=slave,
        preexec_fn=controlling_tty,
    )  # fmt: skip
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        read_until(master, b"ready", deadline)
        os.write(master, b"\x03")  # Ctrl-C
        seen = read_until(master, b"SIGINT x", deadline) + read_until(master, b"\n", deadline)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    assert b"SIGINT x1" in seen
