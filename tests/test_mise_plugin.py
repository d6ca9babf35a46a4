"""The mise plugin with the real mise: `_.envshim = {}` brings the team and user values in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, need, run_envshim


def mise(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("mise"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def plugin_project(clean_env: dict[str, str], tmp_path: Path):
    env = dict(clean_env)
    linked = mise(env, tmp_path, "plugins", "link", "envshim", str(REPO / "mise-plugin"))
    assert linked.returncode == 0, linked.stderr
    project = tmp_path / "proj"
    project.mkdir()
    (project / "mise.toml").write_text(
        '[env]\nPLAIN = "from mise"\n_.envshim = {}\n'
        "DERIVED = \"t={{ env.MY_TOKEN | default(value='none') }}\"\n"
    )
    run_envshim("user", "init", "--plaintext", cwd=project, env=env, check=True)
    run_envshim("user", "set", "MY_TOKEN", cwd=project, env=env, input="tok'1\n", check=True)
    assert mise(env, project, "trust", "-q").returncode == 0
    return env, project


def test_mise_env_gets_the_user_values_once(plugin_project):
    env, project = plugin_project
    before = mise(env, project, "env", "--json")
    assert before.returncode == 0, before.stderr
    assert "MY_TOKEN" not in json.loads(before.stdout)
    assert "is not allowed; run `envshim allow`" in before.stderr

    run_envshim("allow", str(project), env=env, check=True)
    proc = mise(env, project, "env", "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["MY_TOKEN"] == "tok'1" and got["PLAIN"] == "from mise"
    assert got["DERIVED"] == "t=tok'1"  # entries after the directive see the secret
    expected = json.loads(run_envshim("export", "json", str(project), env=env, check=True).stdout)
    for key in ("MY_TOKEN", "PLAIN", "DERIVED"):
        assert got[key] == expected[key]
    # once: the plugin leaves the mise layer out, so nothing is applied twice
    shell = mise(env, project, "env", "-s", "bash").stdout
    assert shell.count("MY_TOKEN=") == 1 and shell.count("PLAIN=") == 1


def test_a_failing_envshim_leaves_mise_usable(plugin_project):
    env, project = plugin_project
    run_envshim("allow", str(project), env=env, check=True)
    proc = mise(dict(env, ENVSHIM_BIN=str(project / "no-such-envshim")), project, "env", "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["PLAIN"] == "from mise" and "MY_TOKEN" not in got and got["DERIVED"] == "t=none"
    warnings = [line for line in proc.stderr.splitlines() if "envshim" in line]
    assert len(warnings) == 1 and "no variables loaded" in warnings[0]

    # a store that cannot be read: envshim's one line, still no variables and mise works
    store = next((Path(env["XDG_DATA_HOME"]) / "envshim" / "users").iterdir())
    for path in store.iterdir():
        if path.name.startswith("values"):
            path.write_text("{ not json")
    proc = mise(env, project, "env", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "MY_TOKEN" not in json.loads(proc.stdout)
    assert "tok'1" not in proc.stderr


def test_options_from_the_table_reach_envshim(plugin_project):
    env, project = plugin_project
    text = (project / "mise.toml").read_text()
    # `envshim user init` linked the store inside the table: only ctx.options carries it
    assert "user_store" in text and not (project / "envshim.toml").exists()
    run_envshim("allow", str(project), env=env, check=True)
    assert json.loads(mise(env, project, "env", "--json").stdout)["MY_TOKEN"] == "tok'1"

    (project / "mise.toml").write_text(text.replace("_.envshim = {", "_.envshim = {bogus = 1, "))
    run_envshim("allow", str(project), env=env, check=True)
    proc = mise(env, project, "env", "--json")
    assert proc.returncode == 0
    assert "unknown option 'bogus' in the _.envshim table" in proc.stderr


def test_plugins_section_with_a_local_path(clean_env, tmp_path):
    env = dict(clean_env)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "mise.toml").write_text(
        f'[plugins]\nenvshim = "{REPO / "mise-plugin"}"\n[env]\n_.envshim = {{}}\n'
    )
    run_envshim("user", "init", "--plaintext", cwd=project, env=env, check=True)
    run_envshim("user", "set", "MY_TOKEN", cwd=project, env=env, input="t\n", check=True)
    assert mise(env, project, "trust", "-q").returncode == 0
    run_envshim("allow", str(project), env=env, check=True)
    proc = mise(env, project, "env", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["MY_TOKEN"] == "t"


def test_resources_are_found():
    from envshim import resources

    assert (resources.mise_plugin_dir() / "hooks" / "mise_env.lua").is_file()
    names = {p.name for p in resources.shell_dir().iterdir()}
    assert {"envshim.bash", "envshim.zsh", "envshim.fish", "direnv.sh"} <= names
