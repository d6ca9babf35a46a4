"""Names are checked where they are written: secrets set/edit/encrypt, user set/edit/import, init.

A name no supported shell can hold, one a shell reserves, or one envshim reserves
is refused with one line naming the rule; the file is left byte for byte as it
was; and what was refused never reaches a teammate's ``export``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import git, need, run_envshim
from test_user_support import make_key, snapshot, store_dirs, user_env

# (name, words the one-line refusal must hold)
BAD = [
    ("2X", "not a variable name every shell can hold"),
    ("BAD NAME", "not a variable name every shell can hold"),
    ("1BAD-NAME", "not a variable name every shell can hold"),
    ("ENVSHIM_STATE", "reserved by envshim"),
    ("ENVSHIM_QUIET", "reserved by envshim"),
    ("_envshim_stamp", "reserved by envshim"),
    ("PPID", "reserved by bash, zsh and sh"),
    ("status", "reserved by zsh and fish"),
    ("_", "reserved by bash"),
]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _refused(r, words: str) -> None:
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert words in lines[0], lines[0]
    assert "bash" not in lines[0] or "envshim" not in words  # envshim's names are envshim's


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> dict:
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mise.toml").write_text("[env]\nPLAIN = 'x'\n")
    public = run_envshim("key", "new", env=clean_env, cwd=root, check=True).stdout.strip()
    run_envshim("recipients", "add", public, env=clean_env, cwd=root, check=True)
    run_envshim("secrets", "set", "GOOD", "-", env=clean_env, cwd=root, input="1", check=True)
    run_envshim("secrets", "--file", "secrets.env.age", "set", "AGED", "-", env=clean_env,
                cwd=root, input="2", check=True)  # fmt: skip
    return {"root": root, "env": clean_env, "tmp": tmp_path}


@pytest.mark.parametrize(("name", "words"), BAD)
def test_secrets_set_refuses(project: dict, name: str, words: str) -> None:
    root, env = project["root"], project["env"]
    before = _digest(root)
    for extra in ((), ("--file", "secrets.env.age"), ("--file", "secrets.new.enc.yaml")):
        r = run_envshim("secrets", *extra, "set", name, "-", env=env, cwd=root, input="v")
        _refused(r, words)
        assert _digest(root) == before
    if name == "ENVSHIM_STATE":
        assert "reserved by envshim" in r.stderr and "bash" not in r.stderr


def _editor(project: dict, line: str) -> dict[str, str]:
    editor = project["tmp"] / "add-line.sh"
    editor.write_text(f"#!/bin/sh\nprintf '%s\\n' '{line}' >> \"$1\"\n")
    editor.chmod(0o755)
    return {**project["env"], "EDITOR": str(editor)}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("1BAD-NAME=x", "not a variable name every shell can hold"),
        ("ENVSHIM_STATE=x", "reserved by envshim"),
        ("LINENO=3", "reserved by bash"),
    ],
)
@pytest.mark.parametrize("target", ["secrets.enc.env", "secrets.env.age"])
def test_secrets_edit_refuses_an_added_name(
    project: dict, line: str, words: str, target: str
) -> None:
    root = project["root"]
    before = _digest(root)
    r = run_envshim("secrets", "edit", target, env=_editor(project, line), cwd=root)
    _refused(r, words)
    assert "nothing was changed" in r.stderr
    assert _digest(root) == before
    assert run_envshim("export", "bash", env=project["env"], cwd=root).returncode in (0, 1)


def test_secrets_edit_refuses_a_yaml_key_that_flattens_badly(project: dict) -> None:
    root, env = project["root"], project["env"]
    (root / "plain.yaml").write_text("app:\n  user: u\n")
    run_envshim("secrets", "encrypt", "plain.yaml", "-o", "secrets.enc.yaml", env=env, cwd=root,
                check=True)  # fmt: skip
    before = _digest(root)
    r = run_envshim("secrets", "edit", "secrets.enc.yaml", env=_editor(project, "my-key: x"),
                    cwd=root)  # fmt: skip
    _refused(r, "'my-key' is not a variable name")
    assert _digest(root) == before


def test_secrets_encrypt_refuses_and_writes_nothing(project: dict) -> None:
    root, env = project["root"], project["env"]
    (root / "plain.env").write_text("OK=1\nENVSHIM_STATE=2\n")
    for out in ("secrets.x.enc.env", "secrets.x.env.age"):
        r = run_envshim("secrets", "encrypt", "plain.env", "-o", out, env=env, cwd=root)
        _refused(r, "reserved by envshim")
        assert "plain.env:2" in r.stderr  # the file and line of the bad name
        assert not (root / out).exists()


def test_an_existing_odd_name_does_not_block_other_writes(project: dict) -> None:
    """A name already in a file (written by sops itself) is the doctor's to report; setting
    another key, or changing that one through edit, still works."""
    root, env = project["root"], project["env"]
    r = run_envshim("secrets", "set", "OTHER", "-", env=env, cwd=root, input="3")
    assert r.returncode == 0, r.stderr


@pytest.fixture
def user_project(tmp_path: Path, clean_env: dict[str, str], home: Path) -> dict:
    make_key(home)
    env = user_env(clean_env, tmp_path)
    root = tmp_path / "proj"
    root.mkdir()
    assert run_envshim("user", "init", env=env, cwd=root).returncode == 0
    run_envshim("user", "set", "KEEP", env=env, cwd=root, input="kept", check=True)
    return {"root": root, "env": env, "tmp": tmp_path, "home": home}


@pytest.mark.parametrize(("name", "words"), BAD)
def test_user_set_refuses(user_project: dict, name: str, words: str) -> None:
    root, env = user_project["root"], user_project["env"]
    [store] = store_dirs(user_project["home"])
    before = snapshot(store, root)
    r = run_envshim("user", "set", name, env=env, cwd=root, input="v")
    _refused(r, words)
    assert snapshot(store, root) == before


@pytest.mark.parametrize(
    ("line", "words"),
    [("1BAD-NAME=x", "not a variable name"), ("ENVSHIM_STATE=x", "reserved by envshim")],
)
def test_user_edit_refuses_an_added_name(user_project: dict, line: str, words: str) -> None:
    root = user_project["root"]
    [store] = store_dirs(user_project["home"])
    before = snapshot(store)
    r = run_envshim("user", "edit", env=_editor(user_project, line), cwd=root)
    _refused(r, words)
    assert snapshot(store) == before


def test_user_import_refuses_a_reserved_name(user_project: dict) -> None:
    root, env = user_project["root"], user_project["env"]
    [store] = store_dirs(user_project["home"])
    source = user_project["tmp"] / "import.env"
    source.write_text("FINE=1\nENVSHIM_STATE=x\n")
    before = snapshot(store)
    r = run_envshim("user", "import", str(source), env=env, cwd=root)
    _refused(r, "reserved by envshim")
    assert str(source) in r.stderr
    assert snapshot(store) == before


@pytest.mark.parametrize(("name", "words"), [("ENVSHIM_STATE", "reserved by envshim"),
                                             ("PPID", "reserved by bash")])  # fmt: skip
def test_init_from_dotenv_refuses_before_writing(
    tmp_path: Path, clean_env: dict[str, str], name: str, words: str
) -> None:
    need("sops")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".env").write_text(f"OK=1\n{name}=2\n")
    before = _digest(root)
    r = run_envshim("init", "--from-dotenv", ".env", env=clean_env, cwd=root)
    _refused(r, words)
    assert _digest(root) == before  # no envshim.toml, no .sops.yaml, no secret file
