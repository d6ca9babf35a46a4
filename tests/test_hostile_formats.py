"""Hostile secret files, attacked for real through the CLI (`envshim export` in a subprocess).

Every attack forges a file the way someone without a key could (changing a
sops type tag, appending a line, planting a device or a huge header) and checks
that envshim fails closed: non-zero exit, nothing on stdout, one line on stderr
that never holds the secret, and an answer within seconds.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import age_keygen, need

LIMIT_S = 10.0  # "within a few seconds" on a shared 2-core machine


def _run(*args: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "envshim", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return proc, time.monotonic() - start


def _refused(proc: subprocess.CompletedProcess, took: float, *hidden: str) -> str:
    assert proc.returncode != 0, proc.stdout
    assert proc.stdout == ""
    assert took < LIMIT_S, f"took {took:.1f} s"
    err = proc.stderr
    assert err.count("\n") == 1, err  # one line
    for text in hidden:
        assert text not in err
    assert "\x1b" not in err and "\x07" not in err and "Traceback" not in err
    return err


@pytest.fixture
def proj(clean_env, tmp_path):
    """A project whose secret file is named in envshim.toml, and a key that opens it."""
    pub = age_keygen(tmp_path / "key.txt")
    root = tmp_path / "proj"
    root.mkdir()
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "key.txt")}
    return root, pub, env


def _sops(pub: str, env: dict[str, str], plain: Path, *extra: str) -> str:
    kind = {".env": "dotenv", ".yaml": "yaml", ".json": "json"}[plain.suffix]
    args = ["encrypt", "--age", pub, *extra, "--input-type", kind, "--output-type", kind]
    proc = subprocess.run(
        [need("sops"), *args, str(plain)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _use(root: Path, name: str) -> None:
    (root / "envshim.toml").write_text(f"files = [{json.dumps(name)}]\n")


# --- 1. sops type tags ----------------------------------------------------------------------


@pytest.mark.parametrize("new_type", ["int", "float", "bool"])
@pytest.mark.parametrize("store", [".env", ".yaml", ".json"])
def test_changed_type_tag_never_shows_the_plaintext(proj, new_type, store):
    root, pub, env = proj
    password = "pw-" + secrets.token_hex(12)
    plain = root / f"plain{store}"
    plain.write_text(
        {
            ".env": f"USER=app\nDB_PASSWORD={password}\n",
            ".yaml": f"USER: app\nDB_PASSWORD: {password}\n",
            ".json": json.dumps({"USER": "app", "DB_PASSWORD": password}),
        }[store]
    )
    text = _sops(pub, env, plain)
    plain.unlink()
    forged, n = re.subn(r"(DB_PASSWORD\W+ENC\[[^\]]*)type:str\]", rf"\1type:{new_type}]", text)
    assert n == 1
    (root / f"secrets.enc{store}").write_text(forged)
    _use(root, f"secrets.enc{store}")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, password, password[3:])
    assert "the value of DB_PASSWORD does not match its sops type" in err
    assert f"secrets.enc{store}" in err
    # the real sops refuses the same file
    real = subprocess.run(
        [need("sops"), "decrypt", str(root / f"secrets.enc{store}")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert real.returncode != 0


# --- 2. no content in messages, control characters escaped ----------------------------------


def test_bare_private_key_line_in_an_age_file_is_not_shown(proj):
    root, pub, env = proj
    identity = (root.parent / "key.txt").read_text().split()[-1]
    assert identity.startswith("AGE-SECRET-KEY-1")
    subprocess.run(
        [need("age"), "-r", pub, "-o", str(root / "secrets.env.age")],
        input=f"A=1\n{identity}\n".encode(),
        check=True,
    )
    _use(root, "secrets.env.age")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, identity, identity[:20], "AGE-SECRET")
    assert "secrets.env.age:2:" in err and "line 2 has no '='" in err


def test_control_characters_in_a_file_name_are_escaped(proj):
    root, _pub, env = proj
    name = "sec\x1b]52;c;ZXZpbA==\x07\x1b[2J.enc.env"
    (root / name).write_text("SECRET=plaintext-value\n")
    _use(root, name)
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, "plaintext-value")
    assert "\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J" in err


# --- 3. strict detection ------------------------------------------------------------------


def test_a_comment_does_not_make_plain_lines_pass_as_dotenvx(proj):
    root, _pub, env = proj
    value = "plain-" + secrets.token_hex(8)
    (root / ".env.production").write_text(
        f'# DOTENV_PUBLIC_KEY="02ab" values look like encrypted:BASE64\nAPI_TOKEN={value}\n'
    )
    _use(root, ".env.production")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, value)
    assert "not encrypted" in err and ".env.production" in err


def test_plain_line_added_to_a_real_dotenvx_file_is_refused(proj):
    root, _pub, env = proj
    env = {**env, "PATH": f"{Path(need('dotenvx')).parent}:{env['PATH']}"}
    (root / ".env.ci").write_text("TOKEN=real-token\n")
    subprocess.run(
        [need("dotenvx"), "encrypt", "-f", ".env.ci"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    with (root / ".env.ci").open("a") as fh:
        fh.write("LD_AUDIT=/tmp/evil.so\n")
    _use(root, ".env.ci")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, "/tmp/evil.so")
    lines = (root / ".env.ci").read_text().splitlines()
    assert f".env.ci:{len(lines)}: the value of LD_AUDIT is not encrypted" in err


def test_sops_markers_without_metadata_are_not_a_sops_file(proj):
    root, _pub, env = proj
    (root / "secrets.enc.env").write_text("TOKEN=plain-token\nsops_version=3.11.0\n")
    _use(root, "secrets.enc.env")
    proc, took = _run("export", "bash", env=env, cwd=root)
    _refused(proc, took, "plain-token")


# --- 4. keyless edits sops accepts ----------------------------------------------------------


def test_appended_empty_value_cannot_blank_a_secret(proj):
    root, pub, env = proj
    plain = root / "p.env"
    plain.write_text("A=secret-a\nB=b\n")
    text = _sops(pub, env, plain)
    plain.unlink()
    # sops writes no line for nothing: put the forged one among the values, where a diff hides it
    lines = text.splitlines(keepends=True)
    lines.insert(2, "A=\n")
    (root / "secrets.enc.env").write_text("".join(lines))
    _use(root, "secrets.enc.env")
    real = subprocess.run(
        [need("sops"), "decrypt", str(root / "secrets.enc.env")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert real.returncode == 0 and "A=\n" in real.stdout  # sops accepts the forgery
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, "secret-a")
    assert "secrets.enc.env:3: A appears again with an empty value" in err


def test_inserted_plain_value_is_refused(proj):
    root, pub, env = proj
    plain = root / "p.env"
    plain.write_text("A=secret-a\n")
    text = _sops(pub, env, plain)
    plain.unlink()
    (root / "secrets.enc.env").write_text("PATH=.:/usr/bin\n" + text)
    _use(root, "secrets.enc.env")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, "secret-a", ".:/usr/bin")
    assert "secrets.enc.env" in err


def test_empty_values_sops_wrote_still_load_as_sops_reads_them(proj):
    root, pub, env = proj
    plain = root / "p.env"
    plain.write_text("A=1\nOPTIONAL=\nB=2\n")
    (root / "secrets.enc.env").write_text(_sops(pub, env, plain))
    plain.unlink()
    _use(root, "secrets.enc.env")
    proc, _took = _run("export", "json", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"A": "1", "OPTIONAL": "", "B": "2"}


def test_unencrypted_suffix_and_mac_only_encrypted_still_load(proj):
    root, pub, env = proj
    plain = root / "p.yaml"
    plain.write_text("# a comment\nhost_unencrypted: db.local\npassword: pw\nlist:\n    - x\n")
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - age: {pub}\n    mac_only_encrypted: true\n"
    )
    text = subprocess.run(
        [need("sops"), "encrypt", str(plain)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "mac_only_encrypted: true" in text and "host_unencrypted: db.local" in text
    plain.unlink()
    (root / "secrets.enc.yaml").write_text(text)
    _use(root, "secrets.enc.yaml")
    proc, _took = _run("export", "json", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "host_unencrypted": "db.local",
        "password": "pw",
        "list__0": "x",
    }


# --- 5. bounded work ------------------------------------------------------------------------


def test_size_limit_is_one_line_naming_the_limit(proj):
    root, pub, env = proj
    plain = root / "p.env"
    plain.write_text("A=" + "x" * 3000 + "\n")
    (root / "secrets.enc.env").write_text(_sops(pub, env, plain))
    plain.unlink()
    _use(root, "secrets.enc.env")
    proc, took = _run("export", "bash", env={**env, "ENVSHIM_MAX_FILE_BYTES": "2048"}, cwd=root)
    err = _refused(proc, took, "xxxx")
    assert "secrets.enc.env" in err and "2048" in err and "ENVSHIM_MAX_FILE_BYTES" in err
    proc, _took = _run("export", "bash", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo"])
def test_a_secret_file_linked_to_a_device_or_fifo_is_refused_at_once(proj, target):
    root, _pub, env = proj
    if target == "fifo":
        os.mkfifo(root / "pipe")
        target = str(root / "pipe")
    for name in ("secrets.enc.env", "secrets.env.age", ".env.production"):
        (root / name).unlink(missing_ok=True)
        (root / name).symlink_to(target)
        _use(root, name)
        proc, took = _run("export", "bash", env=env, cwd=root)
        err = _refused(proc, took)
        assert name in err


def test_billion_laughs_yaml_fails_fast(proj):
    root, pub, env = proj
    plain = root / "p.yaml"
    plain.write_text("A: x\n")
    real = _sops(pub, env, plain)
    plain.unlink()
    laughs = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    forged = "\n".join(laughs) + "\n" + real[real.index("sops:") :]
    assert len(forged.encode()) < 3000
    (root / "secrets.enc.yaml").write_text(forged)
    _use(root, "secrets.enc.yaml")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took)
    assert "aliases" in err and "secrets.enc.yaml" in err


def test_a_few_aliases_still_work(proj):
    root, pub, env = proj
    plain = root / "p.yaml"
    plain.write_text("base: &b\n    x: 1\nother: *b\n")
    (root / "secrets.enc.yaml").write_text(_sops(pub, env, plain))
    plain.unlink()
    _use(root, "secrets.enc.yaml")
    proc, _took = _run("export", "json", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"base__x": "1", "other__x": "1"}


def test_catastrophic_unencrypted_regex_is_linear_as_in_sops(proj):
    root, pub, env = proj
    long_key = "a" * 5000 + "b"
    plain = root / "p.env"
    plain.write_text(f"{long_key}=v\nTOKEN=t\n")
    start = time.monotonic()
    text = _sops(pub, env, plain, "--unencrypted-regex", "^(a+)+$")
    sops_took = time.monotonic() - start
    plain.unlink()
    (root / "secrets.enc.env").write_text(text)
    _use(root, "secrets.enc.env")
    proc, took = _run("export", "json", env=env, cwd=root)
    # Python's backtracking re would take 2**5000 steps here; Go's regexp and RE2 are linear
    assert took < LIMIT_S, f"took {took:.1f} s (sops {sops_took:.1f} s)"
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {long_key: "v", "TOKEN": "t"}


def test_age_header_with_a_huge_stanza_is_refused_before_decryption(proj):
    root, pub, env = proj
    subprocess.run(
        [need("age"), "-r", pub, "-o", str(root / "secrets.env.age")], input=b"A=1\n", check=True
    )
    data = (root / "secrets.env.age").read_bytes()
    intro, rest = data.split(b"\n", 1)
    stanza = b"-> x-grease arg\n" + (b"A" * 64 + b"\n") * 20000 + b"AAAA\n"
    (root / "secrets.env.age").write_bytes(intro + b"\n" + stanza + rest)
    _use(root, "secrets.env.age")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took)
    assert "age header" in err and "secrets.env.age" in err
    # the age CLI also refuses the forged file
    real = subprocess.run(
        [need("age"), "-d", "-i", str(root.parent / "key.txt"), str(root / "secrets.env.age")],
        capture_output=True,
    )
    assert real.returncode != 0


def test_inserted_empty_path_never_reaches_the_shell(proj):
    """sops accepts `PATH=` added without a key (an empty value is neither encrypted nor
    hashed); envshim never applies it: names that decide which code runs never come
    from a secret file."""
    root, pub, env = proj
    plain = root / "p.env"
    plain.write_text("A=secret-a\n")
    text = _sops(pub, env, plain)
    plain.unlink()
    (root / "secrets.enc.env").write_text("PATH=\n" + text)
    real = subprocess.run(
        [need("sops"), "decrypt", str(root / "secrets.enc.env")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert real.returncode == 0 and real.stdout.startswith("PATH=\n")  # sops accepts it
    _use(root, "secrets.enc.env")
    proc, took = _run("export", "bash", env=env, cwd=root)
    err = _refused(proc, took, "secret-a")
    assert "secrets.enc.env:1: PATH" in err
