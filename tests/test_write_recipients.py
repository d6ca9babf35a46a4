"""Writes go only to recipients the user confirmed.

An attacker commits a ``.sops.yaml`` that adds their key (an age key, or an
SSH key) after the user's ``envshim allow``. Every envshim write refuses before
it reads or writes anything, naming the new recipient and the way to confirm
it; the attacker's real key (``age -d``, ``sops decrypt``) opens none of the
files envshim wrote meanwhile. Once the user confirms, the write goes ahead,
and the same decryption now succeeds, which shows the check could fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim

CANARY = "canary-recipient-9d1c"


@pytest.fixture
def team(tmp_path: Path, clean_env: dict[str, str]) -> dict:
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    env = clean_env
    (root / "mise.toml").write_text("[env]\nPLAIN = 'x'\n")
    alice = run_envshim("key", "new", env=env, cwd=root, check=True).stdout.strip()
    run_envshim("recipients", "add", alice, env=env, cwd=root, check=True)
    run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input=CANARY, check=True)
    run_envshim(
        "secrets", "--file", "secrets.env.age", "set", "G", "-", env=env, cwd=root, input=CANARY
    )
    run_envshim("allow", env=env, cwd=root, check=True)
    return {"root": root, "env": env, "alice": alice, "tmp": tmp_path}


def _attacker(tmp: Path, kind: str) -> tuple[Path, str, str]:
    """(private key file, public key, how a message shows it) made by the real tools."""
    keys = tmp / "attacker"
    keys.mkdir()
    if kind == "age":
        public = age_keygen(keys / "key.txt")
        return keys / "key.txt", public, public
    subprocess.run(
        [
            need("ssh-keygen"),
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "mallory",
            "-f",
            str(keys / "id"),
        ],
        check=True,
    )
    kind_, body = (keys / "id.pub").read_text().split()[:2]
    return keys / "id", f"{kind_} {body}", f"{kind_} …{body[-12:]}"


def _add_to_sops_yaml(root: Path, alice: str, recipient: str) -> None:
    """The attacker's commit: one more recipient in the creation rule."""
    config = root / ".sops.yaml"
    text = config.read_text()
    assert alice in text
    config.write_text(text.replace(alice, f"{alice},{recipient}"))


def _secret_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("secrets*")) if p.is_file()}


def _attacker_opens(team: dict, kind: str, key: Path, name: str) -> bool:
    """Does the attacker's key decrypt ``name``? age files with age, sops files with sops."""
    root = team["root"]
    if name.endswith(".age"):
        proc = subprocess.run(
            [need("age"), "-d", "-i", str(key), name], cwd=root, capture_output=True, text=True
        )
        return proc.returncode == 0 and CANARY in proc.stdout
    nohome = team["tmp"] / "nohome"
    nohome.mkdir(exist_ok=True)
    env = {"PATH": team["env"]["PATH"], "HOME": str(nohome)}
    env["SOPS_AGE_KEY_FILE" if kind == "age" else "SOPS_AGE_SSH_PRIVATE_KEY_FILE"] = str(key)
    proc = subprocess.run(
        [need("sops"), "decrypt", name], cwd=root, env=env, capture_output=True, text=True
    )
    return proc.returncode == 0


def _attempts(team: dict) -> list[tuple[tuple[str, ...], str | None, dict[str, str]]]:
    """Every command that writes team secrets, as a user would run it next."""
    editor = team["tmp"] / "editor.sh"
    editor.write_text('#!/bin/sh\necho "E=edited" >> "$1"\n')
    editor.chmod(0o755)
    (team["root"] / "plain.env").write_text("P=plain\n")
    bob = age_keygen(team["tmp"] / "bob.key")
    return [
        (("secrets", "set", "B", "-"), "b", {}),  # an existing sops file
        (("secrets", "--file", "secrets.env.age", "set", "H", "-"), "h", {}),  # age: to the rule
        (("secrets", "--file", "secrets.new.enc.env", "set", "N", "-"), "n", {}),  # a new file
        (("secrets", "rm", "A"), None, {}),
        (("secrets", "edit"), None, {"EDITOR": str(editor)}),
        (("secrets", "encrypt", "plain.env", "-o", "secrets.plain.enc.env"), None, {}),
        (("recipients", "add", bob), None, {}),
        (("recipients", "rm", team["alice"][:20]), None, {}),
    ]


