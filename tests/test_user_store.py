"""The user store through the real CLI: init, set/get/list/rm/clear/info, links, bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envshim.names import problem
from test_user_support import (
    age_decrypt,
    envshim,
    files_containing,
    make_key,
    snapshot,
    store_dirs,
    user_env,
)

CANARY = "canary-7f3a9 value with 'quotes' and $dollar"


@pytest.fixture
def env(clean_env: dict[str, str], home: Path, tmp_path: Path) -> dict[str, str]:
    make_key(home)
    return user_env(clean_env, tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "my project"
    p.mkdir()
    return p


def _init(env: dict[str, str], project: Path) -> Path:
    proc = envshim("user", "init", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    [store] = store_dirs(Path(env["HOME"]))
    return store


def test_data_dir_is_platformdirs(clean_env: dict[str, str], home: Path) -> None:
    import platformdirs

    from envshim.paths import data_dir

    assert data_dir(os.environ) == Path(platformdirs.user_data_dir("envshim"))
    os.environ.pop("XDG_DATA_HOME")
    assert data_dir(os.environ) == Path(platformdirs.user_data_dir("envshim"))
    assert data_dir(os.environ) == home / ".local" / "share" / "envshim"
    os.environ["XDG_DATA_HOME"] = "relative/dir"  # platformdirs ignores a relative XDG dir
    assert data_dir(os.environ) == Path(platformdirs.user_data_dir("envshim"))


def test_init_set_get_and_the_real_age_decrypts(
    env: dict[str, str], home: Path, project: Path
) -> None:
    (project / "envshim.toml").write_text("# team options\nrequired = []  # none yet\n")
    store = _init(env, project)
    text = (project / "envshim.toml").read_text()
    assert text.startswith("# team options\nrequired = []  # none yet\n")  # layout kept
    assert f'user_store = "{store.name}"' in text

    proc = envshim("user", "set", "API_KEY", env=env, cwd=project, input=CANARY + "\n")
    assert proc.returncode == 0, proc.stderr
    assert CANARY not in proc.stderr + proc.stdout
    proc = envshim("user", "get", "API_KEY", env=env, cwd=project)
    assert proc.returncode == 0 and proc.stdout == CANARY + "\n"

    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    for f in store.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    keyfile = home / ".config/sops/age/keys.txt"
    assert age_decrypt(store / "values.age", keyfile) == {"API_KEY": CANARY}
    meta = json.loads((store / "meta.json").read_text())
    assert meta["projects"][0]["path"] == os.path.realpath(project)
    assert meta["encryption"] == "age"
    assert files_containing(CANARY, home, project, Path(env["TMPDIR"])) == []


def test_list_info_rm_clear(env: dict[str, str], project: Path) -> None:
    _init(env, project)
    for key, value in (("B_KEY", "bee"), ("A_KEY", CANARY)):
        assert envshim("user", "set", key, "-", env=env, cwd=project, input=value).returncode == 0
    proc = envshim("user", "list", env=env, cwd=project)
    assert proc.stdout.splitlines()[0].startswith("A_KEY")
    assert CANARY not in proc.stdout and "bee" not in proc.stdout
    assert json.loads(envshim("user", "list", "--json", env=env, cwd=project).stdout) == [
        "A_KEY",
        "B_KEY",
    ]
    revealed = envshim("user", "list", "--json", "--reveal", env=env, cwd=project).stdout
    assert json.loads(revealed) == {"A_KEY": CANARY, "B_KEY": "bee"}
    info = envshim("user", "info", env=env, cwd=project)
    assert "values      2" in info.stdout and CANARY not in info.stdout

    assert envshim("user", "rm", "B_KEY", env=env, cwd=project).returncode == 0
    assert envshim("user", "rm", "B_KEY", env=env, cwd=project).returncode == 1
    assert envshim("user", "get", "B_KEY", env=env, cwd=project).returncode == 1
    assert envshim("user", "clear", env=env, cwd=project).returncode == 0
    assert json.loads(envshim("user", "list", "--json", env=env, cwd=project).stdout) == []


def test_user_layer_in_export_with_provenance(env: dict[str, str], project: Path) -> None:
    _init(env, project)
    envshim(
        "user", "set", "DATABASE_URL", env=env, cwd=project, input="postgres://me@localhost/dev"
    )
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["DATABASE_URL"] == "postgres://me@localhost/dev"
    explain = envshim("explain", "DATABASE_URL", env=env, cwd=project)
    store_id = store_dirs(Path(env["HOME"]))[0].name
    assert f"user store {store_id}" in explain.stdout
    assert "postgres://" not in explain.stdout


def test_user_value_overrides_a_mise_default(env: dict[str, str], project: Path) -> None:
    (project / "mise.toml").write_text('[env]\nAPI_URL = "https://api.staging.example.com"\n')
    _init(env, project)
    envshim("user", "set", "API_URL", env=env, cwd=project, input="http://localhost:8080")
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["API_URL"] == "http://localhost:8080"
    explain = envshim("explain", "API_URL", env=env, cwd=project).stdout
    assert "from     user" in explain and "shadows  mise" in explain and "mise.toml:2" in explain

    from envshim.resolve import resolve

    var = resolve(project, environ=env).vars["API_URL"]
    assert (var.value, var.origin.layer, var.secret) == ("http://localhost:8080", "user", True)
    assert [o.layer for o in var.shadowed] == ["mise"]


def test_link_in_the_mise_table_and_a_derived_value(env: dict[str, str], project: Path) -> None:
    """user_store in `_.envshim`; an entry after the directive sees the user value."""
    (project / "mise.toml").write_text(
        '[env]\nDB_USER = "app"\n_.envshim = {}\n'
        'DATABASE_URL = "postgres://{{env.DB_USER}}@db/app"\n'
    )
    _init(env, project)
    assert "user_store" in (project / "mise.toml").read_text()
    envshim("user", "set", "DB_USER", env=env, cwd=project, input="me")
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["DB_USER"], out["DATABASE_URL"]) == ("me", "postgres://me@db/app")


def test_read_verbs_create_nothing(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path
) -> None:
    cache = home / ".cache" / "envshim"

    def snapshot_of(taken: dict, ignore: Path) -> dict:
        return {k: v for k, v in taken.items() if not k.startswith(str(ignore))}

    def check_untouched() -> None:
        before = snapshot(tmp_path)
        for args in (
            ("user", "get", "X"),
            ("user", "list"),
            ("user", "list", "--json"),
            ("user", "info"),
        ):
            proc = envshim(*args, env=env, cwd=project)
            assert proc.returncode in (0, 1), (args, proc.stderr)
        assert snapshot(tmp_path) == before
        # export may keep a parsed copy of the committed config in the cache dir, nothing else
        proc = envshim("export", "--format", "json", env=env, cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert snapshot(tmp_path, ignore=cache) == snapshot_of(before, cache)

    check_untouched()  # no link at all
    (project / "envshim.toml").write_text('user_store = "0b7c6e1e-2f43-4c0f-9a55-3c2d5c7e9a10"\n')
    check_untouched()  # linked, store never made on this machine
    assert store_dirs(home) == []


def test_set_without_link_says_init(env: dict[str, str], project: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    proc = envshim("user", "set", "K", env=env, cwd=project, input="v")
    assert proc.returncode != 0 and "envshim user init" in proc.stderr
    assert snapshot(tmp_path) == before


def test_set_creates_the_store_for_a_committed_id(
    env: dict[str, str], home: Path, project: Path
) -> None:
    """A teammate's clone: the id is committed, this machine has no store yet."""
    (project / "envshim.toml").write_text('user_store = "0b7c6e1e-2f43-4c0f-9a55-3c2d5c7e9a10"\n')
    assert envshim("user", "set", "K", env=env, cwd=project, input="v").returncode == 0
    assert [d.name for d in store_dirs(home)] == ["0b7c6e1e-2f43-4c0f-9a55-3c2d5c7e9a10"]
    assert envshim("user", "get", "K", env=env, cwd=project).stdout == "v\n"


