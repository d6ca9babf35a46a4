"""`secrets edit` and `user edit` leave no plaintext behind, whatever signal ends them.

The editor is a real script that signals its parent envshim while the decrypted
copy is open; afterwards no file under the runtime dir, the temp dir or the test
tree holds a secret, and a SIGQUIT leaves no core file. SIGKILL cannot be
caught: the next edit finds the directory the dead process left and removes it.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need, run_envshim
from test_user_support import files_containing, make_key, user_env

CANARY = "canary-7f3e1d-plaintext"
ADDED = "canary-added-50b2"

# Every signal that ends a process by default and can be caught.
FATAL = [
    "TERM", "HUP", "QUIT", "USR1", "USR2", "ALRM", "VTALRM", "PROF", "XCPU", "IO", "PWR", "SYS", "TRAP", "ABRT", "STKFLT", "RTMIN", "RTMAX",
]  # fmt: skip
# Signals envshim ignores while the editor runs (Ctrl-C is the editor's) or Python ignores
# from the start (SIGPIPE, SIGXFSZ: a failed write is an error instead): the edit goes on.
IGNORED = ["INT", "PIPE", "XFSZ"]


def _signum(name: str) -> int:
    return int(getattr(signal, f"SIG{name}"))


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str], home: Path) -> dict:
    need("sops")
    env = user_env(clean_env, tmp_path)  # TMPDIR and XDG_RUNTIME_DIR inside tmp_path
    root = tmp_path / "proj"
    root.mkdir()
    public = run_envshim("key", "new", env=env, cwd=root, check=True).stdout.strip()
    run_envshim("recipients", "add", public, env=env, cwd=root, check=True)
    run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input=CANARY, check=True)
    return {"root": root, "env": env, "tmp": tmp_path}


def _editor(tmp: Path, body: str) -> Path:
    """A shell editor that records the buffer's path, adds a line, then runs ``body``."""
    path = tmp / "editor.sh"
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$1" > {tmp / "buffer-path"}\n'
        # the added value is put together at run time: the script itself must not hold it
        f"printf 'B=%s-%s\\n' {ADDED.rsplit('-', 1)[0]} {ADDED.rsplit('-', 1)[1]} >> \"$1\"\n"
        + body
    )
    path.chmod(0o755)
    return path


def _core_limit_unlimited() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _edit(project: dict, editor: Path, *what: str) -> subprocess.CompletedProcess[str]:
    """``envshim <what> edit`` in its own session (as a terminal's job), cores allowed."""
    return subprocess.run(
        [sys.executable, "-m", "envshim", *what, "edit"],
        env={**project["env"], "EDITOR": str(editor)},
        cwd=project["root"],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        preexec_fn=_core_limit_unlimited,
    )


def _plaintext_anywhere(project: dict) -> list[str]:
    places = [project["tmp"], Path("/dev/shm")]
    return [p for c in (CANARY, ADDED) for p in files_containing(c, *places)]


def _under(found: list[Path], root: Path) -> list[Path]:
    """The directories under ``root`` (/dev/shm may hold other runs' leftovers)."""
    return [p for p in found if p.is_relative_to(root)]


def _cores(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith("core")]


@pytest.mark.parametrize("name", FATAL)
def test_secrets_edit_killed_by_a_signal_leaves_nothing(project: dict, name: str) -> None:
    root = project["root"]
    before = (root / "secrets.enc.env").read_bytes()
    editor = _editor(project["tmp"], f"kill -{_signum(name)} $PPID\nexec sleep 10\n")
    r = _edit(project, editor, "secrets")
    assert r.returncode == -_signum(name), r.stderr  # it died of the signal, after cleaning up
    assert f"stopped by SIG{name}" in r.stderr
    buffer = Path((project["tmp"] / "buffer-path").read_text().strip())
    assert buffer.is_relative_to(project["env"]["XDG_RUNTIME_DIR"])
    assert not buffer.parent.exists()
    assert os.listdir(project["env"]["XDG_RUNTIME_DIR"]) == []
    assert _plaintext_anywhere(project) == []
    assert (root / "secrets.enc.env").read_bytes() == before  # nothing applied
    assert _cores(root) == []
    assert CANARY not in r.stderr + r.stdout


