"""`envshim user edit`: a real editor process on a private tmpfs copy, removed on every exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_user_support import envshim, files_containing, make_key, store_dirs, user_env

CANARY_OLD = "old-canary-51e0 'q' $x"
CANARY_NEW = 'new-canary-9c2d "dq" `bt`'

# The editor: records what it saw (path, modes, argv; never the values) and edits the file.
EDITOR = r"""
import json, os, signal, stat, sys, time
path = sys.argv[-1]
st_dir, st_file = os.stat(os.path.dirname(path)), os.stat(path)
log = {"path": path, "argv": sys.argv, "dir_mode": stat.S_IMODE(st_dir.st_mode),
       "file_mode": stat.S_IMODE(st_file.st_mode)}
text = open(path, encoding="utf-8").read()
log["had_old"] = os.environ["OLD_VALUE"] in text
with open(os.environ["EDIT_LOG"], "w") as fh:
    json.dump(log, fh)
mode = os.environ.get("EDIT_MODE", "edit")
if mode == "sigint":  # Ctrl-C at the terminal: the whole foreground group gets SIGINT
    os.killpg(os.getpgrp(), signal.SIGINT)
    time.sleep(5)
if mode == "sigterm":
    os.kill(os.getppid(), signal.SIGTERM)
    time.sleep(5)
if mode == "fail":
    sys.exit(3)
lines = [ln for ln in text.splitlines() if not ln.startswith(("REMOVE_ME=", "CHANGE_ME="))]
lines.append("CHANGE_ME=" + json.dumps(os.environ["NEW_VALUE"]))
lines.append("ADDED='plain added'")
open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
"""


@pytest.fixture
def setup(clean_env: dict[str, str], home: Path, tmp_path: Path):
    make_key(home)
    env = user_env(clean_env, tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    assert envshim("user", "init", env=env, cwd=project).returncode == 0
    for key, value in (("KEEP", "kept"), ("REMOVE_ME", "gone"), ("CHANGE_ME", CANARY_OLD)):
        assert envshim("user", "set", key, env=env, cwd=project, input=value).returncode == 0
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    log = tmp_path / "edit-log.json"
    env.update(
        EDITOR=f"{sys.executable} {editor}",
        EDIT_LOG=str(log),
        OLD_VALUE=CANARY_OLD,
        NEW_VALUE=CANARY_NEW,
    )
    return env, project, log


def _values(env: dict[str, str], project: Path) -> dict[str, str]:
    return json.loads(envshim("user", "list", "--json", "--reveal", env=env, cwd=project).stdout)


def test_edit_applies_changes_and_leaves_no_plaintext(setup, home: Path, tmp_path: Path) -> None:
    env, project, log = setup
    proc = envshim("user", "edit", env=env, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert _values(env, project) == {
        "KEEP": "kept",
        "CHANGE_ME": CANARY_NEW,
        "ADDED": "plain added",
    }

    seen = json.loads(log.read_text())
    assert seen["had_old"]  # the editor got the decrypted values
    assert seen["path"].startswith(env["XDG_RUNTIME_DIR"] + os.sep)  # on the runtime dir (tmpfs)
    assert (seen["dir_mode"], seen["file_mode"]) == (0o700, 0o600)
    assert not Path(seen["path"]).parent.exists()  # removed afterwards
    assert all(CANARY_OLD not in a and CANARY_NEW not in a for a in seen["argv"])
    for canary in (CANARY_OLD, CANARY_NEW):
        assert canary not in proc.stderr + proc.stdout
        assert files_containing(canary, tmp_path) == []


def test_edit_uses_dev_shm_without_a_runtime_dir(setup) -> None:
    env, project, log = setup
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm on this system")
    env = {k: v for k, v in env.items() if k != "XDG_RUNTIME_DIR"}
    assert envshim("user", "edit", env=env, cwd=project).returncode == 0
    seen = json.loads(log.read_text())
    assert seen["path"].startswith("/dev/shm/")
    assert not Path(seen["path"]).parent.exists()
    assert files_containing(CANARY_NEW, Path("/dev/shm")) == []


@pytest.mark.parametrize("mode", ["sigint", "sigterm", "fail"])
def test_interrupted_edit_changes_nothing_and_cleans_up(setup, mode: str) -> None:
    env, project, log = setup
    [store] = store_dirs(Path(env["HOME"]))
    before = (store / "values.age").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "envshim", "user", "edit"],
        env=dict(env, EDIT_MODE=mode),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert proc.returncode != 0
    if mode == "sigterm":  # caught, cleaned up, then died of it as if uncaught
        assert proc.returncode == -signal.SIGTERM
        assert "stopped by SIGTERM" in proc.stderr
    seen = json.loads(log.read_text())
    assert not Path(seen["path"]).parent.exists()
    assert (store / "values.age").read_bytes() == before
    assert CANARY_OLD not in proc.stderr
    assert os.listdir(env["XDG_RUNTIME_DIR"]) == []


def test_concurrent_set_during_edit_is_kept(setup) -> None:
    """edit applies only the user's own changes, so a `set` made meanwhile survives."""
    env, project, _log = setup
    script = Path(env["EDITOR"].split()[1])
    script.write_text(
        "import subprocess, sys, os\n"
        f"subprocess.run([{sys.executable!r}, '-m', 'envshim', 'user', 'set', 'MEANWHILE'],"
        " input=b'x', check=True)\n" + EDITOR
    )
    assert envshim("user", "edit", env=env, cwd=project).returncode == 0
    values = _values(env, project)
    assert values["MEANWHILE"] == "x" and values["CHANGE_ME"] == CANARY_NEW


def test_edit_text_with_a_parse_error_changes_nothing(setup) -> None:
    env, project, _log = setup
    script = Path(env["EDITOR"].split()[1])
    script.write_text("import sys\nopen(sys.argv[-1], 'a').write('BROKEN=\"unterminated\\n')\n")
    before = _values(env, project)
    proc = envshim("user", "edit", env=env, cwd=project)
    assert proc.returncode != 0 and proc.stdout == ""
    assert _values(env, project) == before
    assert os.listdir(env["XDG_RUNTIME_DIR"]) == []


@settings(max_examples=150)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20
        ),
        max_size=4,
    )
)
def test_edit_text_round_trips(values: dict[str, str]) -> None:
    """What edit writes for the editor parses back to exactly the same values."""
    from envshim.commands.user import _edit_text
    from envshim.formats.dotenv import parse

    text = _edit_text("id", values)
    assert {b.key: b.value for b in parse(text, "edit")} == values