def test_another_directory_with_the_same_id_is_not_loaded_until_linked(
    env: dict[str, str], project: Path, tmp_path: Path
) -> None:
    _init(env, project)
    envshim("user", "set", "MINE", env=env, cwd=project, input=CANARY)
    other = tmp_path / "copied"
    other.mkdir()
    (other / "envshim.toml").write_text((project / "envshim.toml").read_text())

    proc = envshim("export", "--format", "json", env=env, cwd=other)
    assert proc.returncode == 0
    assert "MINE" not in json.loads(proc.stdout)
    assert "belongs to" in proc.stderr and "envshim user link" in proc.stderr
    assert CANARY not in proc.stderr
    get = envshim("user", "get", "MINE", env=env, cwd=other)
    assert get.returncode != 0 and get.stdout == "" and "envshim user link" in get.stderr
    assert envshim("user", "set", "X", env=env, cwd=other, input="y").returncode != 0

    assert envshim("user", "link", env=env, cwd=other).returncode == 0
    proc = envshim("export", "--format", "json", env=env, cwd=other)
    assert json.loads(proc.stdout)["MINE"] == CANARY
    info = envshim("user", "info", env=env, cwd=other).stdout
    assert os.path.realpath(project) in info and os.path.realpath(other) in info


def test_init_new_gives_a_copy_its_own_store(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path
) -> None:
    _init(env, project)
    other = tmp_path / "copied"
    other.mkdir()
    (other / "envshim.toml").write_text((project / "envshim.toml").read_text())
    assert envshim("user", "init", env=env, cwd=other).returncode != 0
    assert envshim("user", "init", "--new", env=env, cwd=other).returncode == 0
    assert len(store_dirs(home)) == 2
    assert (other / "envshim.toml").read_text() != (project / "envshim.toml").read_text()


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "x\x00y", "..", "/etc"])
def test_bad_ids_are_refused(
    env: dict[str, str], home: Path, project: Path, tmp_path: Path, bad: str
) -> None:
    (project / "envshim.toml").write_text(f"user_store = {json.dumps(bad)}\n")
    cache = home / ".cache" / "envshim"  # export may keep a parsed copy of envshim.toml
    before = snapshot(tmp_path, ignore=cache)
    for args in (("export", "--format", "json"), ("user", "set", "K"), ("user", "get", "K")):
        proc = envshim(*args, env=env, cwd=project, input="v")
        assert proc.returncode != 0, args
        assert proc.stdout == ""
        assert "envshim.toml" in proc.stderr and "not usable as a directory name" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(tmp_path, ignore=cache) == before


