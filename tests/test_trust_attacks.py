"""Attacks on trust, performed: what someone with only the public key can commit.

A teammate's (or an attacker's) change is pulled after ``envshim allow``. Each
test makes the change the way the attacker would (real ``age -r <pub>``, real
``sops encrypt --age <pub>``, a committed symlink, a new link file, a new
``conf.d`` fragment), then ``cd``s into the project in a real interactive
shell through a pseudo-terminal, coming from another loaded project. The
effect is asserted: no marker file, no guarded name set, no other project's
value, the previous project gone, one line saying ``envshim allow`` is needed.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim
from test_hook_shells import Shell

SHELLS = ["bash", "zsh", "fish"]
GUARDED = ("PROMPT_COMMAND", "BASH_ENV", "LD_PRELOAD", "PS1", "ENVSHIM_QUIET")


def sops(env: dict[str, str], *args: str, cwd: Path, input: str | None = None) -> str:
    proc = subprocess.run(
        [need("sops"), *args], env=env, cwd=cwd, input=input, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def team(clean_env: dict[str, str], tmp_path: Path):
    """Alice's key in sops' default place; a project with one sops secret, allowed; and a
    second allowed project ("previous") whose secret must be gone after the attack."""
    env = dict(clean_env)
    keys = Path(env["XDG_CONFIG_HOME"]) / "sops" / "age"
    keys.mkdir(parents=True)
    public = age_keygen(keys / "keys.txt")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "envshim.toml").write_text("# team project\n")
    (project / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    run_envshim("secrets", "set", "DB_PASSWORD", cwd=project, env=env, input="pw-one\n", check=True)
    run_envshim("allow", str(project), env=env, check=True)
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "mise.toml").write_text('[env]\nPREVIOUS_SECRET = "from-previous"\n')
    run_envshim("allow", str(previous), env=env, check=True)
    return env, project, previous, public


def attacker_age_file(path: Path, public: str, text: str) -> None:
    """What anyone with the public key can make: an age file every teammate decrypts."""
    subprocess.run(
        [need("age"), "-r", public, "-a", "-o", str(path)], input=text.encode(), check=True
    )


def payload(marker: Path) -> str:
    touch = f"touch {shlex.quote(str(marker))}"
    return (
        f"PROMPT_COMMAND='{touch}'\nBASH_ENV={marker}.sh\nLD_PRELOAD=/tmp/evil.so\n"
        f"PS1='$({touch}) '\nENVSHIM_QUIET=1\nHARMLESS=x\n"
    )


def enter_from_previous(kind: str, env: dict[str, str], home: Path, previous: Path, project: Path):
    sh = Shell(kind, home, env, previous)
    loaded = sh.env()
    assert loaded["PREVIOUS_SECRET"] == "from-previous"
    out = sh.run(f"cd {shlex.quote(str(project))}")
    return sh, out


def assert_refused(sh: Shell, out: str, marker: Path) -> dict[str, str]:
    assert "run `envshim allow`" in out, out
    sh.run("true")  # one more prompt: PROMPT_COMMAND / PS1 would run now
    got = sh.env()
    for name in GUARDED:
        assert name not in got or (got[name] != "1" and "evil" not in got[name]), name
    assert "HARMLESS" not in got and "DB_PASSWORD" not in got
    assert "PREVIOUS_SECRET" not in got  # the previous project is unloaded all the same
    assert not marker.exists() and not Path(f"{marker}.sh").exists()
    return got


@pytest.mark.parametrize("kind", SHELLS)
def test_a_new_age_file_with_guarded_names_sets_nothing(kind, team, home, tmp_path):
    env, project, previous, public = team
    marker = tmp_path / "pwned"
    attacker_age_file(project / "secrets.env.age", public, payload(marker))
    sh, out = enter_from_previous(kind, env, home, previous, project)
    try:
        assert "secret file secrets.env.age is new" in out
        assert_refused(sh, out, marker)
    finally:
        sh.close()
    # `allow` and a plain export refuse the guarded names too: only envshim.toml may name them
    for args in (("allow", str(project)), ("export", "bash", str(project))):
        proc = run_envshim(*args, env=env)
        assert proc.returncode == 1 and proc.stdout == ""
        assert "PROMPT_COMMAND may be set only by committed config" in proc.stderr
        assert "allow_guarded" in proc.stderr and "touch" not in proc.stderr


@pytest.mark.parametrize("kind", SHELLS)
def test_a_sops_file_rewritten_with_the_public_key_sets_nothing(kind, team, home, tmp_path):
    env, project, previous, public = team
    marker = tmp_path / "pwned"
    target = project / "secrets.enc.env"
    plain = tmp_path / "plain.env"
    plain.write_text(f"DB_PASSWORD=pw-one\nPROMPT_COMMAND=touch {marker}\n")
    encrypted = sops(
        env, "encrypt", "--age", public, "--input-type", "dotenv", "--output-type", "dotenv",
        str(plain), cwd=tmp_path,
    )  # fmt: skip
    target.write_text(encrypted)
    sh, out = enter_from_previous(kind, env, home, previous, project)
    try:
        assert "secrets.enc.env sets new names: PROMPT_COMMAND" in out
        assert_refused(sh, out, marker)
    finally:
        sh.close()


def test_rotation_loads_without_allow_and_a_new_name_needs_one(team, home):
    env, project, _previous, _public = team
    target = project / "secrets.enc.env"
    # a teammate rotates the value with the real sops: no new allow needed
    sops(env, "set", str(target), '["DB_PASSWORD"]', '"pw-two"', cwd=project)
    verdict, resolution = _load(project, env)
    assert verdict.allowed and resolution is not None and resolution["DB_PASSWORD"] == "pw-two"
    # the same teammate adds a key: not loaded until allow, which lists it
    sops(env, "set", str(target), '["NEW_TOKEN"]', '"t"', cwd=project)
    verdict, resolution = _load(project, env)
    assert resolution is None and "sets new names: NEW_TOKEN" in "; ".join(verdict.changed)
    out = run_envshim("allow", str(project), env=env, check=True).stdout
    assert "secrets.enc.env may now set: NEW_TOKEN" in out
    verdict, resolution = _load(project, env)
    assert resolution is not None and resolution["NEW_TOKEN"] == "t"


def _load(project: Path, env: dict[str, str]):
    from envshim import trust

    return trust.load_allowed(project, environ=env)


@pytest.mark.parametrize("kind", SHELLS)
def test_a_symlink_to_another_projects_secret_file_is_refused(kind, team, home, tmp_path):
    env, project, previous, public = team
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    run_envshim(
        "secrets", "set", "DB_PASSWORD", cwd=victim, env=env, input="victim-pw\n", check=True
    )
    target = project / "secrets.enc.env"
    target.unlink()
    target.symlink_to(victim / "secrets.enc.env")
    sh, out = enter_from_previous(kind, env, home, previous, project)
    try:
        assert "secrets.enc.env now points elsewhere" in out
        got = assert_refused(sh, out, tmp_path / "none")
        assert "victim-pw" not in json.dumps(got)
    finally:
        sh.close()


@pytest.mark.parametrize(
    "name,text",
    [
        (".env", "ENV_SECRETS_ID=other-project-store\n"),
        ("App.csproj", "<Project><PropertyGroup><UserSecretsId>other-project-store"
         "</UserSecretsId></PropertyGroup></Project>\n"),
    ],
)  # fmt: skip
def test_a_link_file_added_after_allow_loads_no_other_store(name, text, team, home, tmp_path):
    env, project, previous, _public = team
    # another project's python-env-secrets store, on this machine
    store = Path(env["HOME"]) / ".python-env-secrets" / "other-project-store"
    store.mkdir(parents=True)
    (store / ".env").write_text("OTHER_PROJECT_TOKEN=stolen\n")
    (project / name).write_text(text)
    sh, out = enter_from_previous("bash", env, home, previous, project)
    try:
        assert f"{name} is new" in out
        got = assert_refused(sh, out, tmp_path / "none")
        assert "OTHER_PROJECT_TOKEN" not in got
    finally:
        sh.close()


@pytest.mark.parametrize("kind", SHELLS)
def test_a_conf_d_fragment_added_after_allow_is_never_evaluated(kind, team, home, tmp_path):
    env, project, previous, _public = team
    need("mise")
    marker = tmp_path / "ran-exec"
    (project / "mise.toml").write_text('[env]\nFROM_MISE = "1"\n')
    run_envshim("allow", str(project), env=env, check=True)
    # mise itself trusts the directory (so an exec() handed to it would run)
    mise_env = dict(env, MISE_TRUSTED_CONFIG_PATHS=str(project))
    conf = project / ".config" / "mise" / "conf.d"
    conf.mkdir(parents=True)
    (conf / "evil.toml").write_text(f"[env]\nEVIL = \"{{{{ exec(command='touch {marker}') }}}}\"\n")
    sh, out = enter_from_previous(kind, mise_env, home, previous, project)
    try:
        assert "conf.d/evil.toml is new" in out
        got = assert_refused(sh, out, marker)
        assert "EVIL" not in got and "FROM_MISE" not in got
    finally:
        sh.close()
    assert not marker.exists()


def test_new_recipient_is_shown_and_needs_allow(team):
    env, project, _previous, public = team
    mallory = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
    ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp6Y2V4c2V0c2V0c2V0c2V0c2V0c2V0c2V0c2V0c2V0"
    (project / ".sops.yaml").write_text(
        f"creation_rules:\n  - age: {public},{mallory}\n    # and\n  - age: '{ssh}'\n"
    )
    verdict, resolution = _load(project, env)
    assert resolution is None
    changed = "; ".join(verdict.changed)
    assert mallory in changed and "ssh-ed25519 …" in changed
    status = run_envshim("status", str(project), env=env).stdout
    assert mallory in status
    out = run_envshim("allow", str(project), env=env, check=True).stdout
    assert f".sops.yaml now also encrypts to: {mallory}" in out and "ssh-ed25519 …" in out


def test_umask_000_creates_only_private_files_and_dirs(team, tmp_path):
    env, project, _previous, _public = team
    home = Path(env["HOME"])
    before = {p for p in home.rglob("*")}
    cache = Path(env["XDG_CACHE_HOME"])
    for sub in list(cache.iterdir()):  # made fresh under the hostile umask
        subprocess.run(["rm", "-rf", str(sub)], check=True)

    def umask0(*args: str, input: str | None = None) -> None:
        command = "umask 000; exec " + " ".join(shlex.quote(a) for a in args)
        proc = subprocess.run(
            ["sh", "-c", command], env=env, cwd=project, input=input, capture_output=True,
            text=True,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    envshim = [os.environ.get("PYTHON", "python3"), "-m", "envshim"]
    import sys

    envshim[0] = sys.executable
    umask0(*envshim, "export", "bash")
    umask0(*envshim, "allow")
    umask0(*envshim, "user", "init")
    umask0(*envshim, "user", "set", "MINE", input="mine-value\n")
    umask0(*envshim, "secrets", "set", "OTHER", input="x-value\n")
    ours = cache / "envshim"
    created = [p for p in home.rglob("*") if p not in before or p.is_relative_to(ours)]
    assert any(p.is_relative_to(ours) for p in created)  # the parse cache was written
    for path in created:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))


def test_a_planted_cache_entry_owned_by_someone_else_is_ignored(team, tmp_path):
    env, project, _previous, _public = team
    (project / "mise.toml").write_text('[env]\nGREETING = "real"\n')
    first = run_envshim("export", "json", str(project), env=env, check=True)
    assert json.loads(first.stdout)["GREETING"] == "real"
    cache = Path(env["XDG_CACHE_HOME"]) / "envshim"
    entries = [p for p in cache.rglob("*") if p.is_file() and "mise.toml" in p.name]
    assert entries
    import marshal

    for entry in entries:
        key, stamp, raw = marshal.loads(entry.read_bytes())
        planted = json.loads(json.dumps(raw).replace('"real"', '"planted"'))
        entry.write_bytes(marshal.dumps((key, stamp, planted)))
        os.chown(entry, 65534, 65534)  # another user's file (the tests run as root in CI)
    again = run_envshim("export", "json", str(project), env=env, check=True)
    assert json.loads(again.stdout)["GREETING"] == "real"
    # a world-writable cache directory is not used either
    for entry in entries:
        os.chown(entry, os.getuid(), os.getgid())
    os.chmod(cache, 0o777)
    again = run_envshim("export", "json", str(project), env=env, check=True)
    assert json.loads(again.stdout)["GREETING"] == "real"


def test_direnv_use_envshim_refuses_a_pulled_secret_file(team, tmp_path):
    """The same attack through the real direnv's `use envshim`."""
    env, project, _previous, public = team
    from test_direnv import direnv

    env = dict(env)
    env.pop("XDG_RUNTIME_DIR", None)
    run_envshim("direnv", "install", env=env, check=True)
    (project / ".envrc").write_text("use envshim\n")
    assert direnv(env, project, "allow", ".").returncode == 0
    run_envshim("allow", str(project), env=env, check=True)
    first = direnv(env, project, "export", "json")
    assert json.loads(first.stdout)["DB_PASSWORD"] == "pw-one"

    marker = tmp_path / "pwned"
    attacker_age_file(project / "secrets.env.age", public, payload(marker))
    proc = direnv(env, project, "export", "json")
    assert "secret file secrets.env.age is new" in proc.stderr
    assert "run `envshim allow`" in proc.stderr
    got = json.loads(proc.stdout) if proc.stdout.strip() else {}
    for name in (*GUARDED, "HARMLESS", "DB_PASSWORD"):
        assert not got.get(name), name
    assert not marker.exists()


