#!/usr/bin/env python3
"""Redaction throughput with ``--secrets`` values, and the latency it adds to each line.

Uses the generated text of ``bench_scan.py`` (code, JSON, CSV, logs with URLs,
MIME base64) with a few leaks, and the same mix of values (passwords, URL-safe
tokens, hex keys), decrypted from an age file as in real use. Prints

* the filter alone (``Redactor.stream()`` fed 64 KiB writes, in this process):
  CPU time and wall time per MB;
* ``envshim redact < FILE > /dev/null`` beside ``cat FILE > /dev/null`` (the whole
  command: start-up, decryption, the pipe);
* the added latency per line: a child echoes each line it reads on stdin; the
  round trip through ``envshim run --redact -- CHILD`` beside ``envshim run --
  CHILD`` (exec, no filter), median and 99th percentile over ``--lines`` lines.

    python bench/bench_redact.py [--mb 50] [--secrets 100] [--lines 300]

Needs age and age-keygen. Tests never assert time; the numbers live here.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(HERE))

from bench_scan import line_pool, make_project, secret_values  # noqa: E402

from envshim.redact import Redactor  # noqa: E402

ECHO = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n"


def filter_alone(values: dict[str, str], data: bytes) -> None:
    redactor = Redactor(values)
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        stream = redactor.stream()
        cpu, wall = time.process_time(), time.perf_counter()
        out = 0
        for i in range(0, len(data), 1 << 16):
            out += len(stream.feed(data[i : i + (1 << 16)]))
        out += len(stream.flush())
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    mb = len(data) / 1e6
    print(
        f"filter alone       {mb / best_cpu:6.0f} MB/s CPU   {mb / best_wall:6.0f} MB/s wall "
        f"({len(redactor.keys)} values, {len(redactor.matcher.needles)} needles)"
    )


def whole_command(root: Path, env: dict[str, str], path: Path) -> None:
    mb = path.stat().st_size / 1e6
    for name, cmd in (
        ("envshim redact", [sys.executable, "-m", "envshim", "redact"]),
        ("cat", ["cat"]),
    ):
        walls, cpus = [], []
        for _ in range(3):
            with path.open("rb") as stdin:
                start = time.perf_counter()
                proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=stdin,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                _, _, usage = os.wait4(proc.pid, 0)
                walls.append(time.perf_counter() - start)
                cpus.append(usage.ru_utime + usage.ru_stime)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"{name:<18} {wall:6.2f} s wall  {cpu:6.2f} s CPU   {mb / wall:6.0f} MB/s wall")


def latency(root: Path, env: dict[str, str], lines: int, redact: bool) -> list[float]:
    cmd = [sys.executable, "-m", "envshim", "run", *(["--redact"] if redact else []), "--"]
    proc = subprocess.Popen([*cmd, sys.executable, "-u", "-c", ECHO], cwd=root, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdin and proc.stdout
    times = []
    for i in range(lines):
        line = f"request {i} took {i % 97} ms\n".encode()
        start = time.perf_counter()
        proc.stdin.write(line)
        proc.stdin.flush()
        got = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        assert got == line, got
    proc.stdin.close()
    proc.wait()
    return times[10:]  # the first lines pay for imports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the text (MB)")
    parser.add_argument("--secrets", type=int, default=100)
    parser.add_argument("--lines", type=int, default=300)
    args = parser.parse_args()
    for tool in ("age", "age-keygen", "git"):
        if not shutil.which(tool):
            sys.exit(f"bench_redact: {tool} not found on PATH")
    rng = random.Random(20260101)
    values = secret_values(args.secrets, rng)
    pool = line_pool(rng)
    lines = []
    size = 0
    while size < args.mb * 1_000_000:
        chunk = rng.choices(pool, k=1000)
        lines += chunk
        size += sum(map(len, chunk))
    leaks = [v.encode() for v in list(values.values())[:10]]
    for i, leak in enumerate(leaks):
        lines.insert(len(lines) * i // len(leaks), b"error: password " + leak + b" rejected\n")
    data = b"".join(lines)
    filter_alone(values, data)
    with tempfile.TemporaryDirectory(prefix="envshim-bench-redact-") as tmp:
        base = Path(tmp)
        home = base / "home"
        (home / ".config").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
        root = base / "proj"
        root.mkdir()
        make_project(root, env, values)
        text = base / "app.log"
        text.write_bytes(data)
        whole_command(root, env, text)
        plain = latency(root, env, args.lines, redact=False)
        redacted = latency(root, env, args.lines, redact=True)
        for name, times in (("run (exec)", plain), ("run --redact", redacted)):
            ms = sorted(t * 1000 for t in times)
            print(f"{name:<18} round trip per line: median {statistics.median(ms):6.3f} ms   "
                  f"p99 {ms[int(len(ms) * 0.99) - 1]:6.3f} ms")  # fmt: skip
        added = statistics.median(redacted) - statistics.median(plain)
        print(f"added latency per line (median): {added * 1000:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
