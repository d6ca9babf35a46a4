"""xonsh: ``xontrib load envshim`` loads projects in-process, with no process at all.

The real xonsh runs a script that loads the xontrib and ``cd``s around (xonsh
fires ``on_chdir`` for a script's ``cd`` as for a typed one). A Python audit hook
inside that xonsh counts every process start: loading, moving inside and
leaving must start none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need, run_envshim


def xonsh() -> str:
    found = shutil.which("xonsh") or str(Path(sys.executable).parent / "xonsh")
    if not Path(found).exists():
        need("xonsh")
    return found


PRELUDE = """
import sys, json
started = []
def _audit(event, args):
    if event in ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.system"):
        started.append(event)
sys.addaudithook(_audit)
def snap(label):
    env = ${...}
    keys = ("FOO", "ORIGINAL", "TOUCHED", "GONE", "OTHER")
    print(json.dumps([label, {k: env.get(k) for k in keys}, len(started)]))
"""


def run_xonsh(env: dict[str, str], cwd: Path, body: str) -> list:
    script = cwd / "t.xsh"
    script.write_text(PRELUDE + body)
    proc = subprocess.run(
        [xonsh(), "--no-rc", str(script)], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("[")]
    return rows, proc.stderr


@pytest.fixture
def projects(clean_env: dict[str, str], tmp_path: Path):
    env = dict(clean_env, ORIGINAL="before", TOUCHED="original", GONE="was set")
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "mise.toml").write_text(
        '[env]\nFOO = "it\'s \\"x\\"\\nline2 ✓"\nORIGINAL = "during"\nTOUCHED = "project"\n'
        "GONE = false\n"
    )
    run_envshim("allow", str(project), env=env, check=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "mise.toml").write_text('[env]\nOTHER = "x"\n')
    return env, project, other


def test_load_move_inside_and_leave_start_no_process(projects, tmp_path):
    env, project, _other = projects
    rows, stderr = run_xonsh(
        env,
        tmp_path,
        "xontrib load envshim\n"
        "snap('start')\n"
        f"cd {project}\nsnap('in')\n"
        "cd sub\nsnap('sub')\n"
        "$TOUCHED = 'mine'\n"
        f"cd {tmp_path}\nsnap('out')\n",
    )
    by = {label: (values, count) for label, values, count in rows}
    assert by["in"][0] == {
        "FOO": "it's \"x\"\nline2 ✓", "ORIGINAL": "during", "TOUCHED": "project",
        "GONE": None, "OTHER": None,
    }  # fmt: skip
    assert by["sub"][0] == by["in"][0]
    out = by["out"][0]
    assert out["FOO"] is None and out["ORIGINAL"] == "before" and out["GONE"] == "was set"
    assert out["TOUCHED"] == "mine"  # changed by hand: left alone
    assert by["out"][1] == by["start"][1] == 0  # not one process, even on cd
    assert "envshim: +FOO" in stderr


def test_untrusted_project_loads_nothing_and_unloads_the_previous(projects, tmp_path):
    env, project, other = projects
    rows, stderr = run_xonsh(
        env,
        tmp_path,
        f"xontrib load envshim\ncd {project}\nsnap('in')\ncd {other}\nsnap('other')\n",
    )
    by = {label: values for label, values, _ in rows}
    assert by["in"]["FOO"] is not None
    assert by["other"]["FOO"] is None and by["other"]["OTHER"] is None
    assert by["other"]["ORIGINAL"] == "before"
    assert "is not allowed; run `envshim allow`" in stderr


def test_unloading_the_xontrib_restores_the_environment(projects, tmp_path):
    env, project, _other = projects
    rows, _ = run_xonsh(
        env, tmp_path, f"xontrib load envshim\ncd {project}\nxontrib unload envshim\nsnap('x')\n"
    )
    values = rows[-1][1]
    assert values["FOO"] is None and values["ORIGINAL"] == "before"
