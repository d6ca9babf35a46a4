"""The prompt with nothing changed, in real interactive bash and zsh on a pseudo-terminal:
the envshim hook beside mise (``mise activate``) and direnv (``direnv hook``), each in a
project of its own with 100 variables and 100 sops secrets, none with an ``.envrc``
for envshim (the hook runs its real checks, not the direnv stand-aside).

    python bench/bench_prompt.py [--enters 300] [--loops 5000] [--tool-loops 100]

Two measurements per shell and tool:

* **Enter**: the median time from an empty command line to the next prompt, and
  what each hook adds to a bare shell's (the whole round trip through the pty);
* **per call**: the prompt hook function itself, called in a loop inside the
  shell and timed with ``$EPOCHREALTIME`` (``_envshim_hook``; mise's and direnv's
  hooks run ``mise hook-env`` and ``direnv export``).

envshim's hook runs through a wrapper that counts the processes it starts: the
Enters must start none.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from ptyshell import (
    Shell,
    counting_wrapper,
    hook_rc,
    isolated_env,
    load,
    make_projects,
    tools_available,
)

HOOK_FUNCTION = {
    "bare": "_bench_bare",
    "envshim": "_envshim_hook",
    "mise": "_mise_hook",
    "direnv": "_direnv_hook",
}


def _loop(kind: str, function: str, loops: int) -> str:
    """A one-line command that calls ``function`` ``loops`` times and prints ns per call."""
    if kind == "zsh":
        return (
            f"zmodload zsh/datetime; t0=$EPOCHREALTIME; for ((i = 0; i < {loops}; i++)); "
            f"do {function}; done; printf 'R=%d\\n' $(( (EPOCHREALTIME - t0) * 1e9 / {loops} ))"
        )
    return (
        f"t0=${{EPOCHREALTIME/[.,]/}}; for ((i = 0; i < {loops}; i++)); do {function}; done; "
        f"t1=${{EPOCHREALTIME/[.,]/}}; echo R=$(( (t1 - t0) * 1000 / {loops} ))"
    )


def measure(kind: str, tool: str, env: dict[str, str], project: Path, args) -> dict[str, float]:
    wrapper, counter = counting_wrapper(project.parent)
    rc = hook_rc(tool, kind, wrapper) if tool != "bare" else ""
    rc += "\n_bench_bare() { local a=$?; return $a; }\n"
    sh = Shell(kind, env, project, rc)
    try:
        for _ in range(20):
            sh.timed("")
        before = len(counter.read_text().splitlines())
        enters = sorted(sh.timed("") for _ in range(args.enters))
        spawned = len(counter.read_text().splitlines()) - before
        loops = args.loops if tool in ("bare", "envshim") else args.tool_loops
        out = sh.run(_loop(kind, HOOK_FUNCTION[tool], loops))
        per_call = int(out.split("R=")[-1].split()[0]) / 1000  # µs
        check = sh.run("echo ${VAR_1-unset}").split()[-1]
    finally:
        sh.close()
    return {
        "enter": statistics.median(enters) * 1e6,
        "p10": enters[len(enters) // 10] * 1e6,
        "call": per_call,
        "spawned": spawned,
        "loaded": check == "value-1",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enters", type=int, default=300, help="Enters timed per shell and tool")
    parser.add_argument("--loops", type=int, default=5000, help="envshim hook calls in the loop")
    parser.add_argument("--tool-loops", type=int, default=100, help="mise/direnv hook calls")
    args = parser.parse_args()
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        projects = make_projects(root, env)
        projects["bare"] = projects["envshim"]
        tools = ["bare", *tools_available()]
        print("project: 100 variables + 100 sops secrets per tool; envshim's has no .envrc")
        print(f"{'shell':<5} {'tool':<8} {'Enter median':>13} {'added':>9} {'p10':>9} "
              f"{'hook call':>11} {'processes':>9}  loaded")  # fmt: skip
        for kind in ("bash", "zsh"):
            results = {tool: measure(kind, tool, env, projects[tool], args) for tool in tools}
            bare = results["bare"]["enter"]
            for tool, r in results.items():
                added = f"{r['enter'] - bare:+8.0f}" if tool != "bare" else f"{'':>8}"
                spawned = r["spawned"] if tool == "envshim" else "-"
                loaded = "-" if tool == "bare" else ("yes" if r["loaded"] else "NO")
                print(f"{kind:<5} {tool:<8} {r['enter']:>10.0f} µs {added} µs {r['p10']:>6.0f} µs "
                      f"{r['call']:>8.1f} µs {spawned!s:>9}  {loaded}")  # fmt: skip
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
