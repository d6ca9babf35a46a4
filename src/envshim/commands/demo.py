"""``envshim demo``: the main job end to end, in a throw-away directory.

Every step runs the real ``envshim`` CLI in a subprocess with a private HOME
inside the demo directory, so the demo never touches your keys, stores or
trust records, and what it prints is exactly what you would see.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

MISE_TOML = """\
# committed defaults: mise reads this file too
[env]
APP_ENV = "local"
PYTHONUNBUFFERED = 1
ML_DATA_DIR = "{{config_root}}/data"
API_URL = "https://api.staging.example.com"
"""

ENVSHIM_TOML = """\
# envshim's own options, committed
required = ["DB_PASSWORD"]
"""


_MARK = "\x01envshim-demo\x01"  # starts the lines that echo a command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true", help="keep the demo directory afterwards")


class Demo:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        self.project = base / "my project"  # a space, on purpose
        self.project.mkdir(parents=True)
        for sub in (".config", ".local/share", ".cache", ".local/state"):
            (self.home / sub).mkdir(parents=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local/state"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TERM": "dumb",
        }
        # the envshim under demo is the one running now
        self.envshim = [sys.executable, "-m", "envshim"]
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env["PATH"]

    def say(self, title: str, text: str = "") -> None:
        sys.stdout.write(
            f"\n\033[1m== {title}\033[0m\n" if sys.stdout.isatty() else f"\n== {title}\n"
        )
        if text:
            sys.stdout.write(textwrap.dedent(text).strip() + "\n")

    def show_file(self, path: Path, *, limit: int = 12) -> None:
        lines = path.read_text(encoding="utf-8").splitlines()
        sys.stdout.write(f"--- {path.relative_to(self.base)}\n")
        for line in lines[:limit]:
            sys.stdout.write(f"    {line[:110]}{'…' if len(line) > 110 else ''}\n")
        if len(lines) > limit:
            sys.stdout.write(f"    … ({len(lines) - limit} more lines)\n")

    def envshim_cmd(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        shown = "envshim " + " ".join(shlex.quote(a) for a in args)
        sys.stdout.write(f"$ {shown}\n")
        proc = subprocess.run(
            [*self.envshim, *args],
            cwd=self.project,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        out = proc.stdout + proc.stderr
        sys.stdout.write(textwrap.indent(out, "    ") if out else "")
        if check and proc.returncode != 0:
            raise SystemExit(f"envshim demo: step failed: {shown} (exit {proc.returncode})")
        return proc.stdout

    def shell(self, script: str) -> None:
        """Run ``script`` in bash, each command shown just before its own output."""
        lines = textwrap.dedent(script).strip().splitlines()
        # bash prints each command line itself, in the same stream as the output, so
        # the two stay in order; the marker tells the echo from the output
        traced = "".join(f"printf '%s\\n' {shlex.quote(_MARK + line)}\n{line}\n" for line in lines)
        proc = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", traced],
            cwd=self.base,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # keep the hook's summaries where they happen
            text=True,
            timeout=60,
        )
        for line in proc.stdout.split("\n")[:-1]:  # not splitlines: \x1c-\x1e split it too
            if line.startswith(_MARK):
                sys.stdout.write(f"  $ {line[len(_MARK) :]}\n")
            else:
                sys.stdout.write(f"    {line}\n")
        if proc.returncode != 0:
            raise SystemExit(f"envshim demo: the shell step failed (exit {proc.returncode})")


def run(args: argparse.Namespace) -> int:
    base = Path(tempfile.mkdtemp(prefix="envshim-demo-"))
    try:
        demo = Demo(base)
        _walkthrough(demo)
        sys.stdout.write(f"\nDone. The demo ran in {base}{'' if args.keep else ' (removed)'}.\n")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def _walkthrough(d: Demo) -> None:
    d.say("1. A project with committed defaults in mise.toml")
    (d.project / "mise.toml").write_text(MISE_TOML, encoding="utf-8")
    d.show_file(d.project / "mise.toml")
    (d.project / "envshim.toml").write_text(ENVSHIM_TOML, encoding="utf-8")
    d.show_file(d.project / "envshim.toml")

    d.say("2. Your age key (one key serves sops, mise and envshim)")
    d.envshim_cmd("key", "new")
    pub = d.envshim_cmd("key", "show").split()
    recipient = next(w for w in pub if w.startswith("age1"))
    (d.project / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: secrets.*\n    age: {recipient}\n", encoding="utf-8"
    )

    d.say("3. A team secret, committed encrypted (the value comes from stdin, never argv)")
    d.envshim_cmd("secrets", "set", "DB_PASSWORD", "-", stdin="s3cr3t-from-the-team\n")
    d.envshim_cmd("secrets", "set", "API_TOKEN", "-", stdin="team-token\n")
    d.show_file(d.project / "secrets.enc.env", limit=3)

    d.say("4. Your own value, kept outside the repository, overriding a team default")
    d.envshim_cmd("user", "init")
    d.envshim_cmd("user", "set", "API_URL", "-", stdin="http://localhost:8000\n")

    d.say("5. The merged environment, as bash would evaluate it")
    d.envshim_cmd("export", "bash")

    d.say("6. Where a value came from (values masked unless --reveal)")
    d.envshim_cmd("explain", "API_URL")
    d.envshim_cmd("explain", "DB_PASSWORD")

    d.say("7. Load on cd, unload on leaving (the bash hook, after `envshim allow`)")
    d.envshim_cmd("allow")
    d.shell(
        """
        export APP_ENV=before
        eval "$(envshim hook bash)"
        cd "my project"; _envshim_hook
        echo "inside:  APP_ENV=$APP_ENV DB_PASSWORD=${DB_PASSWORD:+(set)} API_URL=$API_URL"
        cd ..; _envshim_hook
        echo "outside: APP_ENV=$APP_ENV DB_PASSWORD=${DB_PASSWORD-(unset)} API_URL=${API_URL-(unset)}"
        """
    )

    d.say("8. One command with the whole environment")
    d.envshim_cmd(
        "run",
        "--",
        sys.executable,
        "-c",
        "import os; print('DB_PASSWORD has', len(os.environ['DB_PASSWORD']), 'chars')",
    )

    d.say("9. The onboarding check a new teammate runs")
    d.envshim_cmd("doctor", check=False)
