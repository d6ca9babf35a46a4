#!/usr/bin/env python3
"""``envshim scan`` beside ``grep -rF -f patterns`` with the same literal patterns, on one tree.

Builds a throw-away git repository of generated text (code, JSON, CSV, logs,
base64 blocks; ``--mb`` megabytes in files of about 100 KB, untracked and not
ignored, so ``envshim scan`` reads every one) with a team secret file of
``--secrets`` values (age-encrypted dotenv, decrypted by envshim as in real
use) and a few planted leaks in several encodings. Then prints the median wall
time and peak RSS of

* ``envshim scan`` (the whole command: decrypting the secrets, listing the
  files with git, reading and matching every byte),
* ``grep -rF -f PATTERNS`` (``LC_ALL=C``, its fastest mode) with the literal
  patterns envshim looks for (every value in plain, hex, base64, base64url,
  base32 and UTF-16 form, line breaks removed), which finds neither wrapped
  base64 nor escapes,

and the ratio. ``--lengths`` chooses the value lengths (default: a mix of
short passwords, tokens and hex keys).

    python bench/bench_scan.py [--mb 100] [--secrets 100] [-n 3]

Needs git, age and age-keygen. Tests never assert time; the numbers live here.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from envshim.scan import build_needles  # noqa: E402


def secret_values(count: int, rng: random.Random) -> dict[str, str]:
    """A mix like a real project's: passwords, URL-safe tokens, hex keys."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+-=?@_"
    out = {}
    for i in range(count):
        kind = i % 10
        if kind < 2:
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(10, 16)))
        elif kind < 7:
            value = base64.urlsafe_b64encode(rng.randbytes(rng.randint(18, 30))).decode()
        else:
            value = rng.randbytes(rng.choice((16, 32))).hex()
        out[f"SECRET_{i:03d}"] = value
    return out


def line_pool(rng: random.Random, size: int = 20_000) -> list[bytes]:
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10)))
        for _ in range(3000)
    ]
    lines = []
    for _ in range(size):
        kind = rng.random()
        if kind < 0.55:
            indent = "    " * rng.randint(0, 3)
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 10)))
            line = indent + text + rng.choice(["", ":", "()", " = 1", ";", "  # note", ","])
        elif kind < 0.7:
            line = f'  "{rng.choice(words)}": "{rng.choice(words)} {rng.randint(0, 10**6)}",'
        elif kind < 0.8:
            line = base64.b64encode(rng.randbytes(57)).decode()  # a MIME line, 76 columns
        elif kind < 0.9:
            line = f"{rng.randint(0, 10**9)},{rng.random():.6f},{rng.choice(words)},{rng.randint(0, 99)}"
        else:
            line = (
                f"2026-01-{rng.randint(1, 28):02d} INFO {rng.choice(words)}: "
                f"GET /{rng.choice(words)}?id={rng.randint(0, 10**6)}&q=%2F{rng.choice(words)} 200"
            )
        lines.append(line.encode() + b"\n")
    return lines


def build_tree(root: Path, megabytes: int, values: dict[str, str], rng: random.Random) -> int:
    pool = line_pool(rng)
    total = 0
    target = megabytes * 1_000_000
    n = 0
    while total < target:
        sub = root / "src" / f"pkg{n // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        data = b"".join(rng.choices(pool, k=1500))
        (sub / f"module_{n:05d}.py").write_bytes(data)
        total += len(data)
        n += 1
    # a few leaks, in several encodings, in files of their own
    chosen = list(values.values())[:5]
    raw = [v.encode() for v in chosen]
    (root / "leak_plain.py").write_bytes(b"PASSWORD = '" + raw[0] + b"'\n")
    (root / "leak_hex.txt").write_bytes(raw[1].hex().upper().encode() + b"\n")
    block = base64.b64encode(b"x" * 40 + raw[2] + b"y" * 100)
    (root / "leak_mime.eml").write_bytes(
        b"\r\n".join(block[i : i + 76] for i in range(0, len(block), 76)) + b"\r\n"
    )
    (root / "leak_json.json").write_bytes(
        b'{"k": "' + "".join(f"\\u{ord(c):04x}" for c in chosen[3]).encode() + b'"}\n'
    )
    (root / "leak_utf16.txt").write_bytes(("key=" + chosen[4]).encode("utf-16-le"))
    return n + 5


