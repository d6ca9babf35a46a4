"""The mise corpus, secrets part: sops-encrypted ``_.file`` (json, yaml, toml), mise's age
keys and settings, and which names mise redacts. Files are written by the real sops and
age; the expected side is the real mise (``mise env --json``, ``mise run``'s redaction).
envshim runs without mise on its PATH, so nothing is handed to mise."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim
from mise_corpus import compare_native, trusted, without_mise
from test_mise_layer import mise_env, write_tree


def _sops(plain: Path, out: Path, recipient: str, kind: str) -> None:
    proc = subprocess.run(
        [
            need("sops"),
            "encrypt",
            "--age",
            recipient,
            "--input-type",
            kind,
            "--output-type",
            kind,
            str(plain),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out.write_text(proc.stdout)


def _toml_from_sops_json(enc_json: Path, out: Path) -> None:
    """A sops-encrypted TOML file as rops (mise) writes it: sops' own ciphertext, MAC and
    metadata from a real ``sops encrypt`` of JSON, laid out as TOML (sops has no TOML store).
    Only string and boolean values, whose encryption does not depend on the format."""
    data = json.loads(enc_json.read_text())
    meta = data.pop("sops")
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items()]
    lines += ["", "[sops]"] + [
        f"{k} = {json.dumps(v)}" for k, v in meta.items() if isinstance(v, str)
    ]
    for stanza in meta["age"]:
        lines += ["", "[[sops.age]]"] + [f"{k} = {json.dumps(v)}" for k, v in stanza.items()]
    out.write_text("\n".join(lines) + "\n")


@pytest.fixture
def sops_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose mise.toml loads sops-encrypted json, yaml and toml files; the key."""
    proj = tmp_path / "proj"
    proj.mkdir()
    key = tmp_path / "key.txt"
    pub = age_keygen(key)
    (tmp_path / "p.json").write_text(
        '{"DB_PASS": "s3cret json", "PORT": 5432, "RATIO": 1.5, "ON": true}'
    )
    (tmp_path / "p.yaml").write_text(
        "Y_PASS: s3cret yaml\nY_N: 7\nY_F: 7.0\nY_OCT: 0755\nY_ON: on\nY_B: true\n"
    )
    (tmp_path / "t.json").write_text('{"T_PASS": "s3cret toml", "T_B": false}')
    _sops(tmp_path / "p.json", proj / "secrets.json", pub, "json")
    _sops(tmp_path / "p.yaml", proj / "secrets.yaml", pub, "yaml")
    _sops(tmp_path / "t.json", tmp_path / "t.enc.json", pub, "json")
    _toml_from_sops_json(tmp_path / "t.enc.json", proj / "secrets.toml")
    (proj / "mise.toml").write_text(
        '[env]\nBEFORE = "b"\n_.file = ["secrets.json", "secrets.yaml", "secrets.toml"]\n'
    )
    return proj, key


def test_sops_file_equals_mise(sops_tree, clean_env, tmp_path: Path):
    proj, key = sops_tree
    env = {**trusted(clean_env, tmp_path), "SOPS_AGE_KEY_FILE": str(key)}
    result = compare_native(proj, env)
    assert result["DB_PASS"] == "s3cret json" and result["T_PASS"] == "s3cret toml"
    assert result["PORT"] == "5432.0"  # rops keeps sops' float type; mise prints it so


def test_sops_file_values_are_secret(sops_tree, clean_env, tmp_path: Path):
    proj, key = sops_tree
    env = without_mise({**trusted(clean_env, tmp_path), "SOPS_AGE_KEY_FILE": str(key)})
    gh = tmp_path / "github_env"
    gh.write_text("")
    proc = run_envshim("export", "--format", "github", env={**env, "GITHUB_ENV": str(gh)}, cwd=proj)
    assert proc.returncode == 0, proc.stderr
    for value in ("s3cret json", "s3cret yaml", "s3cret toml"):
        assert f"::add-mask::{value}" in proc.stdout
    assert "::add-mask::b\n" not in proc.stdout


def test_sops_file_without_a_key(sops_tree, clean_env, tmp_path: Path):
    """mise fails without a key (sops.strict); envshim too, naming the file; with
    sops.strict = false both leave the files out."""
    proj, _key = sops_tree
    env = trusted(clean_env, tmp_path)
    assert mise_env(proj, env).returncode != 0
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj)
    assert ours.returncode != 0 and ours.stdout == ""
    assert "secrets.json" in ours.stderr and "s3cret" not in ours.stderr
    relaxed = {**env, "MISE_SOPS_STRICT": "false"}
    assert compare_native(proj, relaxed) == {"BEFORE": "b"}


