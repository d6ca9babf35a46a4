"""The prompt and ``cd`` in real interactive elvish, nushell, tcsh and xonsh: the envshim
hook (xonsh: the in-process xontrib) beside ``mise activate`` for the same shell (mise
has no tcsh), each in a project of 100 variables and 100 sops secrets (ptyshell.py).

    python bench/bench_more_shells.py [-n 9] [--enters 100] [--shells elvish nu tcsh xonsh]

Per shell and tool, ``--enters`` prompts with nothing changed inside the project, then
``-n`` rounds of: ``cd`` into the project root (**in**), into ``src/pkg`` (**within**),
back to the root (**back**), out (**out**). Each line is timed from writing it to the
first prompt after the token it prints (ptymore.py), medians in ms; **added** is the
Enter's median less the bare shell's. envshim runs through a wrapper that counts the
processes its hook starts: Enters, moving inside and leaving must start none.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from ptymore import KINDS, MISE_KINDS, Shell
from ptyshell import counting_wrapper, isolated_env, load, make_projects

STEPS = ("in", "within", "back", "out")


def rounds(kind: str, tool: str, env: dict[str, str], root: Path, project: Path, args) -> dict:
    count_dir = root / f"count-{kind}-{tool}"
    count_dir.mkdir()
    wrapper, counter = counting_wrapper(count_dir)
    outside = root / "outside"
    outside.mkdir(exist_ok=True)
    lines = {
        "in": f"cd {shlex.quote(str(project))}",
        "within": "cd src/pkg",
        "back": f"cd {shlex.quote(str(project))}",
        "out": f"cd {shlex.quote(str(outside))}",
    }
    times: dict[str, list[float]] = {step: [] for step in (*STEPS, "enter")}
    spawned = dict.fromkeys((*STEPS, "enter"), 0)
    sh = Shell(kind, tool, env, outside, wrapper if tool == "envshim" else None)
    try:
        for step in (*STEPS, *STEPS):  # warm: caches, the first load of each kind
            sh.timed(lines[step])
        sh.run(lines["in"])
        check = {"elvish": "echo $E:SECRET_1", "nu": "print $env.SECRET_1?",
                 "tcsh": "printenv SECRET_1", "xonsh": "print($SECRET_1)"}[kind]  # fmt: skip
        loaded = tool == "bare" or len(sh.run(check).strip()) >= 24
        for _ in range(10):
            sh.timed("")
        before = _count(counter)
        times["enter"] = [sh.timed("") for _ in range(args.enters)]
        spawned["enter"] = _count(counter) - before
        sh.run(lines["out"])
        for _ in range(args.n):
            for step in STEPS:
                before = _count(counter)
                times[step].append(sh.timed(lines[step]))
                spawned[step] += _count(counter) - before
    finally:
        sh.close()
    return {"times": times, "spawned": spawned, "loaded": loaded}


def _count(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=9, help="rounds of in/within/back/out")
    parser.add_argument("--enters", type=int, default=100, help="Enters timed inside")
    parser.add_argument("--shells", nargs="+", default=list(KINDS), choices=KINDS)
    args = parser.parse_args()
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="envshim-bench-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        projects = make_projects(root, env)
        projects["bare"] = projects["envshim"]
        print(f"100 variables + 100 sops secrets per tool; {args.n} rounds, {args.enters} "
              "Enters; ms to the next prompt (median)")  # fmt: skip
        for kind in args.shells:
            if not shutil.which(kind) and kind != "xonsh":
                print(f"\n{kind}: not installed, skipped")
                continue
            tools = ["bare", "envshim"]
            if kind in MISE_KINDS and shutil.which("mise"):
                tools.append("mise")
            results = {t: rounds(kind, t, env, root, projects[t], args) for t in tools}
            bare = statistics.median(results["bare"]["times"]["enter"])
            head = " ".join(f"{t:>9}" for t in tools)
            ratio = "   envshim/mise" if "mise" in tools else ""
            print(f"\n{kind}: {'step':<7} {head}{ratio}")
            for step in ("enter", *STEPS):
                meds = {t: statistics.median(results[t]["times"][step]) for t in tools}
                row = " ".join(f"{meds[t] * 1000:9.2f}" for t in tools)
                if "mise" in tools:
                    row += f"   {meds['envshim'] / meds['mise']:12.2f}x"
                print(f"      {step:<7} {row}")
            added = " ".join(
                f"{(statistics.median(results[t]['times']['enter']) - bare) * 1e6:+9.0f}"
                for t in tools
            )
            print(f"      {'added':<7} {added}  µs per Enter over the bare shell")
            ours = results["envshim"]
            counted = (
                "xontrib, in-process"
                if kind == "xonsh"
                else ", ".join(f"{s} {ours['spawned'][s]}" for s in ("enter", *STEPS))
            )
            print(f"      envshim processes: {counted}; loaded: "
                  + ", ".join(f"{t} {'yes' if results[t]['loaded'] else 'NO'}"
                              for t in tools if t != "bare"))  # fmt: skip
    print(f"\nload average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