def test_bad_id_in_dotenv_and_link_argument(env: dict[str, str], project: Path) -> None:
    (project / ".env").write_text("OTHER=1\nENV_SECRETS_ID=../../etc\n")
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode != 0 and ".env:2:" in proc.stderr
    (project / ".env").unlink()
    (project / "envshim.toml").write_text("")
    proc = envshim("user", "link", "../x", env=env, cwd=project)
    assert proc.returncode != 0 and "not usable" in proc.stderr


def test_loose_permissions_are_refused_with_the_fix(env: dict[str, str], project: Path) -> None:
    store = _init(env, project)
    envshim("user", "set", "K", env=env, cwd=project, input=CANARY)
    os.chmod(store, 0o755)
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "chmod 700" in proc.stderr and CANARY not in proc.stderr
    os.chmod(store, 0o700)
    os.chmod(store / "values.age", 0o644)
    proc = envshim("user", "get", "K", env=env, cwd=project)
    assert proc.returncode != 0 and "chmod 600" in proc.stderr


def test_damaged_store_fails_and_nothing_is_overwritten(env: dict[str, str], project: Path) -> None:
    store = _init(env, project)
    envshim("user", "set", "K", env=env, cwd=project, input=CANARY)
    values = store / "values.age"
    damaged = values.read_bytes()[:-20]
    values.write_bytes(damaged)
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode != 0 and proc.stdout == "" and "damaged" in proc.stderr
    proc = envshim("user", "set", "OTHER", env=env, cwd=project, input="x")
    assert proc.returncode != 0 and "damaged" in proc.stderr
    assert values.read_bytes() == damaged  # nothing lost or half-written on top of it

    (store / "meta.json").write_text("{not json")
    proc = envshim("user", "get", "K", env=env, cwd=project)
    assert proc.returncode != 0 and "meta.json" in proc.stderr