def test_sops_strict_false_in_settings(sops_tree, clean_env, tmp_path: Path):
    proj, _key = sops_tree
    (proj / "mise.toml").write_text(
        '[settings]\nsops.strict = false\n[env]\nBEFORE = "b"\n_.file = "secrets.yaml"\n'
    )
    assert compare_native(proj, trusted(clean_env, tmp_path)) == {"BEFORE": "b"}


def test_sops_file_tampered_is_refused(sops_tree, clean_env, tmp_path: Path):
    """A value moved to another key: sops' MAC fails in mise and in envshim alike."""
    proj, key = sops_tree
    data = json.loads((proj / "secrets.json").read_text())
    data["ON"], data["DB_PASS"] = data["DB_PASS"], data["ON"]
    (proj / "secrets.json").write_text(json.dumps(data))
    env = {**trusted(clean_env, tmp_path), "SOPS_AGE_KEY_FILE": str(key)}
    assert mise_env(proj, env).returncode != 0
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj)
    assert ours.returncode != 0 and ours.stdout == "" and "s3cret" not in ours.stderr


# --- age: mise's own keys and settings ---------------------------------------------------


def _age_value(recipient: str, text: str) -> str:
    """An inline value as `mise set --age-encrypt` writes it: the binary age file, unpadded base64."""
    proc = subprocess.run(
        [need("age"), "-r", recipient], input=text.encode(), capture_output=True, check=True
    )
    return base64.b64encode(proc.stdout).decode().rstrip("=")


@pytest.fixture
def age_project(tmp_path: Path) -> tuple[Path, Path, str]:
    key = tmp_path / "keys" / "me.txt"
    key.parent.mkdir()
    pub = age_keygen(key)
    proj = tmp_path / "proj"
    proj.mkdir()
    return proj, key, _age_value(pub, "inline s3cret ✓")


def _experimental(clean_env, tmp_path: Path) -> dict[str, str]:
    return {**trusted(clean_env, tmp_path), "MISE_EXPERIMENTAL": "1"}


def test_mise_age_key(age_project, clean_env, tmp_path: Path):
    proj, key, value = age_project
    (proj / "mise.toml").write_text(f'[env]\nS = {{ age = "{value}" }}\nP = "p"\n')
    secret_line = next(
        ln for ln in key.read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-")
    )
    env = {**_experimental(clean_env, tmp_path), "MISE_AGE_KEY": secret_line}
    assert compare_native(proj, env)["S"] == "inline s3cret ✓"


def test_age_key_file_relative_to_its_config(age_project, clean_env, tmp_path: Path):
    """[settings.age] key_file in sub/.mise/config.toml: relative to that config's root (sub)."""
    proj, key, value = age_project
    sub = proj / "sub"
    (sub / ".mise").mkdir(parents=True)
    (sub / "k").mkdir()
    (sub / "k" / "me.txt").write_bytes(key.read_bytes())
    (sub / "k" / "me.txt").chmod(0o600)
    (sub / ".mise" / "config.toml").write_text(
        f'[settings.age]\nkey_file = "k/me.txt"\n[env]\nS = {{ age = "{value}" }}\n'
    )
    assert compare_native(sub, _experimental(clean_env, tmp_path))["S"] == "inline s3cret ✓"


def test_age_strict_false_leaves_the_value_out(age_project, clean_env, tmp_path: Path):
    proj, _key, value = age_project
    (proj / "mise.toml").write_text(
        f'[settings]\nage.strict = false\n[env]\nS = {{ age = "{value}" }}\nP = "p"\n'
    )
    assert compare_native(proj, _experimental(clean_env, tmp_path)) == {"P": "p"}


def test_age_strict_false_from_the_environment(age_project, clean_env, tmp_path: Path):
    proj, _key, value = age_project
    (proj / "mise.toml").write_text(f'[env]\nS = {{ age = "{value}" }}\nP = "p"\n')
    env = {**_experimental(clean_env, tmp_path), "MISE_AGE_STRICT": "false"}
    assert compare_native(proj, env) == {"P": "p"}


