"""Plain age files (armored and binary, X25519 and SSH recipients) as team secret files."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import age_keygen as _keygen
from conftest import key_copy as _key_copy
from conftest import need, need_vectors, run_envshim
from envshim.errors import DecryptError
from envshim.formats.age import NoMatchingKey, read_file
from envshim.layers.base import LayerContext

TEAM_ENV = {
    "STRIPE_KEY": "sk_test_123",
    "REDIS_URL": "redis://:pa ss@localhost:6379/0",
    "SINGLE": "literal $NOT_EXPANDED",
    "MULTI": "first\nsecond",
}


def _ctx(root: Path, environ: dict[str, str]) -> LayerContext:
    return LayerContext(cwd=root, root=root, profiles=[], environ=environ, options={})


def _age_encrypt(plaintext: str, out: Path, *args: str) -> None:
    subprocess.run([need("age"), *args, "-o", str(out)], input=plaintext.encode(), check=True)


@pytest.mark.parametrize(
    ("vector", "key"),
    [("team.env.age", "alice.key"), ("team.env.age", "bob.key"), ("team.env.bin.age", "alice.key")],
)
def test_vectors_decrypt_to_documented_plaintext(vector, key, clean_env, tmp_path):
    vectors = need_vectors() / "generated"
    keyfile = _key_copy(vectors / key, tmp_path / "key.txt")
    ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(keyfile)})
    bindings = read_file(vectors / vector, ctx)
    assert {b.key: b.value for b in bindings} == TEAM_ENV
    assert [b.line for b in bindings] == [2, 3, 4, 5]


def test_binary_vector_refuses_bob_as_missing_key(clean_env, tmp_path):
    vectors = need_vectors() / "generated"
    keyfile = _key_copy(vectors / "bob.key", tmp_path / "key.txt")
    ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(keyfile)})
    with pytest.raises(NoMatchingKey) as info:
        read_file(vectors / "team.env.bin.age", ctx)
    text = str(info.value)
    bob_public = (vectors / "bob.key").read_text().split("public key: ")[1].split()[0]
    assert "team.env.bin.age" in text and bob_public in text
    assert "`envshim join`" in text


FRESH_VALUES = {
    "API_TOKEN": "tok_" + secrets.token_hex(12),
    "WITH_SPACES": "  two  spaces  ",
    "DOLLAR": "$HOME ${NOPE} `whoami` $(id)",
    "UNICODE": "héllo ✓ 🙂",
    "QUOTES": 'it\'s "quoted"',
}


def _dotenv_text(values: dict[str, str]) -> str:
    """Written by hand (single quotes where possible), not by envshim."""
    lines = ["# made by the test", ""]
    for k, v in values.items():
        if "'" in v:
            escaped = v.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'export {k}="{escaped}"')
        else:
            lines.append(f"{k}='{v}'")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("armor", [True, False], ids=["armored", "binary"])
def test_fresh_x25519_files_from_real_age(armor, clean_env, tmp_path):
    alice, bob = tmp_path / "alice.txt", tmp_path / "bob.txt"
    pub_a, pub_b = _keygen(alice), _keygen(bob)
    out = tmp_path / "secrets.env.age"
    _age_encrypt(
        _dotenv_text(FRESH_VALUES), out, "-r", pub_a, "-r", pub_b, *(["-a"] if armor else [])
    )
    assert out.read_bytes().startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1")
    for key in (alice, bob):
        ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(key)})
        assert {b.key: b.value for b in read_file(out, ctx)} == FRESH_VALUES


def _ssh_keypair(home: Path, kind: str = "ed25519") -> str:
    """A key in ~/.ssh (made with cryptography, as ssh-keygen would); returns the public line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    (ssh / f"id_{kind}").write_bytes(private)
    (ssh / f"id_{kind}").chmod(0o600)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    (ssh / f"id_{kind}.pub").write_text(public + " test@envshim\n")
    return public


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_fresh_file_for_ssh_recipient(kind, clean_env, home, tmp_path):
    public = _ssh_keypair(home, kind)
    (tmp_path / "recipients.txt").write_text(public + "\n")
    out = tmp_path / "secrets.env.age"
    _age_encrypt(_dotenv_text(FRESH_VALUES), out, "-R", str(tmp_path / "recipients.txt"), "-a")
    ctx = _ctx(tmp_path, clean_env)  # the identity comes from ~/.ssh/id_<kind>
    assert {b.key: b.value for b in read_file(out, ctx)} == FRESH_VALUES


