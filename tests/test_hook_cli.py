"""`envshim hook`: the shell is detected from the parent process when not named."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from conftest import need

# "; true": a lone command would be exec'd in place of the shell, hiding it from detection
CMD = f"{shlex.quote(sys.executable)} -m envshim hook; true"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "PROMPT_COMMAND"),
        ("zsh", "add-zsh-hook precmd"),
        ("fish", "--on-event fish_prompt"),
    ],
)
def test_detects_the_calling_shell(shell, marker, clean_env):
    exe = need(shell)
    out = subprocess.run([exe, "-c", CMD], env=clean_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert marker in out.stdout and "@ENVSHIM@" not in out.stdout
    # the printed script parses in that shell
    check = subprocess.run([exe, "-n"], input=out.stdout, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_an_unsupported_shell_is_a_usage_error(clean_env):
    dash = need("dash")
    cmd = CMD.replace("; true", "; exit $?")
    out = subprocess.run([dash, "-c", cmd], env=clean_env, capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert "envshim hook bash|zsh|fish" in out.stderr and out.stderr.count("\n") == 1
