from __future__ import annotations

from conftest import run_envshim


def test_version_and_help(clean_env):
    out = run_envshim("--version", env=clean_env)
    assert out.returncode == 0 and out.stdout.startswith("envshim ")
    helped = run_envshim("--help", env=clean_env)
    assert helped.returncode == 0 and "export" in helped.stdout


def test_unknown_command_is_usage_error(clean_env):
    out = run_envshim("frobnicate", env=clean_env)
    assert out.returncode == 2
    assert "unknown command" in out.stderr and out.stdout == ""


def test_bad_option_is_usage_error(clean_env):
    out = run_envshim("export", "--no-such-flag", env=clean_env)
    assert out.returncode == 2 and out.stdout == ""