def test_store_of_a_lost_key(env: dict[str, str], home: Path, project: Path) -> None:
    _init(env, project)
    (project / "mise.toml").write_text('[env]\nPLAIN = "1"\n')
    envshim("user", "set", "K", env=env, cwd=project, input=CANARY)
    keyfile = home / ".config/sops/age/keys.txt"
    keyfile.unlink()
    make_key(home)  # a different key now
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "none of your identities" in proc.stderr and CANARY not in proc.stderr
    proc = envshim("export", "--format", "json", "--missing-key", "warn", env=env, cwd=project)
    assert proc.returncode == 0 and "K" not in json.loads(proc.stdout)
    assert "user layer skipped" in proc.stderr
    # clear starts over with the current key
    assert envshim("user", "clear", env=env, cwd=project).returncode == 0
    assert envshim("user", "set", "K", env=env, cwd=project, input="new").returncode == 0
    assert envshim("user", "get", "K", env=env, cwd=project).stdout == "new\n"


def test_no_identity_and_plaintext_store(
    clean_env: dict[str, str], tmp_path: Path, project: Path
) -> None:
    env = user_env(clean_env, tmp_path)
    before = snapshot(tmp_path)
    proc = envshim("user", "init", env=env, cwd=project)
    assert proc.returncode != 0 and "envshim join" in proc.stderr
    assert snapshot(tmp_path) == before  # nothing half-made
    proc = envshim("user", "init", "--plaintext", env=env, cwd=project)
    assert proc.returncode == 0 and "PLAINTEXT" in proc.stderr
    envshim("user", "set", "K", env=env, cwd=project, input="plain value")
    [store] = store_dirs(Path(env["HOME"]))
    plain = store / "values.PLAINTEXT.json"
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    doc = json.loads(plain.read_text())
    assert "NOT encrypted" in doc["_"] and doc["values"] == {"K": "plain value"}
    assert "PLAINTEXT" in envshim("user", "info", env=env, cwd=project).stdout
    proc = envshim("export", "--format", "json", env=env, cwd=project)
    assert json.loads(proc.stdout)["K"] == "plain value"


def test_link_in_mise_envshim_table_keeps_layout(env: dict[str, str], project: Path) -> None:
    mise = project / "mise.toml"
    mise.write_text('# defaults\n[env]\nA = "1"  # first\n_.envshim = {}   # enter here\nB = "2"\n')
    store = _init(env, project)
    assert not (project / "envshim.toml").exists()
    assert mise.read_text() == (
        '# defaults\n[env]\nA = "1"  # first\n'
        f'_.envshim = {{user_store = "{store.name}"}}   # enter here\nB = "2"\n'
    )
    envshim("user", "set", "K", env=env, cwd=project, input="v")
    assert envshim("user", "get", "K", env=env, cwd=project).stdout == "v\n"


def test_user_layer_reads_the_mise_table_option(env: dict[str, str], project: Path) -> None:
    from envshim.layers.base import LayerContext
    from envshim.layers.user import load_user

    mise = project / "mise.toml"
    mise.write_text("[env]\n_.envshim = {}\n")
    store = _init(env, project)
    envshim("user", "set", "K", env=env, cwd=project, input="v")
    ctx = LayerContext(
        cwd=project, root=project, profiles=[], environ=env, options={"user_store": store.name}
    )  # as the mise layer hands it on
    [entry] = load_user(ctx)
    assert (entry.key, entry.value, entry.secret) == ("K", "v", True)
    assert entry.origin.detail == f"user store {store.name}"
    assert store in ctx.watch


def test_set_refuses_bad_names_and_values(env: dict[str, str], project: Path) -> None:
    _init(env, project)
    assert envshim("user", "set", "1BAD", env=env, cwd=project, input="v").returncode == 2
    proc = envshim("user", "set", "OK", env=env, cwd=project, input="a\x00b")
    assert proc.returncode != 0 and "NUL" in proc.stderr
    assert envshim("user", "get", "OK", env=env, cwd=project).returncode == 1


