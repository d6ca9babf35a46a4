"""Shared set-up for the user-store tests (no tests here): a real age key, tree snapshots."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from conftest import need, run_envshim


def make_key(home: Path) -> Path:
    """A real identity from age-keygen in the default sops location (0600)."""
    keygen = need("age-keygen")
    keyfile = home / ".config" / "sops" / "age" / "keys.txt"
    keyfile.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([keygen, "-o", str(keyfile)], check=True, capture_output=True)
    os.chmod(keyfile, 0o600)
    return keyfile


def user_env(clean_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """clean_env with TMPDIR and XDG_RUNTIME_DIR inside tmp_path, so every file a
    command might leave behind is somewhere the tests look."""
    env = dict(clean_env)
    for name, sub in (("TMPDIR", "tmp"), ("XDG_RUNTIME_DIR", "run")):
        d = tmp_path / sub
        d.mkdir(mode=0o700, exist_ok=True)
        env[name] = str(d)
    return env


def envshim(*args: str, env: dict[str, str], cwd: Path, input: str | None = None):
    return run_envshim(*args, env=env, cwd=cwd, input=input)


def snapshot(*roots: Path, ignore: Path | None = None) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``roots`` with its mode and (for files) content, less ``ignore``
    (the parse cache of committed config, which ``export`` may fill)."""
    out: dict[str, tuple[int, bytes | None]] = {}
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                p = os.path.join(dirpath, name)
                out[p] = (os.lstat(p).st_mode, None)
            for name in filenames:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                out[p] = (st.st_mode, Path(p).read_bytes() if stat.S_ISREG(st.st_mode) else None)
    if ignore is not None:
        out = {k: v for k, v in out.items() if k != str(ignore) and not k.startswith(f"{ignore}/")}
    return out


def files_containing(needle: str, *roots: Path) -> list[str]:
    data = needle.encode("utf-8")
    hits = []
    for root in roots:
        for dirpath, _dirs, filenames in os.walk(root):
            for name in filenames:
                p = os.path.join(dirpath, name)
                try:
                    if data in Path(p).read_bytes():
                        hits.append(p)
                except OSError:
                    continue
    return hits


def store_dirs(home: Path) -> list[Path]:
    users = home / ".local" / "share" / "envshim" / "users"
    return sorted(users.iterdir()) if users.is_dir() else []


def age_decrypt(path: Path, keyfile: Path) -> dict[str, str]:
    """Decrypt with the real age binary: the store is an ordinary age file."""
    age = need("age")
    proc = subprocess.run(
        [age, "-d", "-i", str(keyfile), str(path)], capture_output=True, check=True
    )
    return json.loads(proc.stdout)["values"]
