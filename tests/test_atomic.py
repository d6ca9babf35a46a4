"""Atomic private writes: modes, no overwrite, no debris, old file intact on failure."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from envshim.atomic import locked, replace_preserving_mode, write_atomic
from envshim.errors import ConfigError


def test_new_file_private(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deep" / "file"
    write_atomic(target, "v1")
    assert target.read_text() == "v1"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    write_atomic(target, b"v2")
    assert target.read_bytes() == b"v2"
    assert sorted(p.name for p in target.parent.iterdir()) == [".file.lock", "file"]


def test_no_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    with pytest.raises(ConfigError):
        write_atomic(target, "new", overwrite=False)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".f.lock", "f"]


def test_failed_write_keeps_old(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_replace_preserving_mode(tmp_path: Path) -> None:
    target = tmp_path / "secrets.enc.env"
    target.write_text("a")
    os.chmod(target, 0o644)
    replace_preserving_mode(target, "b")
    assert target.read_text() == "b"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.enc.env"]  # no lock file in the repo


def _append(path: str, n: int) -> None:
    p = Path(path)
    for _ in range(n):
        with locked(p):
            value = int(p.read_text()) if p.exists() else 0
            write_atomic(p, str(value + 1), lock=False)


def test_lock_serialises_writers(tmp_path: Path) -> None:
    target = tmp_path / "counter"
    procs = [multiprocessing.Process(target=_append, args=(str(target), 30)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert target.read_text() == "90"
