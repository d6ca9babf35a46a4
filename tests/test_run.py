"""``envshim run [--env P] -- CMD ARGS…``: exec with the merged environment, no shell."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need_vectors, run_envshim


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    vectors = need_vectors() / "generated"
    root = tmp_path / "run proj ✓"
    (root / "bin").mkdir(parents=True)
    (root / "mise.toml").write_text(
        '[env]\n_.path = ["bin"]\nAPP_ENV = "ci"\nMULTI = "a\\nb"\nDROPPED = false\n'
        '[env.GREETING]\nvalue = "it\'s $$ fine"\n',
        encoding="utf-8",
    )
    tool = root / "bin" / "project-tool"
    tool.write_text(f"#!{sys.executable}\nimport os, sys\nprint(os.environ['APP_ENV'])\n"
                    "sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)\n")  # fmt: skip
    tool.chmod(0o755)
    shutil.copy(vectors / "secrets.enc.env", root / "secrets.enc.env")
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key), "DROPPED": "from the base", "KEEP": "me"}
    return root, env


def env0(stdout: bytes) -> dict[str, str]:
    return dict(item.decode().split("=", 1) for item in stdout.split(b"\0") if b"=" in item)


def test_run_env_prints_what_export_json_adds(project):
    root, env = project
    exported = run_envshim("export", "--format", "json", env=env, cwd=root)
    assert exported.returncode == 0, exported.stderr
    added = json.loads(exported.stdout)
    proc = subprocess.run(
        [sys.executable, "-m", "envshim", "run", "--", "env", "-0"],
        cwd=root, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = env0(proc.stdout)
    # every exported variable, exactly; the rest is the base environment, minus unsets
    assert {k: got.get(k) for k in added} == added
    rest = {k: v for k, v in got.items() if k not in added}
    base = {k: v for k, v in env.items() if k != "DROPPED"}
    assert rest == {k: v for k, v in base.items() if k not in added}
    assert "DROPPED" not in got and got["KEEP"] == "me"
    assert got["PATH"].split(os.pathsep)[0] == str(root / "bin")
    assert got["UNICODE"] == "héllo ✓ 日本 🚀" and got["MULTI"] == "a\nb"


def test_run_uses_the_merged_path_and_returns_the_exit_code(project):
    root, env = project
    out = run_envshim("run", "--", "project-tool", "7", env=env, cwd=root)
    assert out.returncode == 7
    assert out.stdout == "ci\n"
    out = run_envshim("run", "project-tool", env=env, cwd=root)  # '--' is optional
    assert out.returncode == 0 and out.stdout == "ci\n"


def test_run_passes_arguments_untouched_without_a_shell(project):
    root, env = project
    args = ["$APP_ENV", "a b", "*", "'q'", "--env", "-C", "`id`", ""]
    out = run_envshim("run", "--", sys.executable, "-c",
                      "import sys, json; print(json.dumps(sys.argv[1:]))", *args,
                      env=env, cwd=root)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == args


def test_run_from_another_directory_with_dir_option(project, tmp_path):
    root, env = project
    out = run_envshim("run", "-C", str(root), "--", "project-tool", env=env, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == "ci\n"


def test_command_not_found_is_127_and_not_executable_is_126(project, tmp_path):
    root, env = project
    missing = run_envshim("run", "--", "no-such-command-xyz", env=env, cwd=root)
    assert missing.returncode == 127 and missing.stdout == ""
    assert missing.stderr == "envshim: no-such-command-xyz: command not found\n"
    plain = tmp_path / "not-executable"
    plain.write_text("echo hi\n")
    plain.chmod(stat.S_IRUSR | stat.S_IWUSR)
    denied = run_envshim("run", "--", str(plain), env=env, cwd=root)
    assert denied.returncode == 126
    assert denied.stderr == f"envshim: {plain}: permission denied\n"
    directory = run_envshim("run", "--", str(tmp_path), env=env, cwd=root)
    assert directory.returncode == 126 and "is a directory" in directory.stderr


def test_nothing_to_run_is_a_usage_error(project):
    root, env = project
    for args in (["run"], ["run", "--"], ["run", "--env", "dev"]):
        out = run_envshim(*args, env=env, cwd=root)
        assert out.returncode == 2 and out.stdout == "", args


def test_a_broken_project_runs_nothing(project):
    root, env = project
    no_key = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY_FILE"}
    out = run_envshim("run", "--", "project-tool", env=no_key, cwd=root)
    assert out.returncode == 1 and out.stdout == ""  # the command never started
    assert "secrets.enc.env" in out.stderr and "hunter2" not in out.stderr
    skipped = run_envshim("run", "--missing-key", "skip", "--", "project-tool", env=no_key,
                          cwd=root)  # fmt: skip
    assert skipped.returncode == 0 and skipped.stdout == "ci\n"