@pytest.mark.parametrize("name", IGNORED)
def test_secrets_edit_goes_on_after_an_ignored_signal(project: dict, name: str) -> None:
    """Ctrl-C belongs to the editor (as with git); SIGPIPE is ignored by Python: the edit
    goes on, is applied when the editor exits, and the copy is removed."""
    editor = _editor(project["tmp"], f"kill -{_signum(name)} $PPID\nsleep 0.3\n")
    r = _edit(project, editor, "secrets")
    assert r.returncode == 0, r.stderr
    assert run_envshim("secrets", "get", "B", env=project["env"], cwd=project["root"]).stdout == (
        ADDED + "\n"
    )
    assert os.listdir(project["env"]["XDG_RUNTIME_DIR"]) == []
    assert _plaintext_anywhere(project) == []


def test_sigquit_would_dump_core_here_but_envshim_does_not(project: dict) -> None:
    """The control shows this machine writes a core into the working directory on SIGQUIT
    (core_pattern "core"); envshim's edit under the same limit leaves none."""
    root = project["root"]
    control = root / "control"
    control.mkdir()
    subprocess.run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGQUIT)"],
        cwd=control,
        preexec_fn=_core_limit_unlimited,
        check=False,
    )
    if not _cores(control):
        pytest.skip("this machine writes no core file into the working directory")
    editor = _editor(project["tmp"], "kill -QUIT $PPID\nexec sleep 10\n")
    r = _edit(project, editor, "secrets")
    assert r.returncode == -signal.SIGQUIT
    assert _cores(root) == []
    assert _plaintext_anywhere(project) == []


def test_the_editor_sees_a_process_that_cannot_dump(project: dict) -> None:
    """While the plaintext is open, envshim's core limit is 0 (hard, so nothing it starts
    can raise it) and the editor inherits it."""
    out = project["tmp"] / "limits"
    editor = _editor(project["tmp"], f"cat /proc/$PPID/limits > {out}\nulimit -Hc >> {out}\n")
    r = _edit(project, editor, "secrets")
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    [core] = [line for line in text.splitlines() if line.startswith("Max core file size")]
    assert core.split()[4:6] == ["0", "0"]  # soft and hard limit of envshim
    assert text.splitlines()[-1] == "0"  # the editor's own hard limit


