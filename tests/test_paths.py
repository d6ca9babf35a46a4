"""paths.py computes platformdirs' locations without importing it: they must agree."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from envshim import paths


@pytest.mark.parametrize("xdg", [None, "relative/dir", "ABS"])
def test_cache_and_data_dirs_match_platformdirs(clean_env, home: Path, xdg, tmp_path) -> None:
    for var, ours, theirs, default in (
        ("XDG_CACHE_HOME", paths.cache_dir, platformdirs.user_cache_dir, home / ".cache"),
        ("XDG_DATA_HOME", paths.data_dir, platformdirs.user_data_dir, home / ".local/share"),
    ):
        if xdg is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = str(tmp_path / var) if xdg == "ABS" else xdg
        assert ours(os.environ) == Path(theirs("envshim", appauthor=False))
        base = tmp_path / var if xdg == "ABS" else default
        assert ours(os.environ) == base / "envshim"


def test_config_home_and_home(home: Path, tmp_path: Path) -> None:
    assert paths.config_home({"HOME": str(home)}) == home / ".config"
    assert paths.config_home({"HOME": str(home), "XDG_CONFIG_HOME": "rel"}) == home / ".config"
    assert paths.config_home({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path
    import pwd

    assert paths.home({"HOME": "relative"}) == Path(pwd.getpwuid(os.getuid()).pw_dir)


def test_private_tmp_dirs_only_usable_directories(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone")
    dirs = paths.private_tmp_dirs({"XDG_RUNTIME_DIR": missing})
    assert missing not in dirs
    assert paths.private_tmp_dirs({"XDG_RUNTIME_DIR": str(tmp_path)})[0] == str(tmp_path)
