"""``envshim recipients``: .sops.yaml edited with comments kept, every file re-wrapped, removal rotates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen as _keygen
from conftest import need, run_envshim


def _sops(
    env: dict[str, str], key: Path, *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    # only this key: HOME points at an empty directory, so sops finds no other identity
    e = {"PATH": env["PATH"], "HOME": str(key.parent / "nohome"), "SOPS_AGE_KEY_FILE": str(key)}
    return subprocess.run([need("sops"), *args], env=e, cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def team(tmp_path: Path, clean_env: dict[str, str]) -> dict:
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    keys = tmp_path / "keys"
    keys.mkdir()
    members = {
        name: (keys / f"{name}.key", _keygen(keys / f"{name}.key"))
        for name in ("alice", "bob", "carol")
    }
    (root / ".sops.yaml").write_text(
        "# who can read the team secrets\ncreation_rules:\n"
        "  - path_regex: secrets.*  # every secret file\n"
        f"    age: {members['alice'][1]}\n"
    )
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(members["alice"][0])}
    run_envshim("secrets", "set", "DB_PASSWORD", "-", env=env, cwd=root, input="pw1", check=True)
    (root / "plain.yaml").write_text("api:\n  token: t0k\n")
    run_envshim(
        "secrets", "encrypt", "plain.yaml", "-o", "secrets.enc.yaml", env=env, cwd=root, check=True
    )
    (root / "envshim.toml").write_text("# the team's project\n")
    # alice trusts the project: later `recipients add/rm` of hers keep her record current
    run_envshim("allow", env=env, cwd=root, check=True)
    return {"root": root, "env": env, "members": members}


def test_add_then_rm(team: dict) -> None:
    root, env, members = team["root"], team["env"], team["members"]
    bob_key, bob = members["bob"]
    assert _sops(env, bob_key, "decrypt", "secrets.enc.env", cwd=root).returncode != 0
    r = run_envshim("recipients", "add", bob, env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    config = (root / ".sops.yaml").read_text()
    assert "# who can read the team secrets" in config and "# every secret file" in config
    assert bob in config
    assert _sops(env, bob_key, "decrypt", "secrets.enc.env", cwd=root).stdout == "DB_PASSWORD=pw1\n"
    assert "t0k" in _sops(env, bob_key, "decrypt", "secrets.enc.yaml", cwd=root).stdout
    # a file created after the add is encrypted to bob too (the .sops.yaml rule)
    run_envshim(
        "secrets",
        "--file",
        "secrets.staging.enc.env",
        "set",
        "S",
        "-",
        env=env,
        cwd=root,
        input="s",
        check=True,
    )
    assert _sops(env, bob_key, "decrypt", "secrets.staging.enc.env", cwd=root).stdout == "S=s\n"
    listed = run_envshim("recipients", "list", env=env, cwd=root, check=True).stdout
    assert listed.count(bob) >= 2

    before = (root / "secrets.enc.env").read_text().splitlines()[0]
    r = run_envshim("recipients", "rm", bob[:20], env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "rotate at source: git history keeps the old ciphertext" in r.stdout
    assert "secrets.enc.env: DB_PASSWORD" in r.stdout and "secrets.enc.yaml: api__token" in r.stdout
    assert "pw1" not in r.stdout + r.stderr
    assert bob not in (root / ".sops.yaml").read_text()
    assert "# every secret file" in (root / ".sops.yaml").read_text()
    assert (root / "secrets.enc.env").read_text().splitlines()[0] != before  # rotated data key
    for name in ("secrets.enc.env", "secrets.enc.yaml", "secrets.staging.enc.env"):
        assert _sops(env, bob_key, "decrypt", name, cwd=root).returncode != 0, name
        assert _sops(env, members["alice"][0], "decrypt", name, cwd=root).returncode == 0, name
    out = run_envshim(
        "secrets", "get", "DB_PASSWORD", env={**env, "SOPS_AGE_KEY_FILE": str(bob_key)}, cwd=root
    )
    assert out.returncode == 1 and out.stdout == ""


def test_add_rejects_garbage_and_keeps_files(team: dict) -> None:
    root, env = team["root"], team["env"]
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    for bad in ("age1notakey", "hello", "ssh-ed25519 AAAAnope"):
        r = run_envshim("recipients", "add", bad, env=env, cwd=root)
        assert r.returncode == 1 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


def test_rm_last_recipient_refused(team: dict) -> None:
    root, env, members = team["root"], team["env"], team["members"]
    before = (root / "secrets.enc.env").read_bytes()
    r = run_envshim("recipients", "rm", members["alice"][1], env=env, cwd=root)
    assert r.returncode == 1 and "no recipient" in r.stderr
    assert (root / "secrets.enc.env").read_bytes() == before
    assert members["alice"][1] in (root / ".sops.yaml").read_text()


def test_add_without_access_changes_nothing(team: dict) -> None:
    root, env, members = team["root"], team["env"], team["members"]
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    r = run_envshim(
        "recipients",
        "add",
        members["carol"][1],
        env={**env, "SOPS_AGE_KEY_FILE": str(members["bob"][0])},
        cwd=root,
    )
    assert r.returncode == 1 and "envshim join" in r.stderr  # bob cannot decrypt: join first
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


def test_age_files_follow_the_recipients(team: dict) -> None:
    root, env, members = team["root"], team["env"], team["members"]
    age_file = root / "secrets.env.age"
    enc = subprocess.run(
        [need("age"), "-a", "-r", members["alice"][1]],
        input=b"AGE_TOKEN=a1\n",
        capture_output=True,
        check=True,
    ).stdout
    age_file.write_bytes(enc)
    bob_key, bob = members["bob"]

    def age_d(key: Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [need("age"), "-d", "-i", str(key), str(age_file)], capture_output=True
        )

    assert age_d(bob_key).returncode != 0
    r = run_envshim("recipients", "add", bob, env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert age_d(bob_key).stdout == b"AGE_TOKEN=a1\n"
    assert age_file.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")  # stays armored
    r = run_envshim("recipients", "rm", bob, env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "secrets.env.age: AGE_TOKEN" in r.stdout
    assert age_d(bob_key).returncode != 0
    assert age_d(members["alice"][0]).stdout == b"AGE_TOKEN=a1\n"


def test_mise_inline_age_values_are_named(team: dict) -> None:
    root, env, members = team["root"], team["env"], team["members"]
    (root / "mise.toml").write_text(
        '[env]\nPLAIN = "x"\nINLINE = { age = "YWdlLWVuY3J5cHRpb24ub3JnL3Yx" }\n'
    )
    r = run_envshim("recipients", "add", members["bob"][1], env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "mise.toml: INLINE" in r.stderr and "mise set --age-encrypt" in r.stderr
    r = run_envshim("recipients", "rm", members["bob"][1], env=env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "mise.toml: INLINE (mise inline age, not re-encrypted)" in r.stdout


def test_never_edits_a_sops_yaml_above_the_project(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    outer = tmp_path / "outer"
    root = outer / "proj"
    root.mkdir(parents=True)
    (root / "mise.toml").write_text("")
    above = outer / ".sops.yaml"
    above.write_text(
        "# the user's own\ncreation_rules:\n  - age: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n"
    )
    before = above.read_bytes()
    public = _keygen(tmp_path / "k.key")
    r = run_envshim("recipients", "add", public, env=clean_env, cwd=root)
    assert r.returncode == 0, r.stderr
    assert above.read_bytes() == before
    assert public in (root / ".sops.yaml").read_text()
