"""The pydantic-settings source with the real pydantic-settings, on a project whose secrets
were written by envshim and by the real sops, with a key from the real age-keygen.

``make_project`` is shared with the pytest and Jupyter integration tests.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import age_keygen, need, run_envshim

pydantic = pytest.importorskip("pydantic")
pytest.importorskip("pydantic_settings")

from pydantic import BaseModel, SecretStr, ValidationError  # noqa: E402
from pydantic_settings import BaseSettings, SettingsConfigDict  # noqa: E402

from envshim.errors import EnvshimError  # noqa: E402
from envshim.pydantic import EnvshimSettings, EnvshimSource  # noqa: E402


def _sops_yaml(root: Path, env: dict[str, str], name: str, text: str) -> None:
    """``name`` encrypted by the real sops from ``text`` on stdin (no plaintext file)."""
    proc = subprocess.run(
        [need("sops"), "encrypt", "--filename-override", name,
         "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"],
        input=text, cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (root / name).write_text(proc.stdout)


def make_project(root: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """A project with a ``local`` (no profile) and a ``staging`` environment.

    mise defaults (``APP_NAME``, ``LOG_LEVEL``; ``mise.staging.toml`` overrides the level),
    ``API_TOKEN`` set with ``envshim secrets set`` in the shared and the staging file, a
    nested ``database`` map in sops YAML made by the real sops (``database__host``, …),
    ``DEV_EMAIL`` in the user store, ``STAGING_ONLY`` in staging alone. The key is a fresh
    age-keygen identity in the default sops location for ``env``. Returns the expected
    values per profile.
    """
    from envshim.keys import default_key_file

    keyfile = default_key_file(env)
    keyfile.parent.mkdir(parents=True, exist_ok=True)
    public = age_keygen(keyfile)
    root.mkdir(parents=True, exist_ok=True)
    (root / "mise.toml").write_text('[env]\nAPP_NAME = "svc"\nLOG_LEVEL = "info"\n')
    (root / "mise.staging.toml").write_text('[env]\nLOG_LEVEL = "warning"\nSTAGING_ONLY = "1"\n')
    run_envshim("recipients", "add", public, env=env, cwd=root, check=True)

    def secret(tag: str) -> str:  # URL-special characters, so encoded forms differ
        return f"{tag}-p@ss:w/rd?{secrets.token_hex(8)}"

    local = {
        "APP_NAME": "svc",
        "LOG_LEVEL": "info",
        "API_TOKEN": secret("tok"),
        "database__host": "db.local",
        "database__password": secret("dbpw"),
        "database__pool__size": "5",
        "DEV_EMAIL": f"me-{secrets.token_hex(4)}@example.invalid",
    }
    staging = {
        **local,
        "LOG_LEVEL": "warning",
        "STAGING_ONLY": "1",
        "API_TOKEN": secret("stagetok"),
        "database__host": "db.staging",
        "database__password": secret("stagepw"),
    }
    run_envshim("secrets", "set", "API_TOKEN", "-", env=env, cwd=root, input=local["API_TOKEN"],
                check=True)  # fmt: skip
    run_envshim("secrets", "set", "--file", "secrets.staging.enc.env", "API_TOKEN", "-",
                env=env, cwd=root, input=staging["API_TOKEN"], check=True)  # fmt: skip
    for name, values in (("secrets.enc.yaml", local), ("secrets.staging.enc.yaml", staging)):
        _sops_yaml(root, env, name,
                   f"database:\n  host: {values['database__host']}\n"
                   f"  password: '{values['database__password']}'\n  pool:\n    size: 5\n")  # fmt: skip
    run_envshim("user", "init", env=env, cwd=root, check=True)
    run_envshim("user", "set", "DEV_EMAIL", "-", env=env, cwd=root, input=local["DEV_EMAIL"],
                check=True)  # fmt: skip
    return {"local": local, "staging": staging}


SECRET_KEYS = ("API_TOKEN", "database__host", "database__password", "DEV_EMAIL")


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, dict[str, str]]]:
    root = tmp_path / "svc"
    return root, make_project(root, clean_env)


class Pool(BaseModel):
    size: int


class Database(BaseModel):
    host: str
    password: SecretStr
    pool: Pool


def settings_class(root: Path, profile: str | None) -> type[BaseSettings]:
    class Settings(EnvshimSettings):
        model_config = SettingsConfigDict(
            env_nested_delimiter="__", envshim_path=str(root), envshim_env=profile
        )
        app_name: str | SecretStr  # a mise value: stays a str
        log_level: str
        api_token: SecretStr
        database: Database
        dev_email: Any  # a user value: SecretStr, as the field allows it

    return Settings


@pytest.mark.parametrize("profile", [None, "staging"])
def test_two_profiles_nested_models_and_secretstr(project, profile: str | None) -> None:
    root, expected = project
    want = expected[profile or "local"]
    before = dict(os.environ)
    s = settings_class(root, profile)()
    assert dict(os.environ) == before  # nothing written, nothing removed
    assert not any(want[k] in os.environ.values() for k in SECRET_KEYS)

    assert s.app_name == "svc" and type(s.app_name) is str
    assert s.log_level == want["LOG_LEVEL"]
    assert isinstance(s.api_token, SecretStr)
    assert s.api_token.get_secret_value() == want["API_TOKEN"]
    assert s.database.host == want["database__host"] and type(s.database.host) is str
    assert s.database.password.get_secret_value() == want["database__password"]
    assert s.database.pool.size == 5
    assert isinstance(s.dev_email, SecretStr)
    assert s.dev_email.get_secret_value() == want["DEV_EMAIL"]
    shown = repr(s) + str(s.model_dump())
    assert not any(want[k] in shown for k in ("API_TOKEN", "database__password", "DEV_EMAIL"))


def test_the_source_as_a_plain_pydantic_settings_source(project, tmp_path: Path) -> None:
    """EnvshimSource in a plain BaseSettings, profile as an argument, with env_prefix-free
    case-sensitive names: the rules are pydantic-settings' own."""
    root, expected = project

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_nested_delimiter="__", case_sensitive=True)
        API_TOKEN: str | SecretStr
        LOG_LEVEL: str
        database: dict[str, Any]  # Any holds a SecretStr
        DEV_EMAIL: dict[str, str] | str  # a str field: the plain value

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):  # fmt: skip
            return (init_settings, EnvshimSource(settings_cls, root, "staging"), env_settings)

    s = Settings()
    assert s.API_TOKEN.get_secret_value() == expected["staging"]["API_TOKEN"]
    assert s.LOG_LEVEL == "warning"
    assert s.database["password"].get_secret_value() == expected["staging"]["database__password"]
    email = s.DEV_EMAIL
    assert email == expected["staging"]["DEV_EMAIL"] and type(email) is str


