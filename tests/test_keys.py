"""Identities from every source sops reads, checked against the real age tools."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import age_keygen as _keygen
from conftest import need, need_vectors
from envshim.errors import ConfigError, DecryptError
from envshim.keys import (
    default_key_file,
    generate_identity,
    load_identities,
    parse_recipient,
    write_new_identity,
)


def _age_encrypt(recipient: str, data: bytes) -> bytes:
    return subprocess.run(
        [need("age"), "-r", recipient], input=data, check=True, capture_output=True
    ).stdout


def _decrypts(ident, blob: bytes) -> bytes:
    import pyrage

    return pyrage.decrypt(blob, [ident.identity])


def test_default_key_file_honours_xdg(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    expected = (tmp_path / "xdg" / "sops/age/keys.txt") if sys.platform != "darwin" else None
    if expected:
        assert default_key_file(env) == expected
        assert default_key_file({"HOME": str(tmp_path)}) == tmp_path / ".config/sops/age/keys.txt"


def test_every_source_in_order(tmp_path: Path, clean_env: dict[str, str], home: Path) -> None:
    keys = {}
    for name in (
        "envkey",
        "envfile",
        "sopskey",
        "sopsfile",
        "cmd",
        "misekey",
        "misefile",
        "default",
        "mise_default",
    ):
        keys[name] = tmp_path / f"{name}.txt"
        keys[name] = (keys[name], _keygen(keys[name]))
    default = default_key_file(clean_env)
    default.parent.mkdir(parents=True)
    shutil.copy(keys["default"][0], default)
    os.chmod(default, 0o600)
    mise_default = home / ".config/mise/age.txt"
    mise_default.parent.mkdir(parents=True)
    shutil.copy(keys["mise_default"][0], mise_default)
    os.chmod(mise_default, 0o600)
    env = dict(clean_env)
    env["ENVSHIM_AGE_KEY"] = keys["envkey"][0].read_text()
    env["ENVSHIM_AGE_KEY_FILE"] = str(keys["envfile"][0])
    # two keys in one variable, with a comment between them
    env["SOPS_AGE_KEY"] = (
        keys["sopskey"][0].read_text() + "\n# another\n" + keys["envkey"][0].read_text()
    )
    env["SOPS_AGE_KEY_FILE"] = str(keys["sopsfile"][0])
    env["SOPS_AGE_KEY_CMD"] = f"cat {keys['cmd'][0]}"
    env["MISE_SOPS_AGE_KEY"] = keys["misekey"][0].read_text()
    env["MISE_SOPS_AGE_KEY_FILE"] = str(keys["misefile"][0])
    warnings: list[str] = []
    ids = load_identities(env, warnings)
    order = [
        "envkey",
        "envfile",
        "sopskey",
        "sopsfile",
        "cmd",
        "misekey",
        "misefile",
        "default",
        "mise_default",
    ]
    assert [i.recipient for i in ids] == [keys[n][1] for n in order]  # duplicates dropped
    assert ids[0].source == "$ENVSHIM_AGE_KEY"
    assert ids[1].source == str(keys["envfile"][0])
    assert ids[7].source == str(default)
    assert warnings == []
    for ident in ids:
        assert "AGE-SECRET-KEY" not in ident.source
        assert _decrypts(ident, _age_encrypt(ident.recipient, b"hello")) == b"hello"


def test_permissive_key_file_refused_with_chmod(tmp_path: Path, clean_env: dict[str, str]) -> None:
    key = tmp_path / "my keys.txt"
    _keygen(key)
    os.chmod(key, 0o644)
    with pytest.raises(DecryptError) as exc:
        load_identities({**clean_env, "SOPS_AGE_KEY_FILE": str(key)}, [])
    msg = str(exc.value)
    assert str(key) in msg
    assert f"chmod 600 '{key}'" in msg
    assert "AGE-SECRET-KEY" not in msg


def test_garbage_identity_names_line_not_content(clean_env: dict[str, str]) -> None:
    with pytest.raises(DecryptError) as exc:
        load_identities(
            {**clean_env, "SOPS_AGE_KEY": "# c\nAGE-SECRET-KEY-1NOTAKEYsecretstuff"}, []
        )
    assert "$SOPS_AGE_KEY:2" in str(exc.value)
    assert "secretstuff" not in str(exc.value)


def test_post_quantum_identity_is_a_warning(clean_env: dict[str, str]) -> None:
    vectors = need_vectors()
    pq = (vectors / "public/getsops-sops/age_keysource_test/mockHybridIdentity.txt").read_text()
    secret, public = generate_identity()
    warnings: list[str] = []
    ids = load_identities({**clean_env, "SOPS_AGE_KEY": pq + "\n" + secret}, warnings)
    assert [i.recipient for i in ids] == [public]
    assert len(warnings) == 1 and "post-quantum" in warnings[0]


def _ssh_ed25519(path: Path) -> str:
    """An OpenSSH ed25519 key pair (made with cryptography; ssh-keygen may not be installed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    os.chmod(path, 0o600)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def test_ssh_identity(tmp_path: Path, clean_env: dict[str, str], home: Path) -> None:
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    pub = _ssh_ed25519(ssh_dir / "id_ed25519")
    ids = load_identities(clean_env, [])
    assert [i.recipient for i in ids] == [pub]
    blob = _age_encrypt(pub, b"via ssh")  # the real age encrypts to the SSH key
    assert _decrypts(ids[0], blob) == b"via ssh"
    parse_recipient(pub + " comment")
    # a .pub file next to the key gives the recipient too
    (ssh_dir / "id_ed25519.pub").write_text(pub + " me@host\n")
    assert [i.recipient for i in load_identities(clean_env, [])] == [pub]


def test_ssh_vector(tmp_path: Path, clean_env: dict[str, str]) -> None:
    src = need_vectors() / "public/getsops-sops/age_keysource_test"
    key = tmp_path / "id"
    shutil.copy(src / "mockSshIdentity.txt", key)
    os.chmod(key, 0o600)
    ids = load_identities({**clean_env, "SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(key)}, [])
    assert ids[0].recipient == " ".join((src / "mockSshRecipient.txt").read_text().split()[:2])
    assert _decrypts(ids[0], (src / "mockEncryptedSshKey.txt").read_bytes()) == b"data"


def test_passphrase_file_without_terminal_fails_clearly(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    src = need_vectors() / "public/getsops-sops/age_keysource_test/mockEncryptedIdentity.txt"
    key = tmp_path / "protected.txt"
    shutil.copy(src, key)
    os.chmod(key, 0o600)
    code = (
        "import os,sys\nfrom envshim.keys import load_identities\n"
        "from envshim.errors import EnvshimError\n"
        "try:\n load_identities(dict(os.environ))\nexcept EnvshimError as e:\n"
        " print(e); sys.exit(1)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean_env, "SOPS_AGE_KEY_FILE": str(key)},
        capture_output=True,
        text=True,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert str(key) in proc.stdout and "passphrase" in proc.stdout and "no terminal" in proc.stdout


def test_passphrase_file_prompts_on_terminal(tmp_path: Path, clean_env: dict[str, str]) -> None:
    import pty

    base = need_vectors() / "public/getsops-sops/age_keysource_test"
    key = tmp_path / "protected.txt"
    shutil.copy(base / "mockEncryptedIdentity.txt", key)
    os.chmod(key, 0o600)
    code = (
        "import os\nfrom envshim.keys import load_identities\n"
        "print('RECIPIENTS', [i.recipient for i in load_identities(dict(os.environ))])\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal
        os.execve(
            sys.executable,
            [sys.executable, "-c", code],
            {**clean_env, "SOPS_AGE_KEY_FILE": str(key)},
        )
    import select
    import signal
    import time

    out = b""
    sent = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"Passphrase" in out:
            os.write(fd, b"passphrase\n")
            sent = True
    else:
        os.kill(pid, signal.SIGKILL)  # never hang the suite
    os.waitpid(pid, 0)
    expected = (base / "mockRecipient.txt").read_text().strip()
    assert sent
    assert expected in out.decode()


def test_parse_recipient() -> None:
    _, public = generate_identity()
    parse_recipient(public)
    for bad in ("", "age1xyz", "hello", "AGE-SECRET-KEY-1ABC", "age1pq1abc"):
        with pytest.raises(ConfigError):
            parse_recipient(bad)


def test_write_new_identity(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "keys.txt"
    public = write_new_identity(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    out = subprocess.run(
        [need("age-keygen"), "-y", str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == public
    before = path.read_bytes()
    with pytest.raises(ConfigError):
        write_new_identity(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["keys.txt"] or all(
        p.name.endswith(".lock") or p.name == "keys.txt" for p in path.parent.iterdir()
    )


def test_key_cmd_failure_is_a_warning(clean_env: dict[str, str]) -> None:
    secret, public = generate_identity()
    warnings: list[str] = []
    ids = load_identities(
        {**clean_env, "SOPS_AGE_KEY_CMD": "false", "SOPS_AGE_KEY": secret}, warnings
    )
    assert [i.recipient for i in ids] == [public]
    assert len(warnings) == 1 and "SOPS_AGE_KEY_CMD failed" in warnings[0]