def test_forbid_core_dumps_marks_the_process_not_dumpable() -> None:
    code = (
        "import ctypes; from envshim.hardening import forbid_core_dumps; "
        "libc = ctypes.CDLL(None); before = libc.prctl(3, 0, 0, 0, 0); forbid_core_dumps(); "
        "import resource; print(before, libc.prctl(3, 0, 0, 0, 0), "
        "resource.getrlimit(resource.RLIMIT_CORE))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(None, 2) == ["1", "0", "(0, 0)\n"]


def test_sigkill_leaves_a_directory_the_next_edit_removes(project: dict) -> None:
    from envshim.editing import stale_edit_dirs

    root, env = project["root"], project["env"]
    editor = _editor(project["tmp"], "kill -KILL $PPID\n")
    r = _edit(project, editor, "secrets")
    assert r.returncode == -signal.SIGKILL
    left = Path((project["tmp"] / "buffer-path").read_text().strip())
    assert left.exists()  # SIGKILL cannot be caught: the plaintext is still there
    assert files_containing(CANARY, left.parent) == [str(left)]
    assert _under(stale_edit_dirs(env), project["tmp"]) == [left.parent]  # what doctor names

    quiet = project["tmp"] / "quiet.sh"
    quiet.write_text("#!/bin/sh\nexit 0\n")
    quiet.chmod(0o755)
    r = _edit(project, quiet, "secrets")
    assert r.returncode == 0, r.stderr
    assert str(left.parent) in r.stderr and "removed" in r.stderr
    assert not left.parent.exists()
    assert _under(stale_edit_dirs(env), project["tmp"]) == []
    assert _plaintext_anywhere(project) == []
    assert run_envshim("secrets", "get", "A", env=env, cwd=root).stdout == CANARY + "\n"


@pytest.fixture
def user_project(tmp_path: Path, clean_env: dict[str, str], home: Path) -> dict:
    make_key(home)
    env = user_env(clean_env, tmp_path)
    root = tmp_path / "proj"
    root.mkdir()
    assert run_envshim("user", "init", env=env, cwd=root).returncode == 0
    run_envshim("user", "set", "A", env=env, cwd=root, input=CANARY, check=True)
    return {"root": root, "env": env, "tmp": tmp_path}


@pytest.mark.parametrize("name", ["TERM", "HUP", "QUIT", "USR1", "USR2", "ALRM"])
def test_user_edit_killed_by_a_signal_leaves_nothing(user_project: dict, name: str) -> None:
    project = user_project
    editor = _editor(project["tmp"], f"kill -{_signum(name)} $PPID\nexec sleep 10\n")
    r = _edit(project, editor, "user")
    assert r.returncode == -_signum(name), r.stderr
    assert os.listdir(project["env"]["XDG_RUNTIME_DIR"]) == []
    assert _plaintext_anywhere(project) == []
    assert _cores(project["root"]) == []
    listed = run_envshim("user", "list", "--json", env=project["env"], cwd=project["root"])
    assert listed.stdout.split() == ["[", '"A"', "]"]  # the added B was not applied


def test_user_edit_after_sigkill_removes_the_leftover(user_project: dict) -> None:
    project = user_project
    r = _edit(project, _editor(project["tmp"], "kill -KILL $PPID\n"), "user")
    assert r.returncode == -signal.SIGKILL
    left = Path((project["tmp"] / "buffer-path").read_text().strip())
    assert left.exists()
    quiet = project["tmp"] / "quiet.sh"
    quiet.write_text("#!/bin/sh\nexit 0\n")
    quiet.chmod(0o755)
    r = _edit(project, quiet, "user")
    assert r.returncode == 0, r.stderr
    assert not left.parent.exists()
    assert _plaintext_anywhere(project) == []


def test_stale_edit_dirs_checks_pid_and_start_time(tmp_path: Path) -> None:
    """A live owner keeps its directory; a dead one, or a reused pid, does not."""
    from envshim.editing import _start_time, stale_edit_dirs

    run = tmp_path / "run"
    run.mkdir()
    env = {"XDG_RUNTIME_DIR": str(run), "TMPDIR": str(run)}
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        start = _start_time(sleeper.pid)
        assert start != "0"
        alive = run / f"envshim-edit-{sleeper.pid}-{start}-abc"
        reused = run / f"envshim-edit-{sleeper.pid}-{int(start) + 1}-abc"
        dead_proc = subprocess.Popen(["true"])
        dead_proc.wait()
        dead = run / f"envshim-edit-{dead_proc.pid}-{start}-abc"
        other = run / "envshim-edit-x8k2j1ab"  # an old-style name, just made: not judged
        for d in (alive, reused, dead, other):
            d.mkdir()
        assert _under(stale_edit_dirs(env), run) == sorted([reused, dead])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _under(stale_edit_dirs(env), run) == sorted([alive, reused, dead])


def test_run_and_its_child_dump_no_core(project: dict) -> None:
    """`envshim run` holds the decrypted values, and so does its child (in its environment):
    neither may raise the core limit again."""
    root, env = project["root"], project["env"]
    run_envshim("allow", env=env, cwd=root)
    r = subprocess.run(
        [sys.executable, "-m", "envshim", "run", "--", "sh", "-c", 'ulimit -Hc; test -n "$A"'],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        preexec_fn=_core_limit_unlimited,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0\n"


def test_doctor_names_what_a_killed_edit_left_and_fix_removes_it(project: dict) -> None:
    import json

    root, env = project["root"], project["env"]
    editor = _editor(project["tmp"], "kill -KILL $PPID\n")
    assert _edit(project, editor, "secrets").returncode == -signal.SIGKILL
    left = Path((project["tmp"] / "buffer-path").read_text().strip()).parent
    report = run_envshim("doctor", "--json", env=env, cwd=root)
    edits = [c for c in json.loads(report.stdout)["checks"] if c["check"] == "edits"]
    assert edits[0]["status"] == "fail" and str(left) in edits[0]["message"]
    assert "`envshim doctor --fix`" in edits[0]["next"]
    assert CANARY not in report.stdout + report.stderr
    fixed = run_envshim("doctor", "--fix", "--json", env=env, cwd=root)
    after = [c for c in json.loads(fixed.stdout)["checks"] if c["check"] == "edits"]
    assert after[0]["status"] == "ok" and after[0]["fixed"]
    assert not left.exists() and _plaintext_anywhere(project) == []