def test_precedence_init_envshim_environment_dotenv_secrets_dir(
    project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, expected = project
    dotenv = tmp_path / "app.env"
    dotenv.write_text(
        "API_TOKEN=from-dotenv\nLOG_LEVEL=from-dotenv\nFROM_DOTENV=d\nFROM_ENVIRON=from-dotenv\n"
    )
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    for name, value in (("api_token", "from-dir"), ("from_dotenv", "from-dir"),
                        ("from_dir", "s")):  # fmt: skip
        (secrets_dir / name).write_text(value)
    monkeypatch.setenv("API_TOKEN", "from-environ")
    monkeypatch.setenv("APP_NAME", "from-environ")
    monkeypatch.setenv("FROM_ENVIRON", "e")

    class Settings(EnvshimSettings):
        model_config = SettingsConfigDict(
            envshim_path=str(root), env_file=str(dotenv), secrets_dir=str(secrets_dir)
        )
        api_token: SecretStr
        app_name: str
        log_level: str
        from_environ: str
        from_dotenv: str
        from_dir: str

    s = Settings()
    assert s.api_token.get_secret_value() == expected["local"]["API_TOKEN"]  # envshim > environ
    assert s.app_name == "svc"  # a mise default also wins over the environment
    assert s.log_level == "info"  # envshim > dotenv
    assert (s.from_environ, s.from_dotenv, s.from_dir) == ("e", "d", "s")
    assert Settings(api_token="init").api_token.get_secret_value() == "init"  # init > all


def test_a_secret_that_fails_validation_is_not_quoted(project) -> None:
    root, expected = project

    class Settings(EnvshimSettings):
        model_config = SettingsConfigDict(envshim_path=str(root))
        api_token: int

    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "api_token" in str(caught.value)
    assert expected["local"]["API_TOKEN"] not in str(caught.value)


def test_missing_key_is_envshims_one_line_or_skipped(project, clean_env) -> None:
    root, expected = project
    from envshim.keys import default_key_file

    default_key_file(clean_env).unlink()

    class Settings(EnvshimSettings):
        model_config = SettingsConfigDict(envshim_path=str(root))
        app_name: str
        api_token: SecretStr | None = None

    with pytest.raises(EnvshimError) as caught:
        Settings()
    message = str(caught.value)
    assert "secrets.enc.env" in message and "\n" not in message
    assert expected["local"]["API_TOKEN"] not in message

    class Lenient(Settings):
        model_config = SettingsConfigDict(envshim_missing_key="skip")

    s = Lenient()
    assert s.app_name == "svc" and s.api_token is None


def test_core_never_imports_the_frameworks(project, clean_env) -> None:
    """Resolving and loading a project (twice: the public function stays a function)
    imports neither pydantic, pytest nor IPython."""
    root, expected = project
    code = (
        "import envshim, sys\n"
        f"r = envshim.resolve({str(root)!r}, 'staging')\n"
        f"envshim.load({str(root)!r})\n"
        f"assert envshim.resolve({str(root)!r})['API_TOKEN'] == {expected['local']['API_TOKEN']!r}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "    {'pydantic', 'pydantic_settings', 'pytest', '_pytest', 'IPython', 'ipykernel'})\n"
        "assert not bad, bad\n"
        "assert 'envshim.integrations' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=clean_env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
