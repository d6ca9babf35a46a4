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


def test_every_listed_command_has_its_module_and_help(clean_env):
    from importlib import import_module

    from envshim.cli import COMMANDS

    for name, (module, _) in COMMANDS.items():
        mod = import_module(f"envshim.commands.{module}")
        assert callable(mod.add_arguments) and callable(mod.run), name
        out = run_envshim(name, "--help", env=clean_env)
        assert out.returncode == 0 and f"envshim {name}" in out.stdout, (name, out.stderr)
