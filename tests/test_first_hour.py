"""Issue 12: the paths a new user walks, through the real CLI. Each bad input gives one
line that names the next step, a non-zero exit, no traceback, and changes no file.
Missing keys: everything says `envshim join`, and what opens without the key is shown."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import age_keygen, git, need, run_envshim

SECRET = "s3cr3t-db-pa55word"
MINE = "my-own-value-42"


def snapshot(*dirs: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``dirs``: content and mode (what "no file changed" compares).
    ``.cache`` is left out: envshim may cache parsed non-secret config there."""
    out = {}
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = [n for n in dirnames if n not in (".git", ".cache")]
            for name in filenames:
                p = Path(dirpath, name)
                out[str(p)] = (p.read_bytes(), stat.S_IMODE(p.lstat().st_mode))
    return out


def one_line_failure(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.stdout == "", proc.stdout
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.strip()


# --- a working directory that was deleted ------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "bash"],
        ["doctor"],
        ["run", "--", "true"],
        ["explain", "X"],
        ["allow"],
        ["scan"],
        ["join"],
        ["user", "list"],
        ["secrets", "list"],
        ["status"],
    ],
)
def test_every_command_in_a_deleted_directory_says_to_cd(tmp_path, clean_env, home, argv):
    gone = tmp_path / "gone"
    gone.mkdir()
    before = snapshot(tmp_path)
    # the shell stays in a directory that no longer exists, as after `rm -rf` from elsewhere
    script = f'cd "{gone}" && rmdir "{gone}" && exec "$@"'
    proc = subprocess.run(
        [need("bash"), "-c", script, "sh", *run_argv(argv)],
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = one_line_failure(proc)
    assert line == (
        "envshim: the current directory no longer exists (deleted or moved); "
        "`cd` to an existing directory and run the command again"
    )
    assert snapshot(tmp_path) == before  # join created no key, nothing else was written


def run_argv(argv: list[str]) -> list[str]:
    import sys

    return [sys.executable, "-m", "envshim", *argv]


def test_the_hook_still_unloads_from_a_deleted_directory(tmp_path, clean_env):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f'cd "{gone}" && rmdir "{gone}" && exec "$@"'
    proc = subprocess.run(
        [need("bash"), "-c", script, "sh", *run_argv(["export", "bash", "--hook"])],
        env=clean_env,
        capture_output=True,
        text=True,
    )
    # the hook's own path: it must still print its script (the previous project unloads)
    assert proc.returncode == 0 and "ENVSHIM_STATE" in proc.stdout, proc.stderr
    assert "internal error" not in proc.stderr and "no longer exists" not in proc.stderr


# --- bad command lines ------------------------------------------------------------------


def test_run_with_an_empty_command_word(tmp_path, clean_env):
    before = snapshot(tmp_path)
    line = one_line_failure(run_envshim("run", "--", "", env=clean_env, cwd=tmp_path), 2)
    assert line == "envshim: the command is an empty word; envshim run -- CMD ARGS"
    assert snapshot(tmp_path) == before


def test_key_new_where_no_directory_can_be_made(tmp_path, clean_env, home):
    before = snapshot(tmp_path)
    line = one_line_failure(run_envshim("key", "new", "--file", "/proc/nope/k.txt", env=clean_env))
    assert line == (
        "envshim: /proc/nope/k.txt: cannot create the key file (No such file or directory); "
        "choose a --file in a directory you can write to"
    )
    assert snapshot(tmp_path) == before


def test_key_new_over_a_file_that_is_not_an_identity(tmp_path, clean_env, home):
    passwd = Path("/etc/passwd").read_bytes()
    line = one_line_failure(run_envshim("key", "new", "--file", "/etc/passwd", env=clean_env))
    assert line == (
        "envshim: /etc/passwd: a file that is not an age identity file is already here; "
        "not overwriting it; choose another path with --file"
    )
    assert Path("/etc/passwd").read_bytes() == passwd
    mine = home / "k.txt"
    age_keygen(mine)
    before = snapshot(home)
    line = one_line_failure(run_envshim("key", "new", "--file", str(mine), env=clean_env))
    assert "an identity file already exists here" in line
    assert snapshot(home) == before


@pytest.mark.parametrize(
    ("command", "verbs"),
    [
        ("secrets", "list, get, set, rm, edit, encrypt"),
        ("key", "new, show"),
        ("user", "init, set, get, list, rm, clear, edit, info, import, link"),
    ],
)
def test_a_command_without_its_verb_lists_the_verbs(tmp_path, clean_env, command, verbs):
    proc = run_envshim(command, env=clean_env, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"envshim {command}: missing ")
    assert f": one of {verbs} (`envshim {command} --help` says what each does)" in line


def test_explain_an_empty_name_is_a_usage_error(tmp_path, clean_env):
    (tmp_path / "mise.toml").write_text('[env]\nA = "1"\n')
    line = one_line_failure(run_envshim("explain", "", env=clean_env, cwd=tmp_path), 2)
    assert line == "envshim: name the variable to explain; envshim explain NAME"


def test_a_dotenv_parse_error_in_init_is_one_line_naming_the_file(tmp_path, clean_env, home):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "bad.env").write_text(f'GOOD=1\nBAD="{SECRET}\n')
    before = snapshot(repo, home)
    line = one_line_failure(
        run_envshim("init", "--from-dotenv", "bad.env", env=clean_env, cwd=repo)
    )
    assert line.startswith(f"envshim: {repo / 'bad.env'}:2: ") and SECRET not in line
    assert snapshot(repo, home) == before


