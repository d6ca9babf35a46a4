"""Secrets that coding agents never see: agent-aware loading and exec-only values.

The project has committed defaults (mise.toml), a team secret (sops, real key)
and a user value. In an agent's shell (a marker variable set) ``cd`` loads the
committed defaults only; exec-only values never reach an interactive shell in
any case, while ``envshim run`` children and ``envshim.load()`` get them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import age_keygen, run_envshim
from test_hook_shells import Shell

SECRET = "team-secret-value-1"
MINE = "my-own-value-2"


@pytest.fixture
def agent_project(clean_env: dict[str, str], tmp_path: Path):
    env = dict(clean_env)
    keys = Path(env["XDG_CONFIG_HOME"]) / "sops" / "age"
    keys.mkdir(parents=True)
    public = age_keygen(keys / "keys.txt")
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    (project / "envshim.toml").write_text("# options\n")
    (project / "mise.toml").write_text(
        '[env]\nAPP_ENV = "dev"\n_.envshim = {}\n'
        "DATABASE_URL = \"postgres://app:{{ env.DB_PASSWORD | default(value='none') }}@db/app\"\n"
    )
    run_envshim("secrets", "set", "DB_PASSWORD", cwd=project, env=env, input=SECRET + "\n",
                check=True)  # fmt: skip
    run_envshim("user", "init", cwd=project, env=env, check=True)
    run_envshim("user", "set", "MY_TOKEN", cwd=project, env=env, input=MINE + "\n", check=True)
    run_envshim("allow", str(project), env=env, check=True)
    return env, project


def add_option(project: Path, line: str) -> None:
    """Add a line to envshim.toml, keeping what `user init` wrote there."""
    path = project / "envshim.toml"
    path.write_text(line + "\n" + path.read_text())


def load(env: dict[str, str], project: Path) -> dict[str, str]:
    """What the hook would put into the shell (the same call the hook makes)."""
    from envshim import trust

    verdict, resolution = trust.load_allowed(project, environ=env)
    assert verdict.allowed and resolution is not None, verdict.changed
    return {k: v for k, v in resolution.changes().items() if v is not None}


def test_without_a_marker_everything_loads(agent_project):
    env, project = agent_project
    got = load(env, project)
    assert got["DB_PASSWORD"] == SECRET and got["MY_TOKEN"] == MINE
    assert got["DATABASE_URL"] == f"postgres://app:{SECRET}@db/app"


@pytest.mark.parametrize(
    "marker",
    ["CLAUDECODE", "CURSOR_AGENT", "GEMINI_CLI", "CODEX_SANDBOX", "COPILOT_CLI",
     "AIDER_MODEL", "AI_AGENT", "AGENT"],
)  # fmt: skip
def test_each_agent_marker_loads_committed_defaults_only(agent_project, marker):
    env, project = agent_project
    got = load(dict(env, **{marker: "1"}), project)
    assert got["APP_ENV"] == "dev"
    assert "DB_PASSWORD" not in got and "MY_TOKEN" not in got
    # the derived value never saw the secret: withheld values are not applied at all
    assert got["DATABASE_URL"] == "postgres://app:none@db/app"
    assert SECRET not in json.dumps(got) and MINE not in json.dumps(got)


def test_forcing_detection_and_choosing_the_mode(agent_project):
    env, project = agent_project
    assert "DB_PASSWORD" in load(dict(env, CLAUDECODE="1", ENVSHIM_AGENT="0"), project)
    assert "DB_PASSWORD" not in load(dict(env, ENVSHIM_AGENT="1"), project)
    # the project chooses "all"; then the user's own config says "none" for this project
    add_option(project, 'agents = "all"')
    run_envshim("allow", str(project), env=env, check=True)
    assert load(dict(env, CLAUDECODE="1"), project)["DB_PASSWORD"] == SECRET
    user_config = Path(env["XDG_CONFIG_HOME"]) / "envshim" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(f'[projects."{project}"]\nagents = "none"\n')
    assert load(dict(env, CLAUDECODE="1"), project) == {}
    assert load(env, project)["DB_PASSWORD"] == SECRET  # not an agent: the mode does not apply


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_agent_shell_holds_no_secret(kind, agent_project, home):
    env, project = agent_project
    sh = Shell(kind, home, dict(env, CLAUDECODE="1"), project.parent)
    try:
        out = sh.run(f"cd {shlex.quote(str(project))}")
        assert "agent shell (CLAUDECODE is set)" in out
        raw = sh.env_raw()
        assert SECRET.encode() not in raw and MINE.encode() not in raw
        child = sh.env()
        assert child["APP_ENV"] == "dev" and "DB_PASSWORD" not in child
        # the agent can still run the tests with the secret, in one child only
        py = shlex.quote(sys.executable)
        seen = sh.capture(
            f"{py} -m envshim run -- {py} -c 'import os; print(os.environ[\"DB_PASSWORD\"])'"
        )
        assert seen.strip() == SECRET
    finally:
        sh.close()
    # the same project without the marker loads everything
    sh = Shell(kind, home, env, project.parent)
    try:
        sh.run(f"cd {shlex.quote(str(project))}")
        assert sh.env()["DB_PASSWORD"] == SECRET
    finally:
        sh.close()


def test_exec_only_values_reach_run_and_load_but_no_shell(agent_project):
    env, project = agent_project
    add_option(project, 'exec_only = ["DB_PASSWORD"]')
    user_config = Path(env["XDG_CONFIG_HOME"]) / "envshim" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('exec_only = ["MY_TOKEN"]\n')
    run_envshim("allow", str(project), env=env, check=True)

    shell = load(env, project)
    assert "DB_PASSWORD" not in shell and "MY_TOKEN" not in shell and shell["APP_ENV"] == "dev"

    # export leaves them out and says so; the explicit flag prints them
    out = run_envshim("export", "json", str(project), env=env, check=True)
    assert "DB_PASSWORD" not in json.loads(out.stdout) and SECRET not in out.stdout
    assert "exec-only, not exported: DB_PASSWORD, MY_TOKEN" in out.stderr
    full = run_envshim("export", "--include-exec-only", "json", str(project), env=env, check=True)
    assert json.loads(full.stdout)["DB_PASSWORD"] == SECRET

    # run's child and load() get them
    code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in ('DB_PASSWORD', 'MY_TOKEN')}))"
    ran = run_envshim("run", "--", sys.executable, "-c", code, cwd=project, env=env, check=True)
    assert json.loads(ran.stdout) == {"DB_PASSWORD": SECRET, "MY_TOKEN": MINE}
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import envshim, os; envshim.load(); print(os.environ['DB_PASSWORD'], os.environ['MY_TOKEN'])"],
        cwd=project, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert loaded.stdout.split() == [SECRET, MINE]


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_exec_only_file_never_enters_the_interactive_shell(kind, agent_project, home):
    env, project = agent_project
    add_option(project, 'exec_only = ["secrets.enc.env"]')
    run_envshim("allow", str(project), env=env, check=True)
    sh = Shell(kind, home, env, project.parent)
    try:
        sh.run(f"cd {shlex.quote(str(project))}")
        raw = sh.env_raw()
        assert SECRET.encode() not in raw
        child = sh.env()
        assert child["MY_TOKEN"] == MINE and "DB_PASSWORD" not in child
    finally:
        sh.close()


def test_status_and_explain_say_where_an_exec_only_value_goes(agent_project):
    env, project = agent_project
    add_option(project, 'exec_only = ["DB_PASSWORD"]')
    run_envshim("allow", str(project), env=env, check=True)
    status = run_envshim("status", str(project), env=env, check=True).stdout
    line = next(x for x in status.splitlines() if x.strip().startswith("DB_PASSWORD"))
    assert "exec-only: not in shells; `envshim run` and envshim.load() get it" in line
    data = json.loads(run_envshim("status", "--json", str(project), env=env).stdout)
    assert data["withheld_from_shells"] == {"DB_PASSWORD": "exec-only"}
    explain = run_envshim("explain", "DB_PASSWORD", cwd=project, env=env, check=True).stdout
    assert "shells   exec-only" in explain and SECRET not in explain + status
    in_agent = run_envshim("explain", "MY_TOKEN", cwd=project, env=dict(env, CLAUDECODE="1"))
    assert "not loaded in this agent's shell" in in_agent.stdout