def test_git_remote_recorded_without_credentials(env: dict[str, str], project: Path) -> None:
    from conftest import need

    git = need("git")
    subprocess.run([git, "init", "-q", str(project)], check=True, env=env)
    subprocess.run(
        [
            git,
            "-C",
            str(project),
            "remote",
            "add",
            "origin",
            "https://bob:tok3n@example.com/team/app.git",
        ],
        check=True,
        env=env,
    )
    store = _init(env, project)
    meta = json.loads((store / "meta.json").read_text())
    assert meta["projects"][0]["git_remote"] == "https://example.com/team/app.git"


def test_set_prompts_without_echo_on_a_terminal(env: dict[str, str], project: Path) -> None:
    """No value argument and a terminal on stdin: a no-echo prompt, asked twice."""
    import pty
    import select
    import sys
    import time

    _init(env, project)
    pid, fd = pty.fork()
    if pid == 0:  # the child: envshim with the pty as its controlling terminal
        os.chdir(project)
        os.execve(sys.executable, [sys.executable, "-m", "envshim", "user", "set", "TYPED"], env)
    seen = b""

    def read_until(marker: bytes, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 1024)
                except OSError:
                    break
        assert marker in seen, seen

    read_until(b"(not shown): ")
    os.write(fd, CANARY.encode() + b"\n")
    read_until(b"confirm TYPED: ")
    os.write(fd, CANARY.encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                break
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert CANARY.encode() not in seen  # never echoed
    assert envshim("user", "get", "TYPED", env=env, cwd=project).stdout == CANARY + "\n"


_values = st.dictionaries(
    # names envshim writes: every shell's, none reserved (envshim.names)
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
        lambda name: problem(name) is None
    ),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40),
    max_size=6,
)


def test_store_round_trips_any_value(clean_env: dict[str, str], home: Path, tmp_path: Path) -> None:
    """Any text without NUL comes back exactly, through the real encryption and the real age."""
    from envshim.userstore import Store

    keyfile = make_key(home)
    project = tmp_path / "p"
    project.mkdir()
    store = Store("roundtrip", os.environ)
    assert store.create(project)

    @settings(max_examples=40, deadline=None)
    @given(_values)
    def check(values: dict[str, str]) -> None:
        store.update(lambda current: (current.clear(), current.update(values)), root=project)
        assert Store("roundtrip", os.environ).read() == values

    check()
    last = Store("roundtrip", os.environ).read()
    assert age_decrypt(store.age_path, keyfile) == last


def test_set_notes_that_an_older_tool_store_stops_loading(
    env: dict[str, str], home: Path, project: Path
) -> None:
    store_id = "9a1d7c55-0c4e-4f8a-b0a3-2e6f1d9b7c11"
    (project / ".env").write_text(f"ENV_SECRETS_ID={store_id}\n")
    old = home / ".python" / "envsecrets" / store_id / ".secrets"
    old.parent.mkdir(parents=True)
    old.write_text("OLD=1\n")
    proc = envshim("user", "set", "NEW", env=env, cwd=project, input="2")
    assert proc.returncode == 0 and "no longer loaded" in proc.stderr
    assert "envshim user import" in proc.stderr


def test_link_with_an_id_shares_a_store(env: dict[str, str], project: Path, tmp_path: Path) -> None:
    store = _init(env, project)
    envshim("user", "set", "SHARED", env=env, cwd=project, input="s")
    other = tmp_path / "other"
    other.mkdir()
    before = snapshot(tmp_path)
    proc = envshim("user", "link", store.name, env=env, cwd=other)
    assert proc.returncode != 0 and "envshim user init" in proc.stderr  # no envshim.toml to hold it
    assert snapshot(tmp_path) == before
    (other / "envshim.toml").write_text("# mine\nrequired = []\n")
    proc = envshim("user", "link", store.name, env=env, cwd=other)
    assert proc.returncode == 0, proc.stderr
    assert (other / "envshim.toml").read_text() == (
        f'# mine\nrequired = []\nuser_store = "{store.name}"\n'
    )
    assert envshim("user", "get", "SHARED", env=env, cwd=other).stdout == "s\n"
    proc = envshim("user", "link", "no-such-store", env=env, cwd=other)
    assert proc.returncode != 0 and "no user store no-such-store" in proc.stderr
