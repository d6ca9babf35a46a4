"""``envshim example``: .env.example with every key, placeholders for secrets, no overwrite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import git, need_vectors, run_envshim
from envshim.formats.dotenv import parse, parse_sops


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    vectors = need_vectors() / "generated"
    root = tmp_path / "ex proj"
    root.mkdir()
    (root / "mise.toml").write_text(
        '[env]\nAPP_ENV = "dev"\nGREETING = "hello there # not a comment"\n'
        'APOSTROPHE = "it\'s"\nML_DATA_DIR = "{{config_root}}/data"\n_.path = ["bin"]\n',
        encoding="utf-8",
    )
    shutil.copy(vectors / "secrets.enc.env", root / "secrets.enc.env")
    git(root, "init", "-q")  # only what git tracks is written
    git(root, "add", "mise.toml", "secrets.enc.env")
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    return root, {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}


def secret_values() -> dict[str, str]:
    text = (need_vectors() / "generated" / "secrets.plain.env").read_text(encoding="utf-8")
    return {b.key: b.value for b in parse_sops(text)}


def test_example_lists_every_key_with_defaults_and_no_secret(project):
    root, env = project
    out = run_envshim("example", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # the file is the output; the note goes to stderr
    text = (root / ".env.example").read_text(encoding="utf-8")
    values = {b.key: b.value for b in parse(text, ".env.example")}
    secrets = secret_values()
    assert set(values) == {"APP_ENV", "GREETING", "APOSTROPHE", "ML_DATA_DIR", *secrets}
    assert values["APP_ENV"] == "dev"
    assert values["GREETING"] == "hello there # not a comment"
    assert values["APOSTROPHE"] == "it's"
    assert values["ML_DATA_DIR"] == f"{root}/data"
    for key in secrets:
        assert values[key] == "", key
    for value in secrets.values():
        if len(value) >= 4:
            assert value not in text
    assert "PATH=" not in text  # the machine's PATH is not a default
    assert oct((root / ".env.example").stat().st_mode & 0o777) == "0o644"


def test_example_refuses_to_overwrite_without_force(project):
    root, env = project
    target = root / ".env.example"
    target.write_text("KEEP=me\n")
    out = run_envshim("example", env=env, cwd=root)
    assert out.returncode == 1 and out.stdout == ""
    assert f"{target}: exists already" in out.stderr and "--force" in out.stderr
    assert target.read_text() == "KEEP=me\n"
    forced = run_envshim("example", "--force", env=env, cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert "APP_ENV=dev\n" in target.read_text()


def test_example_to_stdout_and_to_a_named_file(project, tmp_path):
    root, env = project
    dash = run_envshim("example", "-", env=env, cwd=root)
    assert dash.returncode == 0 and "APP_ENV=dev\n" in dash.stdout
    assert not (root / ".env.example").exists()
    named = tmp_path / "other.env"
    out = run_envshim("example", str(named), "-C", str(root), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert named.read_text(encoding="utf-8") == dash.stdout
    assert "real-key-here" not in dash.stdout and "hunter2" not in dash.stdout