def test_explain_outside_any_project_names_init(tmp_path, clean_env):
    proc = run_envshim("explain", "X", env=clean_env, cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout == (
        f"X: not set by envshim in {tmp_path} (no envshim or mise config here or above; "
        "`envshim init` sets one up)\n"
    )


def test_secrets_edit_help_describes_its_file_once(clean_env):
    out = run_envshim("secrets", "edit", "--help", env=clean_env).stdout
    assert out.count("FILE") == 2  # the usage line and its one description
    assert "the secret file to edit" in out and "--file" not in out
    assert "usage: envshim secrets edit [-h] [FILE]" in out


# --- missing keys: one rule, and what opens is shown ------------------------------------


def home_env(base: dict[str, str], home: Path) -> dict[str, str]:
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return dict(
        base,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
    )


@pytest.fixture
def team(tmp_path: Path, clean_env: dict[str, str]) -> dict[str, object]:
    """A project made by a maintainer (a committed default and a sops secret), and a
    newcomer with a home of their own and no key."""
    need("sops")
    maint = home_env(clean_env, tmp_path / "maint")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "mise.toml").write_text('[env]\nAPP_ENV = "staging"\nAPI_URL = "https://api.test"\n')
    (repo / "v.env").write_text(f"DB_PASSWORD={SECRET}\n")
    made = run_envshim("init", "--from-dotenv", "v.env", env=maint, cwd=repo)
    assert made.returncode == 0, made.stderr
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "envshim")
    return {"repo": repo, "maint": maint, "newbie": home_env(clean_env, tmp_path / "newbie")}


def maintainer_key(team: dict[str, object]) -> str:
    home = Path(team["maint"]["HOME"])  # type: ignore[index]
    text = (home / ".config" / "sops" / "age" / "keys.txt").read_text()
    return next(ln.split(": ")[1] for ln in text.splitlines() if "public key" in ln)


