"""sops interop both ways, with fresh keys: the real sops reads what envshim writes and vice versa.

Oracles are the real ``sops`` binary and ``age-keygen``; values are random
(hypothesis: unicode, quotes, newlines, ``=``, ``#``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need
from envshim.errors import DecryptError
from envshim.formats import sops
from envshim.keys import load_identities
from envshim.sopsconfig import creation_rule


class Team:
    """Two fresh age keys and a .sops.yaml naming both."""

    def __init__(self, root: Path, names: tuple[str, ...] = ("alice", "bob")) -> None:
        self.root = root
        self.keys: dict[str, Path] = {}
        self.public: dict[str, str] = {}
        for name in names:
            self.add_key(name)
        (root / ".sops.yaml").write_text(
            "creation_rules:\n  - path_regex: \\.enc\\.\n    age: "
            + ",".join(self.public[n] for n in names[:2])
            + "\n"
        )

    def add_key(self, name: str) -> str:
        key = self.root / f"{name}.key"
        subprocess.run([need("age-keygen"), "-o", str(key)], check=True, capture_output=True)
        os.chmod(key, 0o600)
        out = subprocess.run(
            [need("age-keygen"), "-y", str(key)], check=True, capture_output=True, text=True
        )
        self.keys[name] = key
        self.public[name] = out.stdout.strip()
        return self.public[name]

    def ids(self, name: str = "alice"):
        return load_identities(
            {"SOPS_AGE_KEY_FILE": str(self.keys[name]), "HOME": "/nonexistent"}, []
        )

    def sops(self, *args: str, name: str = "alice", check: bool = True, input: str | None = None):
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root),
            "SOPS_AGE_KEY_FILE": str(self.keys[name]),
        }
        return subprocess.run(
            [need("sops"), *args],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=check,
            input=input,
        )


def _dotenv_line_safe(v: str) -> bool:
    # sops' dotenv dialect cannot hold a literal backslash-n or CR; keys/values are one line each
    return "\\n" not in v and "\r" not in v and "\x00" not in v


values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=40
).filter(_dotenv_line_safe)
# YAML holds printable characters only (control characters are not allowed in a YAML stream)
yaml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: not k.endswith("_unencrypted")
)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    need("sops")
    return Team(tmp_path)


def _values(path: Path, ids) -> dict[str, str]:
    return {k: v for k, v, _ in sops.decrypt_file(path, ids)}


def _sops_dotenv(team: Team, path: Path, name: str = "alice") -> dict[str, str]:
    out = {}
    for line in team.sops("decrypt", str(path), name=name).stdout.split("\n"):
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v.replace("\\n", "\n")
    return out


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(keys, values, min_size=1, max_size=6))
def test_envshim_encrypt_sops_decrypts(team: Team, data: dict[str, str]) -> None:
    plain = team.root / "in.env"
    plain.write_text("".join(f"{k}={v.replace(chr(10), chr(92) + 'n')}\n" for k, v in data.items()))
    out = team.root / "secrets.enc.env"
    out.unlink(missing_ok=True)
    sops.encrypt_plaintext(plain, out, creation_rule(out))
    assert _sops_dotenv(team, out) == data
    assert _sops_dotenv(team, out, "bob") == data
    assert _values(out, team.ids("bob")) == data


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(keys, values, min_size=1, max_size=6))
def test_sops_encrypt_envshim_decrypts(team: Team, data: dict[str, str]) -> None:
    plain = team.root / "in.env"
    plain.write_text("".join(f"{k}={v.replace(chr(10), chr(92) + 'n')}\n" for k, v in data.items()))
    out = team.root / "secrets.enc.env"
    out.write_text(
        team.sops("encrypt", "--filename-override", "secrets.enc.env", str(plain)).stdout
    )
    assert _values(out, team.ids("alice")) == data


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.one_of(
            yaml_text, st.integers(-(10**6), 10**6), st.booleans(), st.lists(yaml_text, max_size=3)
        ),
        min_size=1,
        max_size=5,
    )
)
def test_yaml_and_json_both_ways(team: Team, data: dict) -> None:
    data = {k: v for k, v in data.items() if not k.endswith("_unencrypted")}
    if not data:
        return
    for ext in ("yaml", "json"):
        plain = team.root / f"in.{ext}"
        plain.write_text(json.dumps(data, ensure_ascii=False))  # JSON is valid YAML 1.2
        mine = team.root / f"mine.enc.{ext}"
        mine.unlink(missing_ok=True)
        sops.encrypt_plaintext(plain, mine, creation_rule(mine))
        back = json.loads(team.sops("decrypt", "--output-type", "json", str(mine)).stdout)
        assert back == data
        theirs = team.root / f"theirs.enc.{ext}"
        theirs.write_text(
            team.sops(
                "encrypt", "--filename-override", theirs.name, "--input-type", ext, str(plain)
            ).stdout
        )
        assert _values(theirs, team.ids()) == _values(mine, team.ids())


def test_set_keeps_other_ciphertexts_and_sops_reads(team: Team) -> None:
    path = team.root / "secrets.enc.env"
    plain = team.root / "in.env"
    plain.write_text("# note\nA=1\nB=two\nC_unencrypted=open\n")
    path.write_text(team.sops("encrypt", "--filename-override", path.name, str(plain)).stdout)
    before = path.read_text().splitlines()
    doc = sops.open_document(path, team.ids())
    doc.set("B", "new value\nwith newline")
    doc.set("D", "added")
    doc.save()
    after = path.read_text().splitlines()
    assert after[0] == before[0]  # the comment's ciphertext is kept
    assert after[1] == before[1]  # A unchanged
    assert after[2] != before[2]
    assert _sops_dotenv(team, path) == {
        "A": "1",
        "B": "new value\nwith newline",
        "C_unencrypted": "open",
        "D": "added",
    }
    doc = sops.open_document(path, team.ids("bob"))
    doc.remove("A")
    doc.save()
    assert _sops_dotenv(team, path, "bob") == {
        "B": "new value\nwith newline",
        "C_unencrypted": "open",
        "D": "added",
    }
    assert "# note" in team.sops("decrypt", str(path)).stdout


def test_sops_set_on_envshim_file(team: Team) -> None:
    for ext, expected in (
        ("env", {"A": "1", "B": "sops-set"}),
        ("yaml", {"A": "1", "B": "sops-set"}),
    ):
        plain = team.root / f"in.{ext}"
        plain.write_text("A=1\n" if ext == "env" else "A: '1'\n")
        path = team.root / f"secrets.enc.{ext}"
        sops.encrypt_plaintext(plain, path, creation_rule(path))
        team.sops("set", str(path), '["B"]', '"sops-set"')
        assert _values(path, team.ids("bob")) == expected
        # and envshim's change after sops' still reads in sops
        doc = sops.open_document(path, team.ids())
        doc.set("A", "2")
        doc.save()
        if ext == "env":
            assert _sops_dotenv(team, path) == {**expected, "A": "2"}


def test_yaml_set_keeps_comments_and_structure(team: Team) -> None:
    plain = team.root / "in.yaml"
    plain.write_text(
        "# head\napp:\n  db:\n    user: u  # the user\n    pw: x\nlist:\n  - a\n  - b\n"
    )
    path = team.root / "secrets.enc.yaml"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    doc = sops.open_document(path, team.ids())
    assert doc.names() == ["app__db__user", "app__db__pw", "list__0", "list__1"]
    doc.set("app__db__pw", "changed")
    doc.set("list__1", "B")
    doc.save()
    out = team.sops("decrypt", str(path)).stdout
    assert "# head" in out and "# the user" in out
    back = json.loads(team.sops("decrypt", "--output-type", "json", str(path)).stdout)
    assert back == {"app": {"db": {"user": "u", "pw": "changed"}}, "list": ["a", "B"]}


def test_rewrap_and_rotate_remove_a_recipient(team: Team) -> None:
    carol = team.add_key("carol")
    path = team.root / "secrets.enc.env"
    plain = team.root / "in.env"
    plain.write_text("A=1\nB=2\n")
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    doc = sops.open_document(path, team.ids())
    doc.set_recipients([*doc.md.recipients(), carol])
    doc.save()
    assert _sops_dotenv(team, path, "carol") == {"A": "1", "B": "2"}
    before = path.read_text().splitlines()[:2]
    doc = sops.open_document(path, team.ids("carol"))
    doc.set_recipients([team.public["alice"], carol])
    doc.rotate()
    doc.save()
    after = path.read_text().splitlines()[:2]
    assert before[0] != after[0] and before[1] != after[1]  # every value re-encrypted
    assert _sops_dotenv(team, path, "carol") == {"A": "1", "B": "2"}
    assert team.sops("decrypt", str(path), name="bob", check=False).returncode != 0
    with pytest.raises(DecryptError):
        sops.decrypt_file(path, team.ids("bob"))
    assert sops.file_recipients(path) == [team.public["alice"], carol]


def test_key_groups_shamir_both_ways(team: Team) -> None:
    carol = team.add_key("carol")
    (team.root / ".sops.yaml").write_text(
        "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n"
        f"      - age: [{team.public['alice']}]\n      - age: [{team.public['bob']}]\n      - age: [{carol}]\n"
    )
    plain = team.root / "in.env"
    plain.write_text("A=1\n")
    theirs = team.root / "theirs.enc.env"
    theirs.write_text(team.sops("encrypt", "--filename-override", theirs.name, str(plain)).stdout)
    both = load_identities(
        {
            "SOPS_AGE_KEY": team.keys["alice"].read_text() + team.keys["carol"].read_text(),
            "HOME": "/x",
        },
        [],
    )
    assert _values(theirs, both) == {"A": "1"}
    with pytest.raises(DecryptError, match="key groups"):
        sops.decrypt_file(theirs, team.ids("alice"))
    mine = team.root / "mine.enc.env"
    sops.encrypt_plaintext(plain, mine, creation_rule(mine))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(team.root),
        "SOPS_AGE_KEY": team.keys["bob"].read_text() + team.keys["carol"].read_text(),
    }
    out = subprocess.run(
        [need("sops"), "decrypt", str(mine)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout == "A=1\n"


@pytest.mark.parametrize(
    "rule",
    [
        "encrypted_regex: ^(pw|token)$",
        "unencrypted_regex: ^public",
        "encrypted_suffix: _secret",
        "mac_only_encrypted: true",
        "encrypted_comment_regex: sops:enc",
    ],
)
def test_encryption_rules_both_ways(team: Team, rule: str) -> None:
    (team.root / ".sops.yaml").write_text(
        f"creation_rules:\n  - age: {team.public['alice']}\n    {rule}\n"
    )
    plain = team.root / "in.yaml"
    plain.write_text(
        "pw: p1\ntoken: t1\npublic_url: https://x\n# sops:enc\nkey_secret: s1\nn: 5\nplain: v\n"
    )
    expected = {
        "pw": "p1",
        "token": "t1",
        "public_url": "https://x",
        "key_secret": "s1",
        "n": "5",
        "plain": "v",
    }
    theirs = team.root / "theirs.enc.yaml"
    theirs.write_text(team.sops("encrypt", "--filename-override", theirs.name, str(plain)).stdout)
    assert _values(theirs, team.ids()) == expected
    if "comment" in rule:  # read, but not written by envshim
        with pytest.raises(Exception, match="comment regex"):
            sops.open_document(theirs, team.ids()).render()
        return
    mine = team.root / "mine.enc.yaml"
    sops.encrypt_plaintext(plain, mine, creation_rule(mine))
    assert json.loads(team.sops("decrypt", "--output-type", "json", str(mine)).stdout) == {
        **expected,
        "n": 5,
    }
    text = mine.read_text()
    assert ("plain: v" in text) == rule.startswith(("encrypted_regex", "encrypted_suffix"))
    assert ("public_url: https://x" in text) == (not rule.startswith("mac_only"))
    assert ("key_secret: s1" if rule.startswith("encrypted_suffix") else "pw: p1") not in text


def test_ssh_recipient_both_ways(team: Team, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    ssh_key = tmp_path / "id_ed25519"
    ssh_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    os.chmod(ssh_key, 0o600)
    pub = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    (team.root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {pub}\n")
    plain = team.root / "in.env"
    plain.write_text("A=via ssh\n")
    theirs = team.root / "theirs.enc.env"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(ssh_key),
    }
    theirs.write_text(
        subprocess.run(
            [need("sops"), "encrypt", "--filename-override", theirs.name, str(plain)],
            env=env,
            cwd=team.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    ids = load_identities(
        {"HOME": "/nonexistent", "SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(ssh_key)}, []
    )
    assert _values(theirs, ids) == {"A": "via ssh"}
    mine = team.root / "mine.enc.env"
    sops.encrypt_plaintext(plain, mine, creation_rule(mine))
    out = subprocess.run(
        [need("sops"), "decrypt", str(mine)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout == "A=via ssh\n"


def test_sops_edit_on_envshim_file(team: Team, tmp_path: Path) -> None:
    plain = team.root / "in.env"
    plain.write_text("# keep me\nA=1\nB=2\n")
    path = team.root / "secrets.enc.env"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    editor = tmp_path / "ed.sh"
    editor.write_text('#!/bin/sh\nsed -i \'s/^A=1$/A=9/\' "$1"\necho C=3 >> "$1"\n')
    editor.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(team.root),
        "SOPS_AGE_KEY_FILE": str(team.keys["bob"]),
        "EDITOR": str(editor),
    }
    subprocess.run(
        [need("sops"), "edit", str(path)], env=env, cwd=team.root, check=True, capture_output=True
    )
    assert _values(path, team.ids()) == {"A": "9", "B": "2", "C": "3"}
    doc = sops.open_document(path, team.ids())
    assert "# keep me" in doc.plaintext()


def test_yaml_comments_readable_by_sops(team: Team) -> None:
    plain = team.root / "in.yaml"
    plain.write_text(
        "# top\na: 1 # a-eol\nb:\n  c: x # c3\n  # c4\n# c5\nd:\n- 1\n- 2\n  # in list\n# after\n"
        "e:\n    f:\n        g: 1 # g-eol\n    # under e\n# end\n"
    )
    path = team.root / "secrets.enc.yaml"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    proc = team.sops("decrypt", str(path))
    assert "ENC[" not in proc.stdout and "warning" not in proc.stderr
    for word in ("top", "a-eol", "c3", "c4", "c5", "in list", "after", "g-eol", "under e", "end"):
        assert f"# {word}" in proc.stdout, word
        assert f"# {word}" in sops.open_document(path, team.ids()).plaintext(), word


def test_set_nested_yaml_key_goes_under_its_parent(team: Team) -> None:
    plain = team.root / "in.yaml"
    plain.write_text("app:\n  db:\n    user: u\n")
    path = team.root / "secrets.enc.yaml"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    doc = sops.open_document(path, team.ids())
    doc.set("app__db__host", "h")
    doc.set("TOP_LEVEL", "t")
    doc.save()
    back = json.loads(team.sops("decrypt", "--output-type", "json", str(path)).stdout)
    assert back == {"app": {"db": {"user": "u", "host": "h"}}, "TOP_LEVEL": "t"}


def test_truncated_age_header_is_damage_not_missing_key(team: Team) -> None:
    plain = team.root / "in.env"
    plain.write_text("A=1\n")
    path = team.root / "secrets.enc.env"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    lines = path.read_text().splitlines(keepends=True)
    i = next(n for n, ln in enumerate(lines) if ln.startswith("sops_age__list_0__map_enc="))
    head, _, body = lines[i].partition("=")
    chunks = body.split("\\n")
    lines[i] = head + "=" + "\\n".join(chunks[:2] + chunks[-3:])  # header lines cut out
    path.write_text("".join(lines))
    with pytest.raises(DecryptError) as exc:
        sops.decrypt_file(path, team.ids("alice"))
    assert "damaged" in str(exc.value) and "secrets.enc.env" in str(exc.value)
    assert team.sops("decrypt", str(path), check=False).returncode != 0  # sops agrees it is broken


def test_yaml_numbers_sops_reads_differently_are_written_canonically(team: Team) -> None:
    # YAML 1.2 (envshim) reads 0755 as 755, Go's yaml.v3 (sops) as octal 493: the MAC must not depend on it
    plain = team.root / "in.yaml"
    plain.write_text(
        "mode_unencrypted: 0755\nbig_unencrypted: 1_000\nf_unencrypted: 1.50\nsecret: 0755\n"
    )
    path = team.root / "secrets.enc.yaml"
    sops.encrypt_plaintext(plain, path, creation_rule(path))
    back = json.loads(team.sops("decrypt", "--output-type", "json", str(path)).stdout)
    assert back == {
        "mode_unencrypted": 755,
        "big_unencrypted": 1000,
        "f_unencrypted": 1.5,
        "secret": 755,
    }
    assert _values(path, team.ids()) == {
        "mode_unencrypted": "755",
        "big_unencrypted": "1000",
        "f_unencrypted": "1.5",
        "secret": "755",
    }
