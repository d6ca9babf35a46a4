"""``envshim init``: real git, real sops reading what init wrote, tomlkit/ruamel round trips."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import git, need, run_envshim

MISE_TOML = """\
# Project tools and environment.
# Keep this file tidy: reviewers read it.

[tools]
python = "3.11"   # pinned for the lab machines
node = "20"

[env]
# non-secret defaults
PYTHONUNBUFFERED = "1"
_.path = ["./bin"]          # our scripts first
ML_DATA_DIR = "{{config_root}}/data"   # shared data
APP_ENV = 'local'
# end of env

[tasks.test]
run = "pytest -q"   # fast
"""


@pytest.fixture
def repo(tmp_path: Path, clean_env) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    return r


def snapshot(*dirs: Path) -> dict[str, tuple[bytes, int, int]]:
    out = {}
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = [n for n in dirnames if n != ".git"]
            for name in filenames:
                p = Path(dirpath, name)
                st = p.stat()
                out[str(p)] = (p.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


def sops_decrypt(path: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [need("sops"), "decrypt", str(path)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_not_a_repository_is_a_clear_error_and_writes_nothing(tmp_path, clean_env, home):
    d = tmp_path / "plain"
    d.mkdir()
    out = run_envshim("init", env=clean_env, cwd=d)
    assert out.returncode == 2 and out.stdout == ""
    assert "not a git repository" in out.stderr and "git init" in out.stderr
    assert list(d.iterdir()) == []
    assert not (home / ".config" / "sops").exists()


def test_init_sets_up_and_the_second_run_changes_nothing(repo, clean_env, home):
    out = run_envshim("init", "--pre-commit", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    for name in ("envshim.toml", ".sops.yaml", "secrets.enc.env", ".gitignore"):
        assert (repo / name).is_file(), name
    assert "+ created secrets.enc.env (empty)" in out.stdout
    assert (repo / ".gitignore").read_text().splitlines() == [".env", ".env.keys"]
    assert "envshim scan --staged" in (repo / ".git" / "hooks" / "pre-commit").read_text()
    key = home / ".config" / "sops" / "age" / "keys.txt"
    assert (key.stat().st_mode & 0o777) == 0o600
    # the real sops opens what init wrote, with the key init created
    assert sops_decrypt(repo / "secrets.enc.env", clean_env) == ""
    # and encrypts a new file by the .sops.yaml rule init wrote
    (repo / "plain.env").write_text("A=1\n")
    enc = subprocess.run(
        [
            "sops",
            "encrypt",
            "--filename-override",
            "secrets.staging.enc.env",
            str(repo / "plain.env"),
        ],
        env=clean_env,
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert enc.returncode == 0, enc.stderr
    public = subprocess.run(
        [need("age-keygen"), "-y", str(key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"sops_age__list_0__map_recipient={public}" in enc.stdout
    (repo / "plain.env").unlink()

    before = snapshot(repo, home)
    again = run_envshim("init", "--pre-commit", env=clean_env, cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert not any(line.startswith("+") for line in again.stdout.splitlines())
    assert snapshot(repo, home) == before


def test_mise_directive_keeps_every_comment_and_key_order(repo, clean_env):
    (repo / "mise.toml").write_text(MISE_TOML)
    out = run_envshim("init", "--mise", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    text = (repo / "mise.toml").read_text()
    lines = text.splitlines()
    # exactly one line added, at the end of [env] (after its last comment), nothing else touched
    assert [ln for ln in lines if ln != "_.envshim = {}"] == MISE_TOML.splitlines()
    assert lines.index("_.envshim = {}") == lines.index("# end of env") + 1
    before, after = tomllib.loads(MISE_TOML), tomllib.loads(text)
    assert list(after) == list(before)
    assert list(after["env"]) == list(before["env"])  # `_` stays where `_.path` put it
    assert after["env"]["_"] == {"path": ["./bin"], "envshim": {}}
    assert after["tools"] == before["tools"] and after["tasks"] == before["tasks"]
    again = run_envshim("init", "--mise", env=clean_env, cwd=repo)
    assert "already has `_.envshim`" in again.stdout
    assert (repo / "mise.toml").read_text() == text


def test_mise_without_env_table_and_invalid_mise_toml(repo, clean_env):
    (repo / "mise.toml").write_text("[tools]\nnode = '20'  # lts\n")
    assert run_envshim("init", "--mise", env=clean_env, cwd=repo).returncode == 0
    assert (
        repo / "mise.toml"
    ).read_text() == "[tools]\nnode = '20'  # lts\n\n[env]\n_.envshim = {}\n"

    other = repo / "sub"
    other.mkdir()
    bad = "[env\nA = 1\n"
    (other / "mise.toml").write_text(bad)
    out = run_envshim("init", "--mise", str(other), env=clean_env, cwd=repo)
    assert out.returncode == 1
    assert f"{other / 'mise.toml'}" in out.stderr and "invalid TOML" in out.stderr
    assert (other / "mise.toml").read_text() == bad


def test_existing_sops_yaml_keeps_comments_and_gains_the_key(repo, clean_env, tmp_path):
    other_key = tmp_path / "other.txt"
    subprocess.run([need("age-keygen"), "-o", str(other_key)], capture_output=True, check=True)
    other = subprocess.run(
        ["age-keygen", "-y", str(other_key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    original = (
        "# team rules\n"
        "creation_rules:\n"
        "  # all secrets\n"
        f"  - path_regex: secrets.*\\.enc\\.env$\n"
        f"    age: {other}   # alice\n"
    )
    (repo / ".sops.yaml").write_text(original)
    out = run_envshim("init", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    text = (repo / ".sops.yaml").read_text()
    assert "# team rules" in text and "# all secrets" in text and "# alice" in text
    assert "\n  - path_regex: secrets.*\\.enc\\.env$\n    age: " in text  # layout kept
    me = subprocess.run(
        ["age-keygen", "-y", str(Path(clean_env["XDG_CONFIG_HOME"]) / "sops/age/keys.txt")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert f"age: {other},{me}" in text
    enc = (repo / "secrets.enc.env").read_text()
    assert f"={other}\n" in enc and f"={me}\n" in enc
    # alice (the other key) can open it with the real sops
    assert (
        sops_decrypt(repo / "secrets.enc.env", {**clean_env, "SOPS_AGE_KEY_FILE": str(other_key)})
        == ""
    )


def test_from_dotenv_moves_values_into_sops_and_removes_the_plaintext(repo, clean_env):
    value = "p@ss 'word' #1 and more"
    (repo / ".env").write_text(f'# local\nDB_PASSWORD="{value}"\nAPI_TOKEN=tok_123456\n')
    out = run_envshim("init", "--from-dotenv", ".env", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert value not in out.stdout + out.stderr and "tok_123456" not in out.stdout
    assert not (repo / ".env").exists()
    assert "+ created secrets.enc.env with 2 values from .env" in out.stdout
    enc = (repo / "secrets.enc.env").read_text()
    assert value not in enc and "tok_123456" not in enc
    assert (
        sops_decrypt(repo / "secrets.enc.env", clean_env)
        == f"DB_PASSWORD={value}\nAPI_TOKEN=tok_123456\n"
    )
    exported = run_envshim("export", "--format", "json", env=clean_env, cwd=repo)
    assert exported.returncode == 0, exported.stderr
    import json

    data = json.loads(exported.stdout)
    assert data["DB_PASSWORD"] == value and data["API_TOKEN"] == "tok_123456"


def test_from_dotenv_conflict_needs_force_and_keep_keeps(repo, clean_env):
    (repo / "a.env").write_text("K=one\n")
    assert run_envshim("init", "--from-dotenv", "a.env", env=clean_env, cwd=repo).returncode == 0
    enc_before = (repo / "secrets.enc.env").read_bytes()
    (repo / "b.env").write_text("K=two\nL=three\n")
    out = run_envshim("init", "--from-dotenv", "b.env", env=clean_env, cwd=repo)
    assert (
        out.returncode == 1 and "different values for K" in out.stderr and "--force" in out.stderr
    )
    assert (repo / "secrets.enc.env").read_bytes() == enc_before and (repo / "b.env").exists()
    out = run_envshim(
        "init", "--from-dotenv", "b.env", "--force", "--keep", env=clean_env, cwd=repo
    )
    assert out.returncode == 0, out.stderr
    assert (repo / "b.env").exists()
    assert sops_decrypt(repo / "secrets.enc.env", clean_env) == "K=two\nL=three\n"


def test_from_dotenvx_moves_each_file_to_its_profile(repo, clean_env):
    dotenvx = need("dotenvx")
    for args in (
        ["HELLO", "World wide", "-f", ".env"],
        ["TOKEN", "prod-token-1", "-f", ".env.production"],
    ):
        subprocess.run(
            [dotenvx, "set", *args], cwd=repo, env=clean_env, capture_output=True, check=True
        )
    out = run_envshim("init", "--from-dotenvx", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert sops_decrypt(repo / "secrets.enc.env", clean_env) == "HELLO=World wide\n"
    assert sops_decrypt(repo / "secrets.production.enc.env", clean_env) == "TOKEN=prod-token-1\n"
    assert "git rm .env .env.production" in out.stdout
    assert "World wide" not in out.stdout


def test_from_dotenvx_without_the_private_key_writes_nothing(repo, clean_env):
    dotenvx = need("dotenvx")
    subprocess.run(
        [dotenvx, "set", "HELLO", "x", "-f", ".env"],
        cwd=repo,
        env=clean_env,
        capture_output=True,
        check=True,
    )
    (repo / ".env.keys").unlink()
    out = run_envshim("init", "--from-dotenvx", env=clean_env, cwd=repo)
    assert out.returncode != 0 and "DOTENV_PRIVATE_KEY" in out.stderr
    assert not (repo / "secrets.enc.env").exists()


def test_existing_files_are_never_overwritten(repo, clean_env):
    (repo / "envshim.toml").write_text('required = ["X"]\n')
    (repo / ".envrc").write_text("export FOO=1\n")
    (repo / ".gitignore").write_text("node_modules\n.env\n")
    out = run_envshim("init", "--direnv", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert (repo / "envshim.toml").read_text() == 'required = ["X"]\n'
    if need("direnv"):
        assert (repo / ".envrc").read_text() == "export FOO=1\n"
        assert "add `use envshim` to .envrc" in out.stdout
    assert (repo / ".gitignore").read_text() == "node_modules\n.env\n.env.keys\n"


def test_init_mise_links_the_plugin_so_mise_env_sees_the_secrets(repo, clean_env):
    mise = need("mise")
    (repo / "mise.toml").write_text('# tools\n[env]\nAPP_ENV = "local"  # default\n')
    (repo / "a.env").write_text("API_TOKEN=tok-0123456789\n")
    out = run_envshim("init", "--mise", "--from-dotenv", "a.env", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "+ linked the envshim mise plugin" in out.stdout
    # init names mise's own trust and the file to commit (teammates need the directive)
    steps = out.stdout.split("next:\n", 1)[1].splitlines()
    [trust_step] = [s.strip() for s in steps if s.strip().startswith("mise trust")]
    commits = [s for s in steps if s.strip().startswith("commit ")]
    assert any("mise.toml" in c for c in commits), steps
    command = trust_step.split("   (")[0]
    assert command == "mise trust mise.toml"
    assert subprocess.run(command.split(), cwd=repo, env=clean_env).returncode == 0
    assert run_envshim("allow", env=clean_env, cwd=repo).returncode == 0
    proc = subprocess.run(
        [mise, "env", "--json"], cwd=repo, env=clean_env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    import json

    data = json.loads(proc.stdout)
    assert data["API_TOKEN"] == "tok-0123456789" and data["APP_ENV"] == "local"
    again = run_envshim("init", "--mise", env=clean_env, cwd=repo)
    assert (
        "= the envshim mise plugin is installed" in again.stdout
        and "nothing changed" in again.stdout
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[env]\r\nA = "1"\r\n', '[env]\r\nA = "1"\r\n_.envshim = {}\r\n'),
        (
            '[env]\nA = "1"\n\n[env._.python.venv]\npath = ".venv"\n',
            '[env]\nA = "1"\n_.envshim = {}\n\n[env._.python.venv]\npath = ".venv"\n',
        ),
    ],
)
def test_mise_layouts_that_are_edited(text, expected):
    from envshim.init import add_directive

    assert add_directive(text, Path("mise.toml")) == expected


@pytest.mark.parametrize(
    "text",
    [
        'env = { A = "1" }\n',
        '[[env]]\nA = "1"\n',
        'env.A = "1"\nenv.B = "2"\n[tools]\nnode = "20"\n',
    ],
)
def test_mise_layouts_envshim_does_not_edit_are_a_clear_error(repo, clean_env, text):
    (repo / "mise.toml").write_text(text)
    out = run_envshim("init", "--mise", env=clean_env, cwd=repo)
    assert out.returncode == 1 and "internal error" not in out.stderr
    assert "does not edit" in out.stderr and "_.envshim = {}" in out.stderr
    assert (repo / "mise.toml").read_text() == text


def test_plugin_in_use_adds_the_directive_without_the_flag(repo, clean_env):
    mise = need("mise")
    (repo / "mise.toml").write_text('[env]\nA = "1"\n')
    plain = run_envshim("init", env=clean_env, cwd=repo)
    assert plain.returncode == 0 and (repo / "mise.toml").read_text() == '[env]\nA = "1"\n'
    from conftest import REPO

    linked = subprocess.run(
        [mise, "plugins", "link", "envshim", str(REPO / "mise-plugin")],
        env=clean_env,
        cwd=clean_env["HOME"],
        capture_output=True,
        text=True,
    )
    assert linked.returncode == 0, linked.stderr
    out = run_envshim("init", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert (repo / "mise.toml").read_text() == '[env]\nA = "1"\n_.envshim = {}\n'


def test_a_sops_yaml_above_the_repository_is_left_alone(tmp_path, clean_env):
    outer = tmp_path / "outer"
    repo = outer / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    above = (
        "creation_rules:\n  - age: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n"
    )
    (outer / ".sops.yaml").write_text(above)
    out = run_envshim("init", env=clean_env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert (outer / ".sops.yaml").read_text() == above
    assert (repo / ".sops.yaml").is_file()
    assert "+ created .sops.yaml" in out.stdout