def test_without_any_key_everything_says_join(team):
    repo, env = team["repo"], team["newbie"]
    before = snapshot(repo, Path(env["HOME"]))
    recipient = maintainer_key(team)
    for argv in (["export", "bash"], ["run", "--", "true"], ["secrets", "list"]):
        line = one_line_failure(run_envshim(*argv, env=env, cwd=repo))
        assert "`envshim join`" in line and "key show" not in line, argv
        assert recipient in line and SECRET not in line
    # explain: the committed default as written, the secret named with its file and step
    shown = run_envshim("explain", "APP_ENV", env=env, cwd=repo)
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[0] == "APP_ENV = staging"
    locked = run_envshim("explain", "DB_PASSWORD", env=env, cwd=repo)
    assert locked.returncode == 1 and locked.stdout == (
        f"DB_PASSWORD: set by secrets.enc.env:1 (recipients: {recipient}), which you "
        "cannot decrypt; run `envshim join` and send the line it prints to a maintainer\n"
    )
    # status: the names of the locked file (sops keeps them in plaintext), the step
    status = run_envshim("status", env=env, cwd=repo)
    assert "Traceback" not in status.stderr and SECRET not in status.stdout
    assert "  APP_ENV  staging" in status.stdout
    assert "  DB_PASSWORD  (cannot decrypt)" in status.stdout
    warning = (
        f"warning  cannot decrypt secrets.enc.env (recipients: {recipient}); run `envshim join`"
    )
    assert warning in status.stdout
    assert "key show" not in status.stdout + status.stderr
    assert snapshot(repo, Path(env["HOME"])) == before


def test_own_values_explain_while_the_team_file_does_not_open(team):
    repo, env = team["repo"], team["newbie"]
    assert run_envshim("join", env=env, cwd=repo).returncode == 0  # a key, not a recipient yet
    assert run_envshim("user", "init", env=env, cwd=repo).returncode == 0
    assert run_envshim("user", "set", "MY_TOKEN", env=env, cwd=repo, input=MINE).returncode == 0
    mine = run_envshim("explain", "MY_TOKEN", env=env, cwd=repo)
    assert mine.returncode == 0, mine.stdout + mine.stderr
    lines = mine.stdout.splitlines()
    assert lines[0] == f"MY_TOKEN = •••• ({len(MINE)} chars) (secret)"
    assert lines[1].startswith("  from     user ")
    revealed = run_envshim("explain", "MY_TOKEN", "--reveal", env=env, cwd=repo)
    assert revealed.stdout.startswith(f"MY_TOKEN = {MINE} (secret)\n")


def test_status_after_adding_a_recipient_does_not_warn_the_one_who_added_it(team, tmp_path):
    repo, env = team["repo"], team["maint"]
    assert run_envshim("allow", env=env, cwd=repo).returncode == 0
    newcomer = age_keygen(tmp_path / "new.txt")
    added = run_envshim("recipients", "add", newcomer, env=env, cwd=repo)
    assert added.returncode == 0, added.stderr
    status = run_envshim("status", env=env, cwd=repo)
    assert "trust    allowed" in status.stdout, status.stdout
    assert "warning" not in status.stdout and newcomer not in status.stdout


def test_doctor_names_the_chmod_when_the_key_file_is_open_to_others(team):
    repo, env = team["repo"], team["maint"]
    key = Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt"
    key.chmod(0o644)
    out = run_envshim("doctor", "--json", "--shell", "bash", env=env, cwd=repo)
    by = {c["check"]: c for c in json.loads(out.stdout)["checks"]}
    for check in ("identity", "recipients", "decrypt"):
        assert by[check]["status"] == "fail"
        assert by[check]["next"] == f"run `chmod 600 {key}`", (check, by[check])
        assert "no identity" not in by[check]["message"]


# --- values: committed defaults shown, secrets masked -----------------------------------


def test_explain_and_status_mask_secrets_and_show_committed_defaults(team):
    repo, env = team["repo"], team["maint"]
    (repo / "mise.toml").write_text(
        '[env]\nAPP_ENV = "staging"\n_.envshim = {}\n'
        'DSN = "postgres://app:{{env.DB_PASSWORD}}@db/app"\n'
    )
    for key, shown in (
        ("APP_ENV", "APP_ENV = staging"),
        ("DB_PASSWORD", f"DB_PASSWORD = •••• ({len(SECRET)} chars) (secret)"),
        ("DSN", "DSN = •••• ("),  # built from a secret: a secret too
    ):
        out = run_envshim("explain", key, env=env, cwd=repo)
        assert out.returncode == 0 and out.stdout.startswith(shown), out.stdout + out.stderr
        assert SECRET not in out.stdout
    status = run_envshim("status", env=env, cwd=repo).stdout
    assert "  APP_ENV  staging" in status and SECRET not in status