@pytest.mark.parametrize("kind", ["age", "ssh"])
def test_a_recipient_added_after_allow_receives_nothing(team: dict, kind: str) -> None:
    root, env = team["root"], team["env"]
    key, public, shown = _attacker(team["tmp"], kind)
    _add_to_sops_yaml(root, team["alice"], public)
    before = _secret_files(root)
    config = (root / ".sops.yaml").read_bytes()
    for args, value, extra in _attempts(team):
        r = run_envshim(*args, env={**env, **extra}, cwd=root, input=value)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert shown in r.stderr and "envshim allow" in r.stderr, (args, r.stderr)
        assert "--trust-recipients" in r.stderr
        assert _secret_files(root) == before, args  # nothing written, nothing created
        assert (root / ".sops.yaml").read_bytes() == config
    for name in before:
        assert not _attacker_opens(team, kind, key, name), name
    status = run_envshim("status", env=env, cwd=root)
    assert shown in status.stdout + status.stderr or public in status.stdout + status.stderr

    # the user looks and confirms: with allow (age), with the flag (ssh)
    if kind == "age":
        run_envshim("allow", env=env, cwd=root, check=True)
        flag: tuple[str, ...] = ()
    else:
        flag = ("--trust-recipients",)
    r = run_envshim(
        "secrets", *flag, "--file", "secrets.env.age", "set", "H", "-", env=env, cwd=root,
        input=CANARY,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    # control: the attacker's key does open what was written to it after the confirmation
    assert _attacker_opens(team, kind, key, "secrets.env.age")
    assert not _attacker_opens(team, kind, key, "secrets.enc.env")  # its recipients are its own
    r = run_envshim("secrets", "set", "B", "-", env=env, cwd=root, input="b")
    assert r.returncode == 0, r.stderr  # confirmed once is confirmed


def test_without_any_allow_only_the_users_own_key_is_trusted(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    """A fresh clone whose .sops.yaml names the user and a stranger: nothing is encrypted to
    the stranger until the user confirms (the flag); a file to the user alone is fine."""
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    env = clean_env
    own = run_envshim("key", "new", env=env, cwd=root, check=True).stdout.strip()
    stranger = age_keygen(tmp_path / "stranger.key")
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {own},{stranger}\n")
    r = run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input=CANARY)
    assert r.returncode == 1 and stranger in r.stderr and not (root / "secrets.enc.env").exists()
    r = run_envshim(
        "secrets", "set", "A", "-", "--trust-recipients", env=env, cwd=root, input=CANARY
    )
    assert r.returncode == 0, r.stderr
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {own}\n")
    r = run_envshim("secrets", "set", "B", "-", env=env, cwd=root, input="b")
    assert r.returncode == 0, r.stderr


def test_a_recipient_forged_into_a_file_gets_no_new_data_key(team: dict) -> None:
    """A sops file's recipient list is outside its MAC. An entry forged into it must not
    receive the fresh data key that `recipients rm` wraps for the remaining recipients."""
    root, env = team["root"], team["env"]
    key, mallory, _shown = _attacker(team["tmp"], "age")
    bob = age_keygen(team["tmp"] / "bob.key")
    run_envshim("recipients", "add", bob, env=env, cwd=root, check=True)
    path = root / "secrets.enc.env"
    text = path.read_text()
    # copy alice's stanza under mallory's name: the wrapped key is useless to mallory...
    alice_lines = [ln for ln in text.splitlines() if ln.startswith("sops_age__list_0__map_")]
    forged = [ln.replace("list_0", "list_9").replace(team["alice"], mallory) for ln in alice_lines]
    path.write_text(text + "\n".join(forged) + "\n")
    assert not _attacker_opens(team, "age", key, path.name)
    before = _secret_files(root)
    r = run_envshim("recipients", "rm", bob, env=env, cwd=root)
    assert r.returncode == 1 and mallory in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert _secret_files(root) == before
    assert not _attacker_opens(team, "age", key, path.name)
    # ...and keeping it on purpose (the flag) does hand it the new key: the control
    r = run_envshim("recipients", "rm", bob, "--trust-recipients", env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert _attacker_opens(team, "age", key, path.name)
