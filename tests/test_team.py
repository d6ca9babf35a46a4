"""The team layer: which secret files apply, in which order, and what a missing key does."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import age_keygen as _keygen
from conftest import need, need_vectors, run_envshim
from envshim.errors import ConfigError
from envshim.layers.base import LayerContext
from envshim.layers.team import load_team, secret_files
from envshim.resolve import resolve


def _age(path: Path, plaintext: str, pub: str) -> None:
    subprocess.run(
        [need("age"), "-r", pub, "-a", "-o", str(path)], input=plaintext.encode(), check=True
    )


def _ctx(root: Path, environ: dict[str, str], profiles=(), options=None, missing_key="error"):
    return LayerContext(
        cwd=root,
        root=root,
        profiles=list(profiles),
        environ=environ,
        options=dict(options or {}),
        missing_key=missing_key,
    )


@pytest.fixture
def keyed(clean_env, tmp_path):
    """A fresh identity and the environment that points at it."""
    pub = _keygen(tmp_path / "key.txt")
    return pub, {**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "key.txt")}


def test_conventional_names_per_profile_later_wins(keyed, tmp_path):
    pub, env = keyed
    root = tmp_path / "proj"
    root.mkdir()
    _age(root / "secrets.env.age", "A=base\nB=base\n", pub)
    _age(root / "secrets.staging.env.age", "B=staging\nC=staging\n", pub)
    _age(root / "secrets.prod.env.age", "C=prod\n", pub)
    ctx = _ctx(root, env, profiles=["staging", "prod"])
    assert secret_files(ctx) == [
        root / "secrets.env.age",
        root / "secrets.staging.env.age",
        root / "secrets.prod.env.age",
    ]
    # every candidate, present or not, is watched
    for name in (
        "secrets.enc.env",
        "secrets.enc.yaml",
        "secrets.enc.json",
        "secrets.staging.enc.yaml",
        "secrets.prod.enc.json",
    ):
        assert root / name in ctx.watch
    res = resolve(root, "staging,prod", environ=env)
    assert dict(res) == {"A": "base", "B": "staging", "C": "prod"}
    origin = res.vars["B"].origin
    assert (origin.layer, Path(origin.path).name, origin.line) == (
        "team",
        "secrets.staging.env.age",
        1,
    )
    assert [Path(o.path).name for o in res.vars["B"].shadowed] == ["secrets.env.age"]
    assert res.vars["A"].secret
    assert root / "secrets.env.age" in res.files


def test_without_profile_only_shared_files(keyed, tmp_path):
    pub, env = keyed
    _age(tmp_path / "secrets.env.age", "A=base\n", pub)
    _age(tmp_path / "secrets.staging.env.age", "A=staging\n", pub)
    assert {e.key: e.value for e in load_team(_ctx(tmp_path, env))} == {"A": "base"}


def test_files_list_and_profile_placeholder(keyed, tmp_path):
    pub, env = keyed
    _age(tmp_path / "team.age", "A=team\n", pub)
    _age(tmp_path / "staging.age", "A=staging\n", pub)
    options = {"files": ["team.age", "{profile}.age"]}
    ctx = _ctx(tmp_path, env, profiles=["dev", "staging"], options=options)
    assert secret_files(ctx) == [tmp_path / "team.age", tmp_path / "staging.age"]
    assert tmp_path / "dev.age" in ctx.watch  # a profile without secrets is fine, and watched
    assert {
        e.key: e.value for e in load_team(_ctx(tmp_path, env, ["dev", "staging"], options))
    } == {"A": "staging"}


def test_files_table_per_profile(keyed, tmp_path):
    pub, env = keyed
    _age(tmp_path / "shared.age", "A=shared\nB=shared\n", pub)
    _age(tmp_path / "stg.age", "B=stg\n", pub)
    options = {"files": {"default": ["shared.age"], "staging": ["stg.age"], "prod": ["gone.age"]}}
    ctx = _ctx(tmp_path, env, profiles=["staging"], options=options)
    assert {e.key: e.value for e in load_team(ctx)} == {"A": "shared", "B": "stg"}
    # a listed file of an active profile must exist
    with pytest.raises(ConfigError, match=r"names gone\.age, which does not exist"):
        secret_files(_ctx(tmp_path, env, profiles=["prod"], options=options))


def test_missing_named_file_names_envshim_toml(clean_env, tmp_path):
    (tmp_path / "envshim.toml").write_text('files = ["secrets.enc.env"]\n')
    proc = run_envshim("export", "--format", "json", str(tmp_path), env=clean_env)
    assert proc.returncode == 1 and proc.stdout == ""
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "envshim.toml" in line and "secrets.enc.env" in line and "does not exist" in line


@pytest.mark.parametrize("bad", [3, [1], {"default": "x", "dev": [2]}, [""]])
def test_bad_files_option(bad, clean_env, tmp_path):
    with pytest.raises(ConfigError, match="files"):
        secret_files(_ctx(tmp_path, clean_env, profiles=["dev"], options={"files": bad}))


def test_no_secret_files_imports_no_crypto(clean_env, tmp_path):
    """The export path of a project without secrets imports neither pyrage nor cryptography."""
    (tmp_path / "envshim.toml").write_text("")
    code = (
        "import sys; from envshim.cli import main; rc = main(['export', '--format', 'json', "
        f"{str(tmp_path)!r}]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyrage', 'cryptography', 'ruamel')), file=sys.stderr); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=clean_env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_age_file_imports_pyrage_only_then(keyed, tmp_path):
    pub, env = keyed
    _age(tmp_path / "secrets.env.age", "A=1\n", pub)
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "envshim",
            "export",
            "--format",
            "json",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"A": "1"}
    imported = [ln.rsplit("|", 1)[-1].strip() for ln in proc.stderr.splitlines() if "|" in ln]
    assert "pyrage" in imported


# --- missing keys: error / warn / skip, end to end -------------------------------------------


@pytest.fixture
def ci_project(clean_env, tmp_path):
    """An age file for a key the CI machine does not have, beside a dotenvx file it can open."""
    canary = "CANARY_" + secrets.token_hex(10)
    other = _keygen(tmp_path / "someone-else.txt")
    proj = tmp_path / "proj"
    proj.mkdir()
    _age(proj / "secrets.env.age", f"STRIPE_KEY={canary}\nONLY_IN_FILE={canary}x\n", other)
    vec = need_vectors() / "generated" / "dotenvx"
    (proj / ".env.production").write_text((vec / ".env.production").read_text())
    (proj / "envshim.toml").write_text('files = ["secrets.env.age", ".env.production"]\n')
    key = next(
        ln.split("=", 1)[1]
        for ln in (vec / ".env.keys").read_text().splitlines()
        if ln.startswith("DOTENV_PRIVATE_KEY_PRODUCTION=")
    )
    env = {
        **clean_env,
        "DOTENV_PRIVATE_KEY_PRODUCTION": key.strip(),
        "STRIPE_KEY": "injected-by-ci",
    }
    return proj, env, canary


def test_missing_key_error_is_the_default(ci_project):
    proj, env, canary = ci_project
    proc = run_envshim("export", "--format", "json", str(proj), env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "secrets.env.age" in lines[0] and "no age identity" in lines[0]
    assert "`envshim join`" in lines[0] and "key show" not in lines[0]
    assert canary not in proc.stderr


@pytest.mark.parametrize("how", ["flag", "env", "toml"])
def test_missing_key_warn(how, ci_project):
    proj, env, canary = ci_project
    args = ["export", "--format", "json", str(proj)]
    if how == "flag":
        args.insert(1, "--missing-key=warn")
    elif how == "env":
        env = {**env, "ENVSHIM_MISSING_KEY": "warn"}
    else:
        toml = proj / "envshim.toml"
        toml.write_text(toml.read_text() + 'missing_key = "warn"\n')
    proc = run_envshim(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"HELLO": "World", "DB_PASSWORD": "s3cr3t value", "EMPTY": ""}
    warnings = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(warnings) == 1 and "warning" in warnings[0] and "secrets.env.age" in warnings[0]
    assert canary not in proc.stderr


def test_missing_key_precedence_flag_then_environment_then_file(ci_project):
    """CI sets ENVSHIM_MISSING_KEY; it must beat the committed option, and the flag beats both."""
    proj, env, _ = ci_project
    toml = proj / "envshim.toml"
    toml.write_text(toml.read_text() + 'missing_key = "error"\n')
    args = ("export", "--format", "json", str(proj))
    assert run_envshim(*args, env=env).returncode == 1
    assert run_envshim(*args, env={**env, "ENVSHIM_MISSING_KEY": "skip"}).returncode == 0
    flag_wins = run_envshim(
        "export", "--missing-key", "error", *args[1:], env={**env, "ENVSHIM_MISSING_KEY": "skip"}
    )
    assert flag_wins.returncode == 1 and flag_wins.stdout == ""


def test_missing_key_skip_keeps_ci_values(ci_project):
    proj, env, canary = ci_project
    proc = run_envshim("export", "--format", "json", "--missing-key", "skip", str(proj), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = json.loads(proc.stdout)
    assert "STRIPE_KEY" not in out  # the CI provider's value is left as it is
    assert "ONLY_IN_FILE" not in out
    assert out["HELLO"] == "World"
    res = resolve(proj, environ=env, missing_key="skip")
    assert "STRIPE_KEY" not in res.vars and "STRIPE_KEY" not in res.changes()
    assert res.vars["HELLO"].origin.layer == "team"
    assert canary not in proc.stderr


def test_skip_never_hides_a_damaged_file(ci_project, tmp_path):
    proj, env, canary = ci_project
    path = proj / "secrets.env.age"
    path.write_bytes(path.read_bytes()[:100])
    proc = run_envshim("export", "--format", "json", "--missing-key", "skip", str(proj), env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "secrets.env.age" in proc.stderr and canary not in proc.stderr


def test_bad_missing_key_mode(ci_project):
    proj, env, _ = ci_project
    proc = run_envshim(
        "export", "--format", "json", str(proj), env={**env, "ENVSHIM_MISSING_KEY": "ignore"}
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert "missing-key" in proc.stderr


# --- sops files in the team layer --------------------------------------------------------------


def _sops_encrypt(plain: Path, out: Path, pub: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [
            need("sops"),
            "encrypt",
            "--age",
            pub,
            "--input-type",
            "dotenv",
            "--output-type",
            "dotenv",
            str(plain),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out.write_text(proc.stdout)


def test_sops_vectors_by_convention_and_profile(clean_env, tmp_path):
    vec = need_vectors() / "generated"
    for name in ("secrets.enc.env", "secrets.enc.json", "secrets.staging.enc.yaml"):
        (tmp_path / name).write_bytes((vec / name).read_bytes())
    key = tmp_path / "bob.txt"
    key.write_bytes((vec / "bob.key").read_bytes())
    key.chmod(0o600)
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}
    plain_env = dict(
        line.split("=", 1)
        for line in (vec / "secrets.plain.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    res = resolve(tmp_path, "staging", environ=env)
    for k, v in plain_env.items():
        if k not in json.loads((vec / "secrets.plain.json").read_text()):
            assert res[k] == v.replace("\\n", "\n")
    assert res["app__db__user"] == "staging_user"
    origin = res.vars["app__db__user"].origin
    assert Path(origin.path).name == "secrets.staging.enc.yaml" and origin.layer == "team"
    no_profile = resolve(tmp_path, environ=env)
    assert "app__db__user" not in no_profile.vars


def test_sops_missing_key_lists_recipients(clean_env, tmp_path):
    mine = _keygen(tmp_path / "mine.txt")
    theirs = _keygen(tmp_path / "theirs.txt")
    canary = "CANARY_" + secrets.token_hex(10)
    plain = tmp_path / "plain.env"
    plain.write_text(f"TOKEN={canary}\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    _sops_encrypt(plain, proj / "secrets.enc.env", theirs, clean_env)
    plain.unlink()
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "mine.txt")}
    proc = run_envshim("export", "--format", "json", str(proj), env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"none of your identities ({mine})" in line
    assert f"is a recipient of secrets.enc.env; recipients are: {theirs}" in line
    assert "`envshim join`" in line and "key show" not in line
    assert canary not in proc.stderr
    warn = run_envshim("export", "--format", "json", "--missing-key=warn", str(proj), env=env)
    assert warn.returncode == 0 and json.loads(warn.stdout) == {}
    assert warn.stderr.count("warning") == 1 and canary not in warn.stderr
    ok = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**env, "SOPS_AGE_KEY_FILE": str(tmp_path / "theirs.txt")},
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"TOKEN": canary}
    assert canary not in ok.stderr


def test_plaintext_secret_file_is_refused(clean_env, tmp_path):
    canary = "CANARY_" + secrets.token_hex(10)
    (tmp_path / "secrets.enc.env").write_text(f"TOKEN={canary}\n")
    proc = run_envshim(
        "export", "--format", "json", "--missing-key=skip", str(tmp_path), env=clean_env
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "secrets.enc.env" in proc.stderr and "not encrypted" in proc.stderr
    assert "envshim secrets encrypt" in proc.stderr
    assert canary not in proc.stderr


def test_files_in_the_mise_envshim_table(keyed, tmp_path):
    """`_.envshim = { files = … }` in mise.toml: the team layer enters there, per profile."""
    pub, env = keyed
    _age(tmp_path / "team.age", "TOKEN=shared\n", pub)
    _age(tmp_path / "stg.age", "TOKEN=staging\n", pub)
    (tmp_path / "mise.toml").write_text(
        "[env]\n"
        "BEFORE = \"b={{env.TOKEN | default(value='none')}}\"\n"
        '_.envshim = { files = { default = ["team.age"], staging = ["stg.age"] } }\n'
        'AFTER = "a={{env.TOKEN}}"\n'
    )
    for profile, token in ((None, "shared"), ("staging", "staging")):
        proc = run_envshim(
            "export",
            "--format",
            "json",
            *(["--env", profile] if profile else []),
            str(tmp_path),
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {
            "BEFORE": "b=none",
            "TOKEN": token,
            "AFTER": f"a={token}",
        }
