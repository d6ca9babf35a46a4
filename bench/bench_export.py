#!/usr/bin/env python3
"""``envshim export --format json`` against ``mise env --json``, side by side, in one run.

Builds a throw-away project (a ``mise.toml`` of 100 variables, and one of
10,000), runs each command N times with isolated HOME/XDG directories, and
prints the median, the spread and the peak RSS of each, then the heaviest
imports of the export path (``python -X importtime``).

    python bench/bench_export.py [-n 21] [--big-n 5] [--big-mise-n 1] [--check]

With ``--check`` the exit status is 1 when a budget (DESIGN.md §9) is missed:
100 vars ≤ 50 ms median and ≤ 2× mise; 10,000 vars ≤ 0.5 s; peak RSS ≤ 40 MiB.
Tests never assert wall-clock time; this script is where the numbers live.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MEDIAN_S = 0.050
BUDGET_BIG_S = 0.5
BUDGET_RSS_MIB = 40.0
BUDGET_RATIO = 2.0


def write_mise_toml(path: Path, count: int) -> None:
    """``count`` variables in the shapes real configs use: plain text, numbers, templates, $VAR."""
    lines = ["[env]"]
    for i in range(count):
        kind = i % 10
        if kind == 0:
            lines.append(f'DATA_DIR_{i} = "{{{{config_root}}}}/data/{i}"')
        elif kind == 1:
            lines.append(f'DERIVED_{i} = "${{BASE_URL}}/api/{i}"')
        elif kind == 2:
            lines.append(f"PORT_{i} = {8000 + i}")
        elif kind == 3:
            lines.append(f"FLAG_{i} = {'true' if i % 2 else 'false'}")
        else:
            lines.append(f'SETTING_{i} = "value number {i} with some text"')
    lines.insert(1, 'BASE_URL = "https://example.test"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        MISE_TRUSTED_CONFIG_PATHS=str(root),
        MISE_YES="1",
    )
    return env


def envshim_command() -> list[str]:
    """The console script next to this interpreter (what a shell runs), else ``python -m envshim``."""
    script = Path(sys.executable).parent / "envshim"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "envshim"]


def run_once(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float | None = None
) -> tuple[float, float, bytes, float]:
    """(wall seconds, peak RSS MiB, stdout, CPU seconds) of one run, measured with wait4."""
    import threading

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if timer:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timeout and elapsed >= timeout:
        raise TimeoutError(f"{' '.join(cmd)} took more than {timeout:.0f} s")
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode(errors='replace')}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, out, cpu  # ru_maxrss is KiB on Linux


def measure(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    n: int,
    timeout: float | None = None,
    warm: bool = True,
) -> dict[str, float]:
    if warm:
        run_once(cmd, cwd, env, timeout)  # warm the page cache
    times, rss, cpus = [], [], []
    for _ in range(n):
        t, r, _, c = run_once(cmd, cwd, env, timeout)
        times.append(t)
        rss.append(r)
        cpus.append(c)
    times.sort()
    return {
        "median": statistics.median(times),
        "cpu": statistics.median(cpus),
        "min": times[0],
        "p90": times[min(len(times) - 1, int(len(times) * 0.9))],
        "rss": max(rss),
    }


def row(name: str, m: dict[str, float]) -> str:
    return (
        f"  {name:<28} median {m['median'] * 1000:7.1f} ms   min {m['min'] * 1000:7.1f} ms"
        f"   p90 {m['p90'] * 1000:7.1f} ms   CPU {m['cpu'] * 1000:6.1f} ms   peak RSS {m['rss']:5.1f} MiB"
    )


def importtime(cwd: Path, env: dict[str, str], top: int) -> list[str]:
    proc = subprocess.run(
        # what the console script does (``-m envshim`` would add runpy and importlib.util)
        [sys.executable, "-X", "importtime", "-c", "import sys; from envshim.cli import main; "
         "sys.exit(main(['export', '--format', 'json']))"],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        fields = line[len("import time:") :].split("|")
        rows.append((int(fields[1]), int(fields[0]), fields[2].rstrip()))
    total = sum(self_us for _, self_us, _ in rows)
    rows.sort(reverse=True)
    out = [
        f"  total of all imports (self times): {total / 1000:.1f} ms; top {top} by cumulative µs:"
    ]
    out += [f"  {cum:>8} {self_:>8}  {name}" for cum, self_, name in rows[:top]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=21, help="runs per command for 100 variables")
    parser.add_argument("--big-n", type=int, default=5, help="envshim runs for 10,000 variables")
    parser.add_argument(
        "--big-mise-n", type=int, default=1,
        help="mise runs for 10,000 variables (0 skips them: mise 2026.9 is quadratic there)",
    )  # fmt: skip
    parser.add_argument(
        "--mise-timeout", type=float, default=900, help="seconds before mise is stopped"
    )
    parser.add_argument("--top", type=int, default=15, help="import rows to show")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args()

    mise = shutil.which("mise")
    ours = envshim_command()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        results = {}
        for count, n, mise_n in ((100, args.n, args.n), (10_000, args.big_n, args.big_mise_n)):
            proj = root / f"proj{count}"
            proj.mkdir()
            write_mise_toml(proj / "mise.toml", count)
            cold = run_once([*ours, "export", "--format", "json"], proj, env)
            print(
                f"{count} variables: envshim cold (parses the TOML, fills its cache) {cold[0] * 1000:.1f} ms"
            )
            mine = measure([*ours, "export", "--format", "json"], proj, env, n, warm=False)
            theirs = None
            if mise and mise_n:
                try:
                    theirs_out = run_once([mise, "env", "--json"], proj, env, args.mise_timeout)[2]
                    a, b = json.loads(cold[2]), json.loads(theirs_out)
                    a.pop("PATH", None)
                    b.pop("PATH", None)
                    print(
                        f"  output {'identical to' if a == b else 'DIFFERENT from'} `mise env --json`"
                    )
                    theirs = measure(
                        [mise, "env", "--json"], proj, env, mise_n, args.mise_timeout, warm=False
                    )
                except TimeoutError as exc:
                    print(f"  mise: {exc}")
            print(f"  warm runs: {n} of envshim, {mise_n if mise else 0} of mise")
            print(row("envshim export --format json", mine))
            if theirs:
                print(row("mise env --json", theirs))
                print(f"  ratio envshim/mise (median): {mine['median'] / theirs['median']:.2f}")
            results[count] = (mine, theirs)
        print(
            f"envshim command: {' '.join(ours)}; python {sys.version.split()[0]}; cpus {os.cpu_count()}"
        )
        print("python -X importtime: envshim export --format json (100 variables, warm):")
        print("\n".join(importtime(root / "proj100", env, args.top)))

    small, small_mise = results[100]
    big, _ = results[10_000]
    if small["median"] > BUDGET_MEDIAN_S:
        failures.append(f"100 vars median {small['median'] * 1000:.1f} ms > 50 ms")
    if small_mise and small["median"] > BUDGET_RATIO * small_mise["median"]:
        failures.append("100 vars slower than 2x mise")
    if big["median"] > BUDGET_BIG_S:
        failures.append(f"10,000 vars median {big['median']:.2f} s > 0.5 s")
    if max(small["rss"], big["rss"]) > BUDGET_RSS_MIB:
        failures.append(f"peak RSS {max(small['rss'], big['rss']):.1f} MiB > 40 MiB")
    print("budgets: " + ("all met" if not failures else "MISSED: " + "; ".join(failures)))
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