# --- user init: written once, and never makes you re-trust your own project -----------------


def test_user_init_keeps_the_project_allowed_and_teammates_reuse_the_id(tmp_path, clean_env):
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "mise.toml").write_text('[env]\nAPP_ENV = "local"\n')
    (seed / "envshim.toml").write_text("# options\n")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "start")
    git(tmp_path, "clone", "-q", "--bare", str(seed), "origin.git")
    origin = tmp_path / "origin.git"
    homes, clones = {}, {}
    for who in ("ann", "bob"):
        homes[who] = home_env(clean_env, tmp_path / who)
        git(tmp_path, "clone", "-q", str(origin), who + "-clone")
        clones[who] = tmp_path / (who + "-clone")
        assert run_envshim("join", env=homes[who], cwd=clones[who]).returncode == 0
        assert run_envshim("allow", env=homes[who], cwd=clones[who]).returncode == 0
    # both run `user init` before either pushes: the same line, so git merges it cleanly
    for who in ("ann", "bob"):
        made = run_envshim("user", "init", env=homes[who], cwd=clones[who])
        assert made.returncode == 0, made.stderr
        status = run_envshim("status", env=homes[who], cwd=clones[who]).stdout
        assert "trust    allowed" in status, status  # their own change: still allowed
        put = run_envshim("user", "set", "MINE", env=homes[who], cwd=clones[who], input=who)
        assert put.returncode == 0, put.stderr
    lines = {who: (clones[who] / "envshim.toml").read_text() for who in clones}
    assert lines["ann"] == lines["bob"] and "user_store = " in lines["ann"]
    for who in ("ann", "bob"):
        git(clones[who], "commit", "-q", "-am", f"{who}: user store")
    git(clones["ann"], "push", "-q", "origin", "main")
    git(clones["bob"], "pull", "-q", "--no-rebase", "origin", "main")  # no conflict
    git(clones["bob"], "push", "-q", "origin", "main")
    # a third teammate finds the committed id and writes nothing to the repository
    carl = home_env(clean_env, tmp_path / "carl")
    git(tmp_path, "clone", "-q", str(origin), "carl-clone")
    repo = tmp_path / "carl-clone"
    assert run_envshim("join", env=carl, cwd=repo).returncode == 0
    before = snapshot(repo)
    made = run_envshim("user", "init", env=carl, cwd=repo)
    assert made.returncode == 0 and "linked by" in made.stdout, made.stderr
    assert snapshot(repo) == before
    # the hook (which loads only what `allow` recorded) still loads the value she set
    export = subprocess.run(
        [need("bash"), "-c", 'eval "$(envshim export bash --hook)"; printf %s "$MINE"'],
        cwd=clones["ann"],
        env=homes["ann"],
        capture_output=True,
        text=True,
    )
    assert export.stdout == "ann", export.stderr


def test_an_editor_killed_by_a_signal_is_named_and_changes_nothing(tmp_path, clean_env, home):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    assert run_envshim("join", env=clean_env, cwd=repo).returncode == 0
    assert run_envshim("user", "init", env=clean_env, cwd=repo).returncode == 0
    assert run_envshim("user", "set", "K", env=clean_env, cwd=repo, input=MINE).returncode == 0
    before = snapshot(repo, home)
    killed = dict(clean_env, EDITOR=f"{need('sh')} -c 'kill -TERM $$'")
    line = one_line_failure(run_envshim("user", "edit", env=killed, cwd=repo))
    assert line == "envshim: the editor was killed by SIGTERM; nothing was changed"
    failed = dict(clean_env, EDITOR=f"{need('sh')} -c 'exit 3'")
    line = one_line_failure(run_envshim("user", "edit", env=failed, cwd=repo))
    assert line == "envshim: the editor exited with 3; nothing was changed"
    assert snapshot(repo, home) == before
