"""``envshim doctor``: each check against real files, real git, real age and mise."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import git, need, run_envshim

SECRET = "hunter2-correct-horse"


@pytest.fixture
def project(tmp_path: Path, clean_env) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    git(p, "init", "-q", "-b", "main")
    (p / "envshim.toml").write_text("")
    return p


def key_file(home: Path) -> Path:
    return home / ".config" / "sops" / "age" / "keys.txt"


def make_key(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run([need("age-keygen"), "-o", str(path)], capture_output=True, check=True)
    return subprocess.run(
        ["age-keygen", "-y", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def age_file(path: Path, text: str, recipient: str) -> None:
    subprocess.run([need("age"), "-r", recipient, "-o", str(path)], input=text.encode(), check=True)


def doctor(project: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, list[dict]]]:
    out = run_envshim("doctor", "--json", "--shell", "bash", *args, env=env, cwd=project)
    assert out.stderr == "", out.stderr
    data = json.loads(out.stdout)
    by_check: dict[str, list[dict]] = {}
    for c in data["checks"]:
        by_check.setdefault(c["check"], []).append(c)
    assert data["ok"] == (out.returncode == 0)
    return out.returncode, by_check


def statuses(checks: dict[str, list[dict]]) -> dict[str, str]:
    return {k: ",".join(c["status"] for c in v) for k, v in checks.items()}


def test_fresh_home_no_key_then_fix_creates_it(project, clean_env, home):
    code, checks = doctor(project, clean_env)
    assert code == 1
    assert checks["identity"][0]["status"] == "fail"
    assert checks["identity"][0]["next"].startswith("`envshim join`")
    assert checks["gitignore"][0]["status"] == "fail"
    code, checks = doctor(project, clean_env, "--fix")
    assert code == 0, checks
    path = key_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert checks["identity"][0]["fixed"] == f"created {path}"
    assert "added .env, .env.keys" in checks["gitignore"][0]["fixed"]
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ignored == [".env", ".env.keys"]
    assert not list(project.glob("*.lock"))  # no lock file left in the repository
    # nothing left to fix: a second --fix changes nothing
    code, checks = doctor(project, clean_env, "--fix")
    assert code == 0 and not any(c["fixed"] for cs in checks.values() for c in cs)


def test_key_readable_by_others_fails_with_chmod_and_fix_tightens_it(project, clean_env, home):
    path = key_file(home)
    make_key(path)
    path.chmod(0o644)
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    code, checks = doctor(project, clean_env)
    assert code == 1
    assert checks["identity"][0]["status"] == "fail"
    assert checks["identity"][0]["next"] == f"run `chmod 600 {path}`"
    code, checks = doctor(project, clean_env, "--fix")
    assert code == 0 and checks["identity"][0]["fixed"] == f"chmod 600 {path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_text_output_has_one_line_per_check_with_marks(project, clean_env, home):
    make_key(key_file(home))
    out = run_envshim("doctor", "--shell", "bash", env=clean_env, cwd=project)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("✓ versions: python 3.")
    assert "✗ gitignore: not ignored: .env, .env.keys → `printf" in out.stdout
    assert lines[-1] == "1 problem to fix"


def test_shell_hook_found_in_rc_file_or_next_step(project, clean_env, home):
    make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    code, checks = doctor(project, clean_env)
    assert code == 0  # a missing hook is a warning: `envshim run` works without it
    assert checks["shell"][0]["status"] == "warn"
    assert checks["shell"][0]["next"].startswith(
        """`echo 'eval "$(envshim hook bash)"' >> ~/.bashrc`"""
    )
    (home / ".bashrc").write_text('# eval "$(envshim hook bash)"\n')
    _, checks = doctor(project, clean_env)
    assert checks["shell"][0]["status"] == "warn"  # commented out does not count
    (home / ".bashrc").write_text('# mine\neval "$(envshim hook bash)"\n')
    _, checks = doctor(project, clean_env)
    assert checks["shell"][0]["status"] == "ok"
    fish_conf = home / ".config" / "fish" / "config.fish"
    fish_conf.parent.mkdir(parents=True)
    fish_conf.write_text("direnv hook fish | source\n")
    out = run_envshim("doctor", "--json", "--shell", "fish", env=clean_env, cwd=project)
    shell = next(c for c in json.loads(out.stdout)["checks"] if c["check"] == "shell")
    assert shell["status"] == "warn" and "does not `use envshim`" in shell["message"]
    (project / ".envrc").write_text("use envshim\n")
    out = run_envshim("doctor", "--json", "--shell", "fish", env=clean_env, cwd=project)
    shell = next(c for c in json.loads(out.stdout)["checks"] if c["check"] == "shell")
    assert shell["status"] == "ok"


def test_age_team_file_for_another_key_fails_decrypt_naming_the_file(
    project, clean_env, home, tmp_path
):
    make_key(key_file(home))
    other = make_key(tmp_path / "other.txt")
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    age_file(project / "secrets.env.age", f"DB_PASSWORD={SECRET}\n", other)
    code, checks = doctor(project, clean_env)
    assert code == 1
    assert checks["decrypt"][0]["status"] == "fail"
    assert checks["decrypt"][0]["message"].startswith("secrets.env.age: ")
    assert SECRET not in json.dumps(checks)


def test_required_keys_from_options_mise_and_example(project, clean_env, home):
    me = make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    (project / "envshim.toml").write_text('required = ["DB_PASSWORD", "API_URL"]\n')
    (project / "mise.toml").write_text('[env]\nAPI_URL = "http://x"\nTOKEN = { required = true }\n')
    (project / ".env.example").write_text("# copy me\nDB_PASSWORD=\nREGION=eu\n")
    age_file(project / "secrets.env.age", f"DB_PASSWORD={SECRET}\n", me)
    env = {**clean_env, "REGION": "us", "API_URL": "http://x"}
    code, checks = doctor(project, env)
    assert code == 1
    assert checks["required"][0]["message"] == "missing: TOKEN (mise.toml)"
    assert checks["required"][0]["next"] == (
        "`envshim user init`, then `envshim user set TOKEN` for your own value"
    )
    assert checks["decrypt"][0]["status"] == "ok"
    code, checks = doctor(project, {**env, "TOKEN": "t"})
    assert checks["required"][0]["status"] == "ok", checks
    assert code == 0


def test_tracked_plaintext_env_with_a_secret_and_tracked_env_keys(project, clean_env, home):
    me = make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    age_file(project / "secrets.env.age", f"DB_PASSWORD={SECRET}\n", me)
    (project / ".env.local").write_text(f"DB_PASSWORD={SECRET}\n")
    (project / ".env.example").write_text("DB_PASSWORD=\n")
    git(project, "add", ".env.local", ".env.example")
    code, checks = doctor(project, clean_env)
    assert code == 1
    [tracked] = checks["tracked plaintext"]
    assert tracked["status"] == "fail"
    assert tracked["message"] == ".env.local is tracked by git and holds the value of DB_PASSWORD"
    assert tracked["next"].startswith("`git rm -q --cached .env.local`")
    assert SECRET not in json.dumps(checks)
    git(project, "rm", "-q", "--cached", ".env.local")
    (project / ".env.keys").write_text("DOTENV_PRIVATE_KEY=abc\n")
    git(project, "add", "-f", ".env.keys")
    code, checks = doctor(project, clean_env)
    assert (
        code == 1
        and ".env.keys (private dotenvx keys) is tracked"
        in checks["tracked plaintext"][0]["message"]
    )


def test_mise_directive_without_the_plugin_fails(project, clean_env, home):
    need("mise")
    make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    (project / "mise.toml").write_text("[env]\nA = '1'\n_.envshim = {}\n")
    code, checks = doctor(project, clean_env)
    assert code == 1
    [mise] = checks["mise"]
    assert mise["status"] == "fail" and "every `mise env` fails" in mise["message"]
    assert mise["next"].startswith("`mise -C / plugins link envshim ")


def test_direnv_library_missing_then_installed_by_fix(project, clean_env, home):
    need("direnv")
    make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    (project / ".envrc").write_text("use envshim\n")
    code, checks = doctor(project, clean_env)
    assert code == 1
    [check] = checks["direnv"]
    assert check["status"] == "fail" and "use_envshim is not installed" in check["message"]
    assert check["next"].startswith("`envshim direnv install`")
    code, checks = doctor(project, clean_env, "--fix")
    assert code == 0, checks
    lib = home / ".config" / "direnv" / "lib" / "envshim.sh"
    assert checks["direnv"][0]["fixed"] == "wrote ~/.config/direnv/lib/envshim.sh"
    assert "use_envshim" in lib.read_text()
    assert doctor(project, clean_env)[1]["direnv"][0]["status"] == "ok"


def test_user_store_checked_and_its_permissions_fixed(project, clean_env, home):
    make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    assert run_envshim("user", "init", env=clean_env, cwd=project).returncode == 0
    setv = run_envshim(
        "user", "set", "MY_TOKEN", env=clean_env, cwd=project, input="my-own-token-42\n"
    )
    assert setv.returncode == 0, setv.stderr
    code, checks = doctor(project, clean_env)
    [store] = checks["user store"]
    assert code == 0 and store["status"] == "ok", store
    assert "1 value, age-encrypted, private" in store["message"]
    values = next((home / ".local" / "share" / "envshim" / "users").glob("*/values.age"))
    values.chmod(0o644)
    code, checks = doctor(project, clean_env)
    [store] = checks["user store"]
    assert code == 1 and store["status"] == "fail"
    assert store["next"].startswith(f"run `chmod 600 {values}`")
    code, checks = doctor(project, clean_env, "--fix")
    assert code == 0 and checks["user store"][0]["fixed"]
    assert stat.S_IMODE(values.stat().st_mode) == 0o600


def test_trust_is_reported_with_the_allow_command(project, clean_env, home):
    make_key(key_file(home))
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    _, checks = doctor(project, clean_env)
    assert checks["trust"][0]["status"] == "warn"
    assert checks["trust"][0]["next"] == f"review the config, then `envshim allow {project}`"
    assert run_envshim("allow", env=clean_env, cwd=project).returncode == 0
    assert doctor(project, clean_env)[1]["trust"][0]["status"] == "ok"
    (project / "envshim.toml").write_text('required = ["X"]\n')
    _, checks = doctor(project, clean_env)
    assert checks["trust"][0]["status"] == "warn"
    assert checks["trust"][0]["message"] == "changed since `envshim allow`: envshim.toml was edited"


def test_a_sops_file_whose_mac_fails_is_named(project, clean_env, home):
    git(project, "add", "envshim.toml")
    (project / "v.env").write_text(f"DB_PASSWORD={SECRET}\n")
    assert run_envshim("init", "--from-dotenv", "v.env", env=clean_env, cwd=project).returncode == 0
    code, checks = doctor(project, clean_env)
    assert (
        checks["decrypt"][0]["status"] == "ok" and "MAC verified" in checks["decrypt"][0]["message"]
    )
    enc = project / "secrets.enc.env"
    text = enc.read_text()
    stamp = next(ln for ln in text.splitlines() if ln.startswith("sops_lastmodified="))
    enc.write_text(text.replace(stamp, "sops_lastmodified=2001-01-01T00:00:00Z"))
    code, checks = doctor(project, clean_env)
    assert code == 1
    [dec] = checks["decrypt"]
    assert dec["status"] == "fail" and dec["message"].startswith("secrets.enc.env: ")
    assert "MAC" in dec["message"]
    assert SECRET not in json.dumps(checks)


def test_export_check_names_every_name_a_shell_cannot_hold_even_without_the_key(
    project, clean_env, home, tmp_path
):
    """A teammate's `secrets set 2X` breaks everyone's export: doctor runs the export's
    checks for bash, zsh, fish and sh on every name, those of a sops file it cannot
    decrypt too (sops keeps names in plaintext), and names file and line."""
    need("sops")
    make_key(key_file(home))
    teammate = make_key(tmp_path / "teammate.txt")
    (project / ".gitignore").write_text(".env\n.env.keys\n")
    (project / "mise.toml").write_text('[env]\nAPP_ENV = "local"\nstatus = "1"\n')
    plain = tmp_path / "plain.env"
    plain.write_text(f"GOOD=1\n2X={SECRET}\nBAD NAME=x\nENVSHIM_STATE=x\n")
    enc = project / "secrets.enc.env"
    subprocess.run(
        [need("sops"), "encrypt", "--age", teammate, "--input-type", "dotenv",
         "--output-type", "dotenv", "--output", str(enc), str(plain)],
        check=True, capture_output=True,
    )  # fmt: skip
    before = enc.read_bytes()
    code, checks = doctor(project, clean_env)
    assert code == 1
    skipped = [(c["message"], c["next"]) for c in checks["export"] if c["status"] == "warn"]
    assert skipped == [
        (
            "secrets.enc.env:2: '2X' is not a valid variable name: every teammate's export skips it",
            "rename it: `envshim secrets edit secrets.enc.env`",
        ),
        (
            "secrets.enc.env:3: 'BAD NAME' is not a valid variable name: every teammate's export skips it",
            "rename it: `envshim secrets edit secrets.enc.env`",
        ),
    ]
    export = [(c["message"], c["next"]) for c in checks["export"] if c["status"] == "fail"]
    assert export == [
        (
            "secrets.enc.env:4: ENVSHIM_STATE is reserved by envshim: every teammate's export fails",
            "rename it: `envshim secrets edit secrets.enc.env`",
        ),
        (
            "mise.toml:3: status is reserved by zsh, fish: every teammate's export fails",
            "rename it in mise.toml",
        ),
    ]
    assert SECRET not in json.dumps(checks) and enc.read_bytes() == before
    # what export itself says for the same project, for one of those shells
    out = run_envshim("export", "fish", "--missing-key=skip", env=clean_env, cwd=project)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"envshim: {project}/mise.toml:3: status is reserved by fish")
