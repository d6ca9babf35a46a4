"""python-env-secrets and dotnet user-secrets stores, made by hand in their documented layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envshim.compat_stores import flatten_dotnet, parse_env_secrets
from test_user_support import envshim, files_containing, make_key, store_dirs, user_env

ID = "3f2b8c1e-6a4d-4e2f-9b7a-1c5d8e9f0a2b"
SECRET = "pw with spaces=and#hash"


@pytest.fixture
def env(clean_env: dict[str, str], home: Path, tmp_path: Path) -> dict[str, str]:
    make_key(home)
    return user_env(clean_env, tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    return p


def _env_secrets_store(home: Path, project: Path, *, older: bool = False) -> Path:
    """As python-env-secrets writes it: the id in .env, KEY=value lines in ~/.python/…/.secrets."""
    var, sub = ("USER_SECRETS_ID", "usersecrets") if older else ("ENV_SECRETS_ID", "envsecrets")
    (project / ".env").write_text(f"DEBUG=1\n{var}={ID}\n")
    secrets = home / ".python" / sub / ID / ".secrets"
    secrets.parent.mkdir(parents=True)
    secrets.write_text(
        "# Python Env Secrets\n# Do not share or commit this file to source control.\n"
        f"# Project: {project}\n# ID: {ID}\n\n"
        f'API_KEY=abc123\nDB_PASSWORD="{SECRET}"\nexport TOKEN=t0k\n'
    )
    secrets.chmod(0o600)
    return secrets


def _dotnet_store(base: Path, project: Path) -> Path:
    (project / "App.csproj").write_text(
        '<Project Sdk="Microsoft.NET.Sdk.Web">\n  <PropertyGroup>\n'
        "    <TargetFramework>net8.0</TargetFramework>\n"
        f"    <UserSecretsId>{ID}</UserSecretsId>\n  </PropertyGroup>\n</Project>\n"
    )
    secrets = base / ID / "secrets.json"
    secrets.parent.mkdir(parents=True)
    # `dotnet user-secrets set "A:B" v` writes flat colon keys; hand edits nest; comments are allowed
    secrets.write_text(
        "{\n"
        '  "ConnectionStrings:Default": "Server=localhost;Password=' + SECRET + '",\n'
        "  // a comment, as .NET configuration allows\n"
        '  "Auth": { "Domain": "dev.example.com", "Retries": 3, "Strict": true, "Ratio": 1.50 },\n'
        '  "Hosts": ["a", "b"],\n'
        '  "Bad.Name": "skipped",\n'
        "}\n"
    )
    return secrets


DOTNET_VALUES = {
    "ConnectionStrings__Default": f"Server=localhost;Password={SECRET}",
    "Auth__Domain": "dev.example.com",
    "Auth__Retries": "3",
    "Auth__Strict": "true",
    "Auth__Ratio": "1.50",
    "Hosts__0": "a",
    "Hosts__1": "b",
}


def _export(env: dict[str, str], project: Path) -> tuple[dict[str, str], str]:
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def _import_and_check(
    env: dict[str, str],
    home: Path,
    project: Path,
    source: Path,
    expected: dict[str, str],
    *args: str,
    same_id: bool = True,
) -> None:
    original = source.read_bytes()
    proc = envshim("user", "import", *args, env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    assert source.read_bytes() == original  # the import source is left as it was
    [store] = store_dirs(home)
    if same_id:
        assert store.name == ID  # the same id: the project's link keeps working
    values = json.loads(envshim("user", "list", "--json", "--reveal", env=env, cwd=project).stdout)
    assert values == expected
    exported, stderr = _export(env, project)
    assert {k: exported[k] for k in expected} == expected
    assert "envshim user import" not in stderr  # the envshim store wins now
    # no plaintext copy anywhere but the other tool's own file
    hits = files_containing(SECRET, home, project, Path(env["TMPDIR"]), source.parent)
    assert set(hits) == {str(source)}


@pytest.mark.parametrize("older", [False, True])
def test_python_env_secrets_store_loads_and_imports(
    env: dict[str, str], home: Path, project: Path, older: bool
) -> None:
    source = _env_secrets_store(home, project, older=older)
    expected = {"API_KEY": "abc123", "DB_PASSWORD": SECRET, "TOKEN": "t0k"}
    exported, stderr = _export(env, project)
    assert {k: exported[k] for k in expected} == expected
    assert "envshim user import" in stderr and SECRET not in stderr
    explain = envshim("explain", "DB_PASSWORD", env=env, cwd=project).stdout
    assert f"user store {ID}" in explain and "python-env-secrets" in explain
    assert store_dirs(home) == []  # loading created nothing
    _import_and_check(env, home, project, source, expected)


def test_dotnet_store_loads_and_imports(env: dict[str, str], home: Path, project: Path) -> None:
    source = _dotnet_store(home / ".microsoft" / "usersecrets", project)
    exported, stderr = _export(env, project)
    assert {k: exported[k] for k in DOTNET_VALUES} == DOTNET_VALUES
    assert "Bad.Name" in stderr and "skipped" in stderr
    assert "envshim user import" in stderr
    _import_and_check(env, home, project, source, DOTNET_VALUES)


def test_dotnet_store_under_appdata(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path
) -> None:
    appdata = tmp_path / "AppData" / "Roaming"
    _dotnet_store(appdata / "Microsoft" / "UserSecrets", project)
    env = dict(env, APPDATA=str(appdata))
    exported, _ = _export(env, project)
    assert exported["Auth__Domain"] == "dev.example.com"


def test_import_a_dotenv_file_and_a_named_store(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path
) -> None:
    assert envshim("user", "init", env=env, cwd=project).returncode == 0
    dotenv = tmp_path / "old.env"
    dotenv.write_text(f"export A=1\nB='{SECRET}'\n# comment\nC=\"line\\nbreak\"\n")
    _import_and_check(
        env,
        home,
        project,
        dotenv,
        {"A": "1", "B": SECRET, "C": "line\nbreak"},
        str(dotenv),
        same_id=False,
    )


def test_import_from_a_dotnet_directory(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path
) -> None:
    assert envshim("user", "init", env=env, cwd=project).returncode == 0
    elsewhere = tmp_path / "other-project"
    elsewhere.mkdir()
    source = _dotnet_store(tmp_path / "exported", elsewhere)
    proc = envshim("user", "import", str(source.parent), env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    values = json.loads(envshim("user", "list", "--json", "--reveal", env=env, cwd=project).stdout)
    assert values == DOTNET_VALUES


def test_import_errors(env: dict[str, str], project: Path, tmp_path: Path) -> None:
    assert envshim("user", "init", env=env, cwd=project).returncode == 0
    proc = envshim("user", "import", env=env, cwd=project)
    assert proc.returncode != 0 and "envshim user import FILE" in proc.stderr
    bad = tmp_path / "secrets.json"
    bad.write_text('{"A": "' + SECRET + '",,}')
    proc = envshim("user", "import", str(bad), env=env, cwd=project)
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr and SECRET not in proc.stderr


def test_flatten_dotnet() -> None:
    doc = {"A:B": {"C": [1, {"D": None}]}, "E": False}
    assert flatten_dotnet(doc) == {"A__B__C__0": "1", "A__B__C__1__D": "", "E": "false"}


_line_value = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda v: v == v.strip())


@settings(max_examples=100)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True), _line_value, max_size=5
    )
)
def test_env_secrets_reads_what_the_tool_writes(values: dict[str, str]) -> None:
    """python-env-secrets writes ``K="v"`` when v holds a space, =, #, or a quote, else ``K=v``."""
    lines = ["# Python Env Secrets", "# ID: x", ""]
    for key, value in values.items():
        quoted = any(c in value for c in " =#'\"")
        lines.append(f'{key}="{value}"' if quoted else f"{key}={value}")
    assert parse_env_secrets("\n".join(lines) + "\n") == values