def make_project(root: Path, env: dict[str, str], values: dict[str, str]) -> None:
    key = Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt"
    key.parent.mkdir(parents=True, mode=0o700)
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    me = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "envshim.toml").write_text("")
    plain = "".join(f"{k}={v}\n" for k, v in values.items()).encode()
    subprocess.run(["age", "-r", me, "-o", str(root / "secrets.env.age")], input=plain, check=True)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int, float]:
    """(wall seconds, exit code, peak RSS in KiB, CPU seconds) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the tree (MB)")
    parser.add_argument("--secrets", type=int, default=100, help="number of secret values")
    parser.add_argument("-n", type=int, default=3, help="runs of each command")
    parser.add_argument("--also", metavar="SRC", help="also time `envshim scan` from another source "
                        "tree (e.g. an older commit's src/, made with git archive)")  # fmt: skip
    args = parser.parse_args()
    for tool in ("git", "age", "age-keygen", "grep"):
        if not shutil.which(tool):
            sys.exit(f"bench_scan: {tool} not found on PATH")
    rng = random.Random(20260101)
    values = secret_values(args.secrets, rng)
    with tempfile.TemporaryDirectory(prefix="envshim-bench-scan-") as tmp:
        base = Path(tmp)
        home = base / "home"
        (home / ".config").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), LC_ALL="C")
        root = base / "tree"
        root.mkdir()
        make_project(root, env, values)
        t0 = time.perf_counter()
        files = build_tree(root, args.mb, values, rng)
        size = sum(
            p.stat().st_size for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
        )
        print(
            f"tree: {files} files, {size / 1e6:.0f} MB, built in {time.perf_counter() - t0:.1f} s"
        )

        needles, _ = build_needles(values)
        literals = sorted({n.pattern for n in needles if not n.escaped})
        patterns = base / "patterns"  # outside the tree; the values are throw-away
        patterns.write_bytes(b"\n".join(literals) + b"\n")
        print(f"{len(values)} secret values: {len(literals)} literal patterns "
              f"(+ {sum(1 for n in needles if n.escaped)} looked for where escapes are decoded)")  # fmt: skip

        ours = [sys.executable, "-m", "envshim", "scan"]
        grep = ["grep", "-rFc", "-f", str(patterns), "--exclude-dir=.git", "."]
        results = {}
        commands = [("envshim scan", ours), ("grep -rF -f", grep)]
        if args.also:
            other_env = {**env, "PYTHONPATH": args.also}
            commands.append(("other scan", ours))
        for name, cmd in commands:
            env_used = other_env if name == "other scan" else env
            timed(cmd, root, env_used)  # warm the page cache
            runs = [timed(cmd, root, env_used) for _ in range(args.n)]
            results[name] = runs
            walls = [r[0] for r in runs]
            print(
                f"{name:<14} median {statistics.median(walls):6.2f} s   "
                f"min {min(walls):6.2f} s   CPU {statistics.median(r[3] for r in runs):6.2f} s   "
                f"exit {runs[0][1]}   "
                f"peak RSS {max(r[2] for r in runs) / 1024:.0f} MiB"
            )
        found = subprocess.run(ours, cwd=root, env=env, capture_output=True, text=True)
        print("envshim scan found:")
        for line in found.stdout.splitlines():
            print("   ", line)
        ratio = statistics.median(r[0] for r in results["envshim scan"]) / statistics.median(
            r[0] for r in results["grep -rF -f"]
        )
        cpu_ratio = statistics.median(r[3] for r in results["envshim scan"]) / statistics.median(
            r[3] for r in results["grep -rF -f"]
        )
        mbps = size / 1e6 / statistics.median(r[0] for r in results["envshim scan"])
        print(
            f"envshim scan / grep -F: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU   ({mbps:.0f} MB/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
