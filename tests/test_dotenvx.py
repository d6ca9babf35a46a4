"""dotenvx files (``encrypted:`` values, ECIES on secp256k1) read natively."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import need, need_vectors, run_envshim
from envshim.errors import DecryptError
from envshim.formats.age import NoMatchingKey
from envshim.formats.dotenvx import read_file
from envshim.layers.base import LayerContext

PRODUCTION = {"HELLO": "World", "DB_PASSWORD": "s3cr3t value", "EMPTY": ""}


def _ctx(root: Path, environ: dict[str, str]) -> LayerContext:
    return LayerContext(cwd=root, root=root, profiles=[], environ=environ, options={})


def _values(path: Path, environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v, _ in read_file(path, _ctx(path.parent, environ))}


def _private_key(keys_file: Path, name: str) -> str:
    for line in keys_file.read_text().splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError(f"{name} not in {keys_file}")


def test_vector_with_env_keys_beside_it(clean_env):
    path = need_vectors() / "generated" / "dotenvx" / ".env.production"
    assert _values(path, clean_env) == PRODUCTION


def test_vector_with_key_from_environment(clean_env, tmp_path):
    vec = need_vectors() / "generated" / "dotenvx"
    shutil.copy(vec / ".env.production", tmp_path / ".env.production")  # no .env.keys here
    key = _private_key(vec / ".env.keys", "DOTENV_PRIVATE_KEY_PRODUCTION")
    env = {**clean_env, "DOTENV_PRIVATE_KEY_PRODUCTION": key}
    assert _values(tmp_path / ".env.production", env) == PRODUCTION
    # several keys in one variable, comma separated, as dotenvx accepts
    other = "11" * 32
    env = {**clean_env, "DOTENV_PRIVATE_KEY_PRODUCTION": f"{other},{key}"}
    assert _values(tmp_path / ".env.production", env) == PRODUCTION


def _dotenvx(*args: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [need("dotenvx"), *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=120
    )


def test_fresh_file_from_dotenvx_encrypt_and_set(clean_env, tmp_path):
    token = "tok_" + secrets.token_hex(16)
    # written by hand in dotenv syntax; dotenvx parses and encrypts each value
    (tmp_path / ".env.ci").write_text(
        f"TOKEN={token}\n"
        "LITERAL='lit $HOME `x` $(id)'\n"
        'MULTI="line1\\nline2"\n'
        'APOS="it\'s ✓"\n'
        "EMPTY=\n"
    )
    _dotenvx("encrypt", "-f", ".env.ci", cwd=tmp_path, env=clean_env)
    set_value = "set via argv " + secrets.token_hex(6)
    _dotenvx("set", "ADDED", set_value, "-f", ".env.ci", cwd=tmp_path, env=clean_env)
    text = (tmp_path / ".env.ci").read_text()
    assert token not in text and "DOTENV_PUBLIC_KEY_CI" in text
    expected = {
        "TOKEN": token,
        "LITERAL": "lit $HOME `x` $(id)",
        "MULTI": "line1\nline2",
        "APOS": "it's ✓",
        "EMPTY": "",
        "ADDED": set_value,
    }
    assert _values(tmp_path / ".env.ci", clean_env) == expected
    # the same through the CLI, the key from the environment only
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(tmp_path / ".env.ci", proj / ".env.ci")
    (proj / "envshim.toml").write_text('files = [".env.ci"]\n')
    key = _private_key(tmp_path / ".env.keys", "DOTENV_PRIVATE_KEY_CI")
    proc = run_envshim(
        "export", "--format", "json", str(proj), env={**clean_env, "DOTENV_PRIVATE_KEY_CI": key}
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected
    assert token not in proc.stderr


def test_plain_value_left_by_partial_encryption_is_refused(clean_env, tmp_path):
    """`dotenvx encrypt -k SECRET` leaves other values plain; in a secret file anyone could
    have added such a line, so the file is refused, naming the line and not the value."""
    plain = "plain-" + secrets.token_hex(8)
    (tmp_path / ".env").write_text(f"SECRET=x\nPLAIN_REF={plain}\n")
    _dotenvx("encrypt", "-f", ".env", "-k", "SECRET", cwd=tmp_path, env=clean_env)
    text = (tmp_path / ".env").read_text()
    assert f"PLAIN_REF={plain}" in text  # what the real dotenvx wrote
    line = text.splitlines().index(f"PLAIN_REF={plain}") + 1
    with pytest.raises(DecryptError) as info:
        read_file(tmp_path / ".env", _ctx(tmp_path, clean_env))
    assert "PLAIN_REF is not encrypted" in str(info.value) and plain not in str(info.value)
    (tmp_path / "envshim.toml").write_text('files = [".env"]\n')
    proc = run_envshim("export", "--format", "json", str(tmp_path), env=clean_env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and f".env:{line}:" in proc.stderr
    assert plain not in proc.stderr


def _proj_with_vector(tmp_path: Path) -> Path:
    vec = need_vectors() / "generated" / "dotenvx"
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(vec / ".env.production", proj / ".env.production")
    (proj / "envshim.toml").write_text('files = [".env.production"]\n')
    return proj


def test_no_key_and_wrong_key(clean_env, tmp_path):
    proj = _proj_with_vector(tmp_path)
    with pytest.raises(NoMatchingKey) as info:
        read_file(proj / ".env.production", _ctx(proj, clean_env))
    assert "DOTENV_PRIVATE_KEY_PRODUCTION" in str(info.value)
    proc = run_envshim("export", "--format", "json", str(proj), env=clean_env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert ".env.production" in proc.stderr and "DOTENV_PRIVATE_KEY_PRODUCTION" in proc.stderr
    wrong = "22" * 32
    proc = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**clean_env, "DOTENV_PRIVATE_KEY_PRODUCTION": wrong},
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert wrong not in proc.stderr  # a private key never appears in a message
    assert "none matches" in proc.stderr


def test_malformed_private_key_is_not_echoed(clean_env, tmp_path):
    proj = _proj_with_vector(tmp_path)
    bad = "zz" + secrets.token_hex(31)
    proc = run_envshim(
        "export",
        "--format",
        "json",
        str(proj),
        env={**clean_env, "DOTENV_PRIVATE_KEY_PRODUCTION": bad},
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert bad not in proc.stderr and "DOTENV_PRIVATE_KEY_PRODUCTION" in proc.stderr


def test_tampered_value_is_an_error_even_when_skipping(clean_env, tmp_path):
    proj = _proj_with_vector(tmp_path)
    vec = need_vectors() / "generated" / "dotenvx"
    shutil.copy(vec / ".env.keys", proj / ".env.keys")
    path = proj / ".env.production"
    lines = path.read_text().split("\n")
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("DB_PASSWORD="))
    line = lines[idx]
    pos = line.index("encrypted:") + 100
    lines[idx] = line[:pos] + ("A" if line[pos] != "A" else "B") + line[pos + 1 :]
    path.write_text("\n".join(lines))
    with pytest.raises(DecryptError) as info:
        read_file(path, _ctx(proj, clean_env))
    assert not isinstance(info.value, NoMatchingKey)
    assert info.value.line == idx + 1 and "DB_PASSWORD" in str(info.value)
    proc = run_envshim(
        "export", "--format", "json", "--missing-key", "skip", str(proj), env=clean_env
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert f".env.production:{idx + 1}:" in proc.stderr and "s3cr3t" not in proc.stderr


def test_unrelated_or_empty_keys_do_not_get_in_the_way(clean_env):
    path = need_vectors() / "generated" / "dotenvx" / ".env.production"
    env = {**clean_env, "DOTENV_PRIVATE_KEY_OTHER": "not-a-key", "DOTENV_PRIVATE_KEY": ""}
    assert _values(path, env) == PRODUCTION


def _dotenvx_json(path: Path, env: dict[str, str]) -> dict[str, str]:
    proc = subprocess.run(
        [need("dotenvx"), "get", "-f", path.name, "--format", "json"],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = json.loads(proc.stdout)
    out.pop("DOTENV_PUBLIC_KEY", None)  # metadata: envshim leaves it out on purpose
    return out


def test_dotenvx_file_forms_as_dotenvx_reads_them(clean_env, tmp_path):
    """`#` right after a value starts a comment, backticks quote, dotted names, a BOM,
    and a file without its DOTENV_PUBLIC_KEY line: the real dotenvx is the oracle."""
    (tmp_path / ".env").write_text(
        'A=hello\nB=\nC="two words"\nD=x#notcomment\nE=y #comment\nF=`back tick`\n'
        "POSTGRESQL.BASE.USER=pg\n"
    )
    _dotenvx("encrypt", "-f", ".env", cwd=tmp_path, env=clean_env)
    text = (tmp_path / ".env").read_text()
    assert "=encrypted:" in text and "`encrypted:" in text
    key = _private_key(tmp_path / ".env.keys", "DOTENV_PRIVATE_KEY")
    env = {**clean_env, "DOTENV_PRIVATE_KEY": key}
    expected = {
        "A": "hello",
        "B": "",
        "C": "two words",
        "D": "x",
        "E": "y",
        "F": "back tick",
        "POSTGRESQL.BASE.USER": "pg",
    }
    other = tmp_path / "other"
    other.mkdir()  # no .env.keys here: the key comes from the environment only
    forms = {
        "nopub.env": "".join(
            line
            for line in text.splitlines(keepends=True)
            if "DOTENV_PUBLIC_KEY" not in line and not line.startswith("#")
        ),
        "bom.env": "\ufeff" + text,
        "as-written.env": text,
    }
    for name, content in forms.items():
        (other / name).write_text(content, encoding="utf-8")
        assert _dotenvx_json(other / name, env) == expected, name
        assert _values(other / name, env) == expected, name