def test_mise_plugin_obeys_the_record_and_runs_no_repository_command(team, tmp_path):
    """Through the real mise with the plugin linked: a config added after `allow` can
    neither point the team layer at another project's secrets nor choose the command."""
    env, project, _previous, public = team
    from conftest import REPO
    from test_mise_plugin import mise

    env = dict(env, MISE_TRUSTED_CONFIG_PATHS=str(tmp_path))
    assert (
        mise(env, tmp_path, "plugins", "link", "envshim", str(REPO / "mise-plugin")).returncode == 0
    )
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    run_envshim("secrets", "set", "VICTIM_PW", cwd=victim, env=env, input="victim-pw\n", check=True)
    (project / "mise.toml").write_text('[env]\nPLAIN = "p"\n_.envshim = {}\n')
    run_envshim("allow", str(project), env=env, check=True)
    ok = mise(env, project, "env", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["DB_PASSWORD"] == "pw-one"

    marker = tmp_path / "ran-tool"
    tool = project / "tool.sh"
    tool.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\n")
    tool.chmod(0o755)
    (project / "mise.local.toml").write_text(
        '[env]\n_.envshim = { files = ["../victim/secrets.enc.env"], command = "./tool.sh" }\n'
    )
    proc = mise(env, project, "env", "--json")
    assert "mise.local.toml is new" in proc.stderr and "envshim allow" in proc.stderr
    assert "victim-pw" not in proc.stdout + proc.stderr
    got = json.loads(proc.stdout) if proc.returncode == 0 else {}
    assert "VICTIM_PW" not in got and "DB_PASSWORD" not in got
    assert not marker.exists()
    # even allowed, the `command` option is never run: the plugin takes ENVSHIM_BIN or PATH
    run_envshim("allow", str(project), env=env, check=True)
    proc = mise(env, project, "env", "--json")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