def test_group_readable_mise_age_txt_is_refused(age_project, clean_env, home: Path, tmp_path: Path):
    """Documented difference: mise reads a mode-644 ~/.config/mise/age.txt; envshim refuses
    every key file others can read, and says which chmod fixes it."""
    proj, key, value = age_project
    (proj / "mise.toml").write_text(f'[env]\nS = {{ age = "{value}" }}\n')
    target = home / ".config" / "mise" / "age.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(key.read_bytes())
    target.chmod(0o644)
    env = _experimental(clean_env, tmp_path)
    theirs = mise_env(proj, env)
    assert theirs.returncode == 0 and json.loads(theirs.stdout)["S"] == "inline s3cret ✓"
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj)
    assert ours.returncode == 1 and ours.stdout == ""
    lines = ours.stderr.strip().splitlines()
    assert len(lines) == 1 and "age.txt" in lines[0] and "chmod 600" in lines[0]
    target.chmod(0o600)
    assert compare_native(proj, env)["S"] == "inline s3cret ✓"


# --- redactions --------------------------------------------------------------------------

_REDACT_NAMES = [
    "GH_TOKEN",
    "NOT_TOKEN",
    "PASS1",
    "PASS12",
    "R",
    "F1",
    "DERIVED",
    "LATE_TOKEN",
    "PLAIN",
    "VISIBLE_AGE",
]


def test_redacted_names_match_mise(age_project, clean_env, tmp_path: Path):
    """The names whose values mise's redactor hides in `mise run` output are the names
    envshim masks in `export --format github` (plus, deliberately, an age value marked
    redact = false, which envshim keeps secret)."""
    proj, key, value = age_project
    files = {
        "mise.toml": f"""
            redactions = ["*_TOKEN", "PASS?"]
            [vars]
            VS = {{ value = "varsecretvalue", redact = true }}
            [env]
            GH_TOKEN = "tokvalue1"
            NOT_TOKEN = {{ value = "visiblevalue2", redact = false }}
            PASS1 = "passvalue3"
            PASS12 = "passvalue4"
            R = {{ value = "rvalue5", redact = true }}
            DERIVED = "{{{{vars.VS}}}}-derived6"
            PLAIN = "plainvalue7"
            _.file = {{ path = "f.env", redact = true }}
            LATE_TOKEN = {{ value = "latevalue8", redact = false }}
            VISIBLE_AGE = {{ age = "{value}", redact = false }}
            [tasks.show]
            run = '{"; ".join(f"echo {n}=${n}" for n in _REDACT_NAMES)}'
            """,
        "mise.local.toml": '[env]\nLATE_TOKEN = "latevalue8"\n',
        "f.env": "F1=filevalue9\n",
    }
    write_tree(proj, tmp_path, files)
    env = {**_experimental(clean_env, tmp_path), "MISE_AGE_KEY_FILE": str(key)}
    run = subprocess.run(
        [need("mise"), "run", "show"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    shown = dict(ln.split("=", 1) for ln in run.stdout.splitlines() if "=" in ln)
    assert set(shown) == set(_REDACT_NAMES)
    mise_redacted = {n for n, v in shown.items() if "[redacted]" in v}
    assert mise_redacted == {"GH_TOKEN", "PASS1", "R", "F1", "DERIVED", "LATE_TOKEN"}
    gh = tmp_path / "github_env"
    gh.write_text("")
    ours = run_envshim(
        "export", "--format", "github", env={**without_mise(env), "GITHUB_ENV": str(gh)}, cwd=proj
    )
    assert ours.returncode == 0, ours.stderr
    masks = {ln.removeprefix("::add-mask::") for ln in ours.stdout.splitlines()}
    values = json.loads(
        run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj).stdout
    )
    masked = {n for n in _REDACT_NAMES if values[n] in masks}
    assert masked == mise_redacted | {"VISIBLE_AGE"}


def test_expand_true_over_a_secret_keeps_it_secret(clean_env, tmp_path: Path):
    """`_.file = { path = ".env", expand = true }` after `_.envshim`: a value built from a
    team secret is itself secret (masked, never written to .env.example)."""
    from envshim import resolve

    project = tmp_path / "p"
    project.mkdir()
    (project / "mise.toml").write_text(
        '[env]\n_.envshim = {}\n_.file = { path = ".env", expand = true }\n'
    )
    (project / ".env").write_text("DERIVED=pre-${API_KEY}\nPLAIN=x\n")
    user = run_envshim("user", "init", "--plaintext", cwd=project, env=clean_env)
    assert user.returncode == 0, user.stderr
    run_envshim("user", "set", "API_KEY", cwd=project, env=clean_env, input="k-123456\n",
                check=True)  # fmt: skip
    resolution = resolve(project, environ=clean_env)
    assert resolution["DERIVED"] == "pre-k-123456"
    assert resolution.vars["DERIVED"].secret