def _project(tmp_path: Path, plaintext: str, pub: str, *, armor: bool = True) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "envshim.toml").write_text('files = ["secrets.env.age"]\n')
    _age_encrypt(plaintext, proj / "secrets.env.age", "-r", pub, *(["-a"] if armor else []))
    return proj


def test_export_json_end_to_end(clean_env, tmp_path):
    pub = _keygen(tmp_path / "k.txt")
    proj = _project(tmp_path, _dotenv_text(FRESH_VALUES), pub)
    proc = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "k.txt")},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == FRESH_VALUES
    assert FRESH_VALUES["API_TOKEN"] not in proc.stderr


def _assert_one_line_failure(proc, name: str, canary: str) -> None:
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
    assert canary not in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("damage", ["truncated_header", "truncated_armor", "flipped_payload"])
def test_damaged_file_is_one_line_error(damage, clean_env, tmp_path):
    canary = "CANARY_" + secrets.token_hex(8)
    pub = _keygen(tmp_path / "k.txt")
    proj = _project(tmp_path, f"TOKEN={canary}\n", pub, armor=damage == "truncated_armor")
    path = proj / "secrets.env.age"
    data = path.read_bytes()
    if damage == "truncated_header":
        data = data[: data.index(b"\n---") - 5]
    elif damage == "truncated_armor":
        data = data[:120]
    else:
        data = data[:-10] + bytes([data[-10] ^ 1]) + data[-9:]
    path.write_bytes(data)
    proc = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "k.txt")},
    )
    _assert_one_line_failure(proc, "secrets.env.age", canary)
    assert "recipients add" not in proc.stderr  # damage is not a missing key


def test_wrong_key_and_no_key_are_one_line_errors(clean_env, tmp_path):
    canary = "CANARY_" + secrets.token_hex(8)
    pub = _keygen(tmp_path / "right.txt")
    other_pub = _keygen(tmp_path / "wrong.txt")
    proj = _project(tmp_path, f"TOKEN={canary}\n", pub, armor=False)
    wrong = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "wrong.txt")},
    )
    _assert_one_line_failure(wrong, "secrets.env.age", canary)
    assert other_pub in wrong.stderr and "`envshim join`" in wrong.stderr
    nokey = run_envshim("export", "--format", "json", str(proj), env=clean_env)
    _assert_one_line_failure(nokey, "secrets.env.age", canary)
    assert "no age identity" in nokey.stderr


def test_not_an_age_file_with_age_suffix(clean_env, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "envshim.toml").write_text('files = ["secrets.env.age"]\n')
    (proj / "secrets.env.age").write_text("TOKEN=plain\n")
    proc = run_envshim("export", "--format", "json", str(proj), env=clean_env)
    _assert_one_line_failure(proc, "secrets.env.age", "plain\n")
    assert "not an age file" in proc.stderr


def test_bad_dotenv_inside_does_not_quote_plaintext(clean_env, tmp_path):
    pub = _keygen(tmp_path / "k.txt")
    ctx = _ctx(tmp_path, {**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "k.txt")})
    out = tmp_path / "s.env.age"
    _age_encrypt("GOOD=1\nQsecret-line-without-equals\n", out, "-r", pub)
    with pytest.raises(DecryptError) as info:
        read_file(out, ctx)
    assert info.value.line == 2
    assert "Q" not in str(info.value).replace(str(out), "")


def _double_quoted(value: str) -> str:
    """The test's own writer: dotenv double quotes with \\\\ \\" \\r \\n escapes."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    return f'"{out}"'


_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), _values, min_size=1, max_size=4
    ),
    armor=st.booleans(),
)
def test_any_value_round_trips_through_real_age(values, armor, clean_env, tmp_path_factory):
    base = tmp_path_factory.mktemp("prop")
    pub = _keygen(base / "k.txt")
    text = "".join(f"export {k}={_double_quoted(v)}\n" for k, v in values.items())
    out = base / "s.env.age"
    _age_encrypt(text, out, "-r", pub, *(["-a"] if armor else []))
    ctx = _ctx(base, {**clean_env, "SOPS_AGE_KEY_FILE": str(base / "k.txt")})
    assert {b.key: b.value for b in read_file(out, ctx)} == values
