"""1,000 / 5,000 / 20,000 variables: envshim beside mise and direnv, in a real interactive
bash on a pseudo-terminal.

    python bench/bench_scale.py [--sizes 1000 5000 20000] [--timeout 120]

For each size and tool: the time of ``cd`` into the project to the next prompt, the
time and peak memory of the process that loads it (``envshim export bash --hook``,
``mise hook-env``, ``direnv export bash``), the size of the state the tool exports
(``ENVSHIM_STATE``; mise's ``__MISE_DIFF`` and ``__MISE_SESSION``; direnv's
``DIRENV_DIFF`` and ``DIRENV_WATCHES``), whether ``/bin/true`` still runs in that
shell (one environment string over 128 KiB, or all of them near ARG_MAX, and
every command fails), the time of ``cd`` out, and whether leaving restores the
environment exactly. A tool that takes longer than ``--timeout`` is skipped for
the larger sizes.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ptyshell import ENVSHIM, Shell, hook_rc, isolated_env, load, tools_available

STATE_VARS = {
    "envshim": ("ENVSHIM_STATE",),
    "mise": ("__MISE_DIFF", "__MISE_SESSION"),
    "direnv": ("DIRENV_DIFF", "DIRENV_WATCHES"),
}
VOLATILE = {"PWD", "OLDPWD", "_", "SHLVL", "ENVSHIM_STATE", "__MISE_SESSION", "__MISE_DIFF"}


def make(root: Path, env: dict[str, str], tool: str, size: int) -> Path:
    project = root / f"{tool}-{size}"
    project.mkdir()
    if tool == "direnv":
        lines = "".join(f"VAR_{i:05d}=value-{i}-of-the-project\n" for i in range(size))
        (project / "vars.env").write_text(lines)
        (project / ".envrc").write_text("dotenv vars.env\n")
        subprocess.run(["direnv", "allow", str(project)], env=env, check=True, capture_output=True)
    else:
        lines = "".join(f'VAR_{i:05d} = "value-{i}-of-the-project"\n' for i in range(size))
        (project / "mise.toml").write_text("[env]\n" + lines)
        if tool == "envshim":
            subprocess.run([*ENVSHIM, "allow", str(project)], env=env, check=True,
                           capture_output=True)  # fmt: skip
    return project


def process(tool: str, project: Path, env: dict[str, str], timeout: float) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of the process that loads ``project``."""
    cmd = {
        "envshim": [*ENVSHIM, "export", "bash", "--hook"],
        "mise": ["mise", "hook-env", "-s", "bash"],
        "direnv": ["direnv", "export", "bash"],
    }[tool]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=project, env=dict(env, PWD=str(project)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = start + timeout
    while True:
        pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            proc.wait()
            raise TimeoutError
        time.sleep(0.005)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def environ(sh: Shell, out: Path) -> dict[str, str]:
    sh.run(f"env -0 > {shlex.quote(str(out))}")
    pairs = [item.split(b"=", 1) for item in out.read_bytes().split(b"\0") if b"=" in item]
    return {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in pairs}


def one(tool: str, size: int, root: Path, env: dict[str, str], timeout: float) -> dict:
    project = make(root, env, tool, size)
    outside = root / "outside"
    outside.mkdir(exist_ok=True)
    row: dict = {}
    row["process"], row["rss"] = process(tool, project, env, timeout)
    sh = Shell("bash", env, outside, hook_rc(tool, "bash"))
    try:
        before = environ(sh, root / "env-before")
        row["in"] = sh.timed(f"cd {shlex.quote(str(project))}", timeout)
        ran = sh.run("/bin/true && echo RAN-OK", timeout)
        row["true"] = "RAN-OK" in ran
        sizes = sh.run("echo " + " ".join(f"${{#{v}}}" for v in STATE_VARS[tool]), timeout)
        row["state"] = sum(int(w) for w in sizes.split() if w.isdigit())
        count = sh.run("env | grep -c '^VAR_'", timeout).split()
        row["loaded"] = count[-1] if count else "?"
        row["out"] = sh.timed(f"cd {shlex.quote(str(outside))}", timeout)
        sh.timed("", timeout)
        after = environ(sh, root / "env-after") if row["true"] else {}
        same = {k: v for k, v in after.items() if k not in VOLATILE}
        row["exact"] = row["true"] and same == {
            k: v for k, v in before.items() if k not in VOLATILE
        }
    finally:
        sh.close()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--timeout", type=float, default=120, help="seconds before giving up")
    args = parser.parse_args()
    print(f"load average before: {load()}")
    print(f"{'vars':>6} {'tool':<8} {'cd in':>9} {'process':>9} {'peak RSS':>9} "
          f"{'state':>9} {'B/var':>6} {'/bin/true':>9} {'loaded':>7} {'cd out':>9}  exact")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        gave_up: set[str] = set()
        for size in args.sizes:
            for tool in tools_available():
                if tool in gave_up:
                    print(f"{size:>6} {tool:<8} (skipped: slower than {args.timeout:.0f} s before)")
                    continue
                try:
                    r = one(tool, size, root, env, args.timeout)
                except TimeoutError:
                    gave_up.add(tool)
                    print(f"{size:>6} {tool:<8} (gave up after {args.timeout:.0f} s)")
                    continue
                print(f"{size:>6} {tool:<8} {r['in']:>8.2f}s {r['process']:>8.2f}s "
                      f"{r['rss']:>6.1f} MiB {r['state'] / 1024:>6.1f} KiB {r['state'] / size:>6.1f} "
                      f"{'runs' if r['true'] else 'FAILS':>9} {r['loaded']:>7} {r['out']:>8.3f}s  "
                      f"{'yes' if r['exact'] else 'NO'}")  # fmt: skip
                sys.stdout.flush()
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
