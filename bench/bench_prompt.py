"""Per-prompt cost with nothing changed: the envshim hook beside `mise hook-env` and
`direnv export`, each looped inside the same bash and zsh, on the same project.

    python bench/bench_prompt.py [--loops 20000] [--tool-loops 100]

Everything runs in a throw-away HOME. The envshim hook function is called the way
PROMPT_COMMAND / precmd call it, after one slow-path load; mise and direnv are
called the way their own hooks do (`eval "$(mise hook-env -s SHELL)"`,
`eval "$(direnv export SHELL)"`). Time is read with $EPOCHREALTIME inside the shell,
so process start-up of the shell itself is not counted. With `strace` installed,
the envshim loop is also checked to start no process.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ENVSHIM = [sys.executable, "-m", "envshim"]


def _env(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "LANG", "TERM") if k in os.environ}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        MISE_YES="1",
    )
    return env


def _setup(base: Path) -> tuple[Path, dict[str, str]]:
    home = base / "home"
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True)
    env = _env(home)
    project = base / "project"
    project.mkdir()
    lines = [f'VAR_{i} = "value {i}"' for i in range(20)]
    (project / "mise.toml").write_text("[env]\n" + "\n".join(lines) + "\n")
    (project / ".envrc").write_text("use envshim\n")
    subprocess.run([*ENVSHIM, "allow", str(project)], env=env, check=True, capture_output=True)
    subprocess.run([*ENVSHIM, "direnv", "install"], env=env, check=True, capture_output=True)
    if shutil.which("mise"):
        subprocess.run(["mise", "trust", "-q", str(project)], env=env, cwd=project, check=False)
    if shutil.which("direnv"):
        subprocess.run(["direnv", "allow", str(project)], env=env, cwd=project, check=False)
    return project, env


def _timer(shell: str) -> tuple[str, str]:
    """Shell code to start a clock and to print microseconds per loop."""
    if shell == "zsh":
        start = "zmodload zsh/datetime; t0=$EPOCHREALTIME"
        stop = 'printf "%.3f\\n" $(( (EPOCHREALTIME - t0) * 1e6 / n ))'
    else:  # bash 5: EPOCHREALTIME is "sec.usec"; integer microseconds arithmetic
        start = "t0=${EPOCHREALTIME/[.,]/}"
        stop = 't1=${EPOCHREALTIME/[.,]/}; printf "%s\\n" $(( (t1 - t0) * 1000 / n ))e-3'
    return start, stop


def _script(shell: str, what: str, loops: int) -> str:
    start, stop = _timer(shell)
    if what == "baseline":  # a function with one local, for the machine's scale
        setup = "f() { local a=$?; return $a; }"
        body = "f"
    elif what == "envshim":
        hook = " ".join(shlex.quote(w) for w in [*ENVSHIM, "hook", shell])
        setup = f'eval "$({hook})"; _envshim_hook 2>/dev/null'
        body = "_envshim_hook"
    elif what == "mise":
        setup = f'eval "$(mise activate {shell})"; eval "$(mise hook-env -s {shell})" 2>/dev/null'
        body = f'eval "$(mise hook-env -s {shell})"'
    else:
        setup = f'eval "$(direnv export {shell} 2>/dev/null)"'
        body = f'eval "$(direnv export {shell} 2>/dev/null)"'
    return (
        f"{setup}\nn={loops}; i=0\n{start}\n"
        f"while [ $i -lt $n ]; do {body}; i=$((i + 1)); done\n{stop}\n"
    )


def _run(shell: str, what: str, loops: int, project: Path, env: dict[str, str]) -> float:
    script = _script(shell, what, loops)
    proc = subprocess.run(
        [shell, "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{shell}/{what} failed: {proc.stderr.strip()[-500:]}")
    return float(proc.stdout.strip().splitlines()[-1])


_SPAWN = ("clone(", "clone3(", "fork(", "vfork(")


def _forks(shell: str, project: Path, env: dict[str, str]) -> int | None:
    """Processes started (fork/clone) by 1000 envshim fast-path calls (None without strace)."""
    if not shutil.which("strace"):
        return None
    counts = []
    for loops in (1, 1001):
        script = _script(shell, "envshim", loops)
        trace = project.parent / f"trace-{shell}-{loops}"
        subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=process", "-o", str(trace), shell, "-c", script],
            cwd=project, env=env, capture_output=True, check=True,
        )  # fmt: skip
        lines = trace.read_text().splitlines()
        counts.append(sum(line.split()[1].startswith(_SPAWN) for line in lines if " " in line))
    return counts[1] - counts[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=20000, help="envshim hook calls per shell")
    parser.add_argument("--tool-loops", type=int, default=100, help="mise/direnv calls per shell")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        project, env = _setup(Path(tmp))
        print(f"project: 20 mise variables, allowed; loops: envshim {args.loops}, "
              f"tools {args.tool_loops}")  # fmt: skip
        print(f"{'shell':<6} {'envshim hook':>14} {'mise hook-env':>14} {'direnv export':>14}"
              f" {'ratio vs fastest tool':>22} {'processes':>10} {'empty fn (scale)':>17}")  # fmt: skip
        for shell in ("bash", "zsh"):
            if not shutil.which(shell):
                print(f"{shell:<6} (not installed)")
                continue
            ours = _run(shell, "envshim", args.loops, project, env)
            tools = {}
            for tool in ("mise", "direnv"):
                if shutil.which(tool):
                    tools[tool] = _run(shell, tool, args.tool_loops, project, env)
            forks = _forks(shell, project, env)
            baseline = _run(shell, "baseline", args.loops, project, env)
            fastest = min(tools.values()) if tools else None
            ratio = f"{fastest / ours:,.0f}x" if fastest and ours > 0 else "-"
            cells = [f"{ours:>11.2f} us"]
            for tool in ("mise", "direnv"):
                value = tools.get(tool)
                cells.append(f"{value / 1000:>11.2f} ms" if value is not None else f"{'-':>14}")
            print(f"{shell:<6} {' '.join(f'{c:>14}' for c in cells)} {ratio:>22} "
                  f"{'n/a' if forks is None else forks:>10} {baseline:>14.2f} us")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
