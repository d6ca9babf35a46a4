"""`envshim hook` with no shell named detects elvish, nushell, tcsh and xonsh; what it
prints parses and installs in that shell; `envshim doctor` recognises each shell's hook
line in its rc file (nushell: the saved hook in its autoload directory, which must be
the current one; `--fix` rewrites an older one)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, need, run_envshim
from envshim.commands.hook import hook_text
from hook_more_shells import MORE_SHELLS
from test_shells_more import _xonsh

PY = f"{shlex.quote(sys.executable)} -m envshim"


def _run_in(kind: str, code: str, env: dict[str, str], cwd: Path):
    if kind == "elvish":
        argv = [need("elvish"), "-norc", "-c", code]
    elif kind == "nu":
        argv = [need("nu"), "--no-config-file", "-c", code]
    elif kind == "tcsh":
        argv = [need("tcsh"), "-f", "-c", code]
    else:
        argv = [_xonsh(), "--no-rc", "-c", code]
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


DETECT = {  # a second command after it: a lone one could be exec'd in place of the shell
    "elvish": f"{PY} hook > hook.out; echo done",
    "nu": f"^{sys.executable} -m envshim hook o> hook.out; print done",
    "tcsh": f"{PY} hook > hook.out; echo done",
    "xonsh": f"{PY} hook > hook.out\necho done",
}
INSTALL = {  # what the README says, then the hook's own functions are there
    "elvish": "var _readline = []; eval (slurp < hook.out); echo (count $_readline) hooks",
    "nu": "source hook.out; print ($env.__envshim | describe | str substring 0..5)",
    "tcsh": 'eval "`cat hook.out`"; alias _envshim_hook',
    "xonsh": "execx(open('hook.out').read()); print(bool(__xonsh__.env.get('XONSH_VERSION')))",
}


@pytest.mark.parametrize("kind", [*MORE_SHELLS, "xonsh"])
def test_detects_the_calling_shell_and_the_hook_installs(kind, clean_env, tmp_path):
    out = _run_in(kind, DETECT[kind], clean_env, tmp_path)
    assert out.returncode == 0 and "done" in out.stdout, out.stderr
    printed = (tmp_path / "hook.out").read_text()
    assert printed == run_envshim("hook", kind, env=clean_env, check=True).stdout
    assert "@ENVSHIM@" not in printed and "@MARKERS@" not in printed
    if kind == "elvish":
        # outside the line editor edit: does not exist: install into a stand-in for it
        (tmp_path / "hook.out").write_text(printed.replace("edit:before-readline", "_readline"))
    installed = _run_in(kind, INSTALL[kind], clean_env, tmp_path)
    assert installed.returncode == 0, installed.stderr
    expected = {"elvish": "1 hooks", "nu": "recor", "tcsh": "_envshim_rc", "xonsh": "True"}[kind]
    assert expected in installed.stdout, installed.stdout + installed.stderr


@pytest.fixture
def project(tmp_path: Path, clean_env) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    git(p, "init", "-q", "-b", "main")
    (p / "envshim.toml").write_text("")
    return p


def _shell_check(kind: str, project: Path, env: dict[str, str], *args: str) -> dict:
    out = run_envshim("doctor", "--json", "--shell", kind, *args, env=env, cwd=project)
    return next(c for c in json.loads(out.stdout)["checks"] if c["check"] == "shell")


RC = {
    "elvish": (".config/elvish/rc.elv", "eval (envshim hook elvish | slurp)"),
    "tcsh": (".tcshrc", 'eval "`envshim hook tcsh`"'),
    "xonsh": (".xonshrc", "xontrib load envshim"),
}


@pytest.mark.parametrize("kind", sorted(RC))
def test_doctor_finds_the_hook_line_in_the_rc_file(kind, project, clean_env, home):
    rel, line = RC[kind]
    check = _shell_check(kind, project, clean_env)
    assert check["status"] == "warn" and "does not load envshim" in check["message"]
    assert line in check["next"] and rel.rsplit("/", 1)[-1] in check["next"]
    rc = home / rel
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(f"# {line}\n")
    assert _shell_check(kind, project, clean_env)["status"] == "warn"  # commented out
    rc.write_text(f"# mine\n{line}\n")
    check = _shell_check(kind, project, clean_env)
    assert check["status"] == "ok", check


def test_doctor_checks_nushells_saved_hook_and_fix_rewrites_an_older_one(project, clean_env, home):
    check = _shell_check("nu", project, clean_env)
    assert check["status"] == "warn" and "hook nu | save -f" in check["next"]
    saved = home / ".config" / "nushell" / "autoload" / "envshim.nu"
    saved.parent.mkdir(parents=True)
    current = run_envshim("hook", "nu", env=clean_env, check=True).stdout
    older = current.replace('"envshim" export', '"envshim_old" export')
    assert older != current
    saved.write_text(older)
    check = _shell_check("nu", project, clean_env)
    assert check["status"] == "warn" and "older envshim hook" in check["message"]
    check = _shell_check("nu", project, clean_env, "--fix")
    assert check["status"] == "ok" and check.get("fixed") == "rewrote it"
    assert saved.read_text() == current
    assert _shell_check("nu", project, clean_env)["status"] == "ok"
    # or sourced from config.nu, from wherever the user saved it
    saved.unlink()
    (home / ".config" / "nushell" / "config.nu").write_text("source ~/envshim.nu\n")
    assert _shell_check("nu", project, clean_env)["status"] == "warn"
    (home / ".config" / "nushell" / "config.nu").write_text(
        "envshim hook nu | save -f ~/envshim.nu\nsource ~/envshim.nu\n"
    )
    assert _shell_check("nu", project, clean_env)["status"] == "ok"


def test_hook_text_names_this_envshim(clean_env):
    for kind in MORE_SHELLS:
        assert "export" in hook_text(kind) or kind == "tcsh"
    assert (
        "$_envshim_cmd:q export tcsh --hook"
        in Path(
            hook_text("tcsh").split("set _envshim_src = ", 1)[1].split(";", 1)[0].strip("'")
        ).read_text()
    )
