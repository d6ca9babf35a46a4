"""The shell hook's slow path: revert the previous load and apply the new one in one script.

The shell functions in ``shell/`` run ``envshim export <shell> --hook`` only when
``$PWD`` changed or a watched path is newer than this shell's stamp file. The
script printed here (DESIGN.md §6):

* reverts every key the previous load set, to the value it had before, using
  only ``ENVSHIM_STATE`` (never the source files, which may be gone or changed);
  a key whose value no longer matches the recorded hash was changed by hand and
  is left alone;
* applies the new project's variables, if the project is trusted (trust.py);
* sets ``ENVSHIM_STATE``: root, profile, watched paths with
  ``(mtime_ns, size, inode)``, the previous value of every key it changed
  (``null`` where unset) and a keyed hash of each value it set. A value envshim
  set is never copied into the state: every child process inherits the state.

The hash is an HMAC with a per-user key (0600 file in the data dir), so a dump
of a child's environment does not allow guessing a short secret from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from . import paths
from ._record import dataclass, field  # dataclasses without inspect: the export path
from .errors import ConfigError, EnvshimError, UsageError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    import argparse
    from typing import Any

STATE_VAR = "ENVSHIM_STATE"
SHELLS = ("bash", "zsh", "fish")
UNSET = "-"  # the recorded "hash" of a key envshim unset
HELPER_PREFIXES = ("_envshim_", "__envshim_")  # the hook's own shell variables
STAMP_SLACK_NS = 20_000_000  # a coarse filesystem clock may lag the wall clock by a tick
MAX_NOTICED = 32


@dataclass
class State:
    root: str | None = None
    profile: list[str] = field(default_factory=list)
    watch: list[list[Any]] = field(default_factory=list)  # [path, mtime_ns, size, inode]
    prev: dict[str, str | None] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    noticed: list[str] = field(default_factory=list)  # untrusted roots already announced

    def empty(self) -> bool:
        return not (self.root or self.prev or self.noticed)

    def encode(self) -> str:
        data = {
            "v": 1,
            "root": self.root,
            "profile": self.profile,
            "watch": self.watch,
            "prev": self.prev,
            "hash": self.hashes,
            "noticed": self.noticed,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def decode(cls, text: str | None) -> State | None:
        """The state, or ``None`` when absent or not ours (then nothing is reverted)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            prev = {str(k): (None if v is None else str(v)) for k, v in data["prev"].items()}
            hashes = {str(k): str(v) for k, v in data["hash"].items()}
            return cls(
                root=data.get("root"),
                profile=[str(p) for p in data.get("profile", [])],
                watch=list(data.get("watch", [])),
                prev=prev,
                hashes=hashes,
                noticed=[str(n) for n in data.get("noticed", [])],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


# ---------------------------------------------------------------- hashing


def hash_key(environ: Mapping[str, str]) -> bytes:
    """The per-user HMAC key, created (0600, atomically) on first use."""
    from .paths import data_dir

    path = data_dir(environ) / "hook.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    from .atomic import write_atomic

    with contextlib.suppress(ConfigError):  # another shell created it first
        write_atomic(path, os.urandom(32).hex().encode(), overwrite=False)
    return path.read_bytes()


def value_hash(key: bytes, name: str, value: str) -> str:
    msg = name.encode() + b"\0" + value.encode("utf-8", "surrogateescape")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:16]


# ---------------------------------------------------------------- plan


# Where envshim keeps its own files; a loaded project must not move them.
_PLACE_VARS = ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")


def place_environ(environ: Mapping[str, str], old: State | None) -> dict[str, str]:
    """``environ`` with the location variables as they were before the last load, so the
    key, trust records and stamps are found in the same place before and after."""
    places = dict(environ)
    for name in _PLACE_VARS:
        if old is not None and name in old.prev:
            previous = old.prev[name]
            if previous is None:
                places.pop(name, None)
            else:
                places[name] = previous
    return places


@dataclass
class Plan:
    emit: dict[str, str | None]  # what the shell must change now (None: unset)
    state: State
    watch: list[str]  # paths the shell's fast path tests with -nt
    summary: str = ""
    notice: str = ""
    warnings: list[str] = field(default_factory=list)


def revert(environ: Mapping[str, str], old: State | None, key: bytes) -> dict[str, str]:
    """The environment as it was before ``old`` was applied.

    A key whose current value no longer matches its hash was changed by hand
    after the load: it keeps the user's value.
    """
    base = dict(environ)
    if old is None:
        return base
    for name, previous in old.prev.items():
        recorded = old.hashes.get(name)
        current = environ.get(name)
        if recorded == UNSET:
            unchanged = current is None
        else:
            unchanged = current is not None and recorded == value_hash(key, name, current)
        if not unchanged:
            continue
        if previous is None:
            base.pop(name, None)
        else:
            base[name] = previous
    return base


def _stat(path: str) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [path]
    return [path, st.st_mtime_ns, st.st_size, st.st_ino]


def _busy_dirs(environ: Mapping[str, str], root: str | None) -> set[str]:
    """Directories whose mtime changes all the time: HOME, ~/.config and everything above
    HOME or the project root (a lock file in ~ would otherwise start envshim on every
    prompt). A config file created in one of them is picked up at the next ``cd``."""
    busy = {"/"}
    for start in (environ.get("HOME"), root):
        if start and os.path.isabs(start):
            path = Path(start)
            busy.update(str(d) for d in path.parents)
            if start == environ.get("HOME"):
                busy.add(str(path))
    # where a missing ~/.config/mise would be watched from: many apps write here
    busy.add(os.path.abspath(paths.config_home(environ)))
    if root:
        busy.discard(root)
    return busy


def _shell_watch(paths: list[Path | str], busy: set[str]) -> list[str]:
    """Existing paths to test; a missing one is replaced by its nearest existing parent
    (creating a file changes its directory's mtime), unless that parent is busy."""
    out: dict[str, None] = {}
    for raw in paths:
        path = os.path.abspath(os.fspath(raw))
        while not os.path.exists(path):
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        if path not in busy:
            out[path] = None
    return list(out)


def _check_names(changes: Mapping[str, str | None], resolution: Any, shell: str) -> None:
    from .shells import get_renderer
    from .shells.base import check

    origins = {k: v.origin for k, v in resolution.vars.items()}
    check(get_renderer(shell), changes, origins)
    for name in changes:
        if name.startswith(HELPER_PREFIXES):
            origin = origins.get(name)
            raise ConfigError(
                f"{name} is reserved by the envshim hook",
                path=origin.path if origin else None,
                line=origin.line if origin else None,
                hint="rename the variable",
            )


def plan_hook(
    environ: Mapping[str, str],
    cwd: str,
    shell: str = "bash",
    env_arg: str | None = None,
    missing_key: str | None = None,
) -> Plan:
    """Everything the hook script does, decided without printing anything."""
    from . import trust
    from .project import ROOT_MARKERS, find_root

    old = State.decode(environ.get(STATE_VAR))
    places = place_environ(environ, old)
    key = hash_key(places)
    base = revert(environ, old, key)
    base.pop(STATE_VAR, None)
    state = State(noticed=list(old.noticed) if old else [])
    loaded: dict[str, str | None] = {}
    watch: list[Path | str] = []
    notice = ""
    warnings: list[str] = []

    if environ.get("DIRENV_FILE") or _direnv_uses_envshim(cwd):
        pass  # direnv manages this directory: unload ours, load nothing
    elif not os.path.isdir(cwd):
        pass  # the directory was deleted under the shell: unload
    else:
        root = find_root(Path(cwd))
        if not trust.is_project(root):
            watch.append(cwd)  # a config file created here starts a project
        else:
            # trust first: nothing of the project is parsed unless its record matches
            verdict, resolution = trust.load_allowed(
                cwd, env_arg, environ=base, places=places, missing_key=missing_key
            )
            if verdict.allowed and resolution is not None:
                loaded = resolution.changes()
                _check_names(loaded, resolution, shell)
                # Directories above the root change all the time (a file created in ~ or
                # /tmp): watching them would start envshim on most prompts. A config file
                # created up there is picked up at the next `cd`.
                above = {str(d) for d in Path(resolution.root).parents}
                watch.extend(p for p in resolution.watch if str(p) not in above)
                watch.extend(root / name for name in ROOT_MARKERS)  # a new config file
                warnings = list(resolution.warnings)
                state.root = str(resolution.root)
                state.profile = list(resolution.profile)
                if state.root in state.noticed:
                    state.noticed.remove(state.root)
            else:
                watch.append(root)
                watch.extend(Path(p) for p in (verdict.record.files if verdict.record else {}))
                watch.extend(root / name for name in trust.marker_names(root))
                if str(root) not in state.noticed:
                    notice = trust.notice(verdict)
                    state.noticed = [*state.noticed, str(root)][-MAX_NOTICED:]
        watch.append(trust.trust_dir(places) / "x")  # allow/deny rename a file into it

    for name, value in sorted(loaded.items()):
        if base.get(name) == value:
            continue  # not changed by envshim: nothing to revert, and no copy of it kept
        state.prev[name] = base.get(name)
        state.hashes[name] = UNSET if value is None else value_hash(key, name, value)
    final = dict(base)
    for name, value in loaded.items():
        if value is None:
            final.pop(name, None)
        else:
            final[name] = value

    before = set(old.prev) if old else set()
    emit: dict[str, str | None] = {}
    for name in sorted(before | set(loaded)):
        if final.get(name) != environ.get(name):
            emit[name] = final.get(name)
    summary = _summary(emit, environ)
    shell_watch = _shell_watch(watch, _busy_dirs(environ, state.root))
    state.watch = [_stat(p) for p in shell_watch]
    return Plan(emit, state, shell_watch, summary, notice, warnings)


def _direnv_uses_envshim(cwd: str) -> bool:
    """The nearest ``.envrc`` says ``use envshim``: direnv loads this directory, whichever
    prompt hook runs first (DIRENV_FILE is only set once direnv's own hook has run)."""
    directory = cwd
    while True:
        envrc = os.path.join(directory, ".envrc")
        if os.path.isfile(envrc):
            try:
                with open(envrc, encoding="utf-8", errors="replace") as fh:
                    text = fh.read(65536)
            except OSError:
                return False
            return any(
                line.strip().startswith(("use envshim", "use_envshim"))
                for line in text.splitlines()
            )
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent


def _summary(emit: Mapping[str, str | None], current: Mapping[str, str]) -> str:
    """``+NEW ~CHANGED -GONE``: names only, for the keys whose value changes now."""
    plus = [f"+{k}" for k, v in emit.items() if v is not None and k not in current]
    tilde = [f"~{k}" for k, v in emit.items() if v is not None and k in current]
    minus = [f"-{k}" for k, v in emit.items() if v is None]
    items = sorted(plus) + sorted(tilde) + sorted(minus)
    return "envshim: " + " ".join(items) if items else ""


# ---------------------------------------------------------------- rendering


def render_script(shell: str, plan: Plan, stamp: str) -> str:
    """The script for ``eval``: each command on one line, every word quoted by the
    shell's renderer (a multi-line value is ``$'…'`` in bash and zsh, see shells/base.py)."""
    from .shells import get_renderer

    r = get_renderer(shell)
    q = r.quote
    lines = [r.unset(k) if v is None else r.export(k, v) for k, v in plan.emit.items()]
    if plan.state.empty():
        lines.append(r.unset(STATE_VAR))
    else:
        lines.append(r.export(STATE_VAR, plan.state.encode()))
    watch = " ".join(q(p) for p in plan.watch)
    if shell == "fish":
        lines.append(f"set -g _envshim_watch {watch}")
        lines.append(f"set -g _envshim_stamp {q(stamp)}")
        quiet = 'test "$ENVSHIM_QUIET" = 1; or'
    else:
        lines.append(f"_envshim_watch=({watch})")
        lines.append(f"_envshim_stamp={q(stamp)}")
        quiet = '[ "${ENVSHIM_QUIET-}" = 1 ] ||'
    if plan.notice:
        lines.append(f"printf '%s\\n' {q(plan.notice)} >&2")
    if plan.summary:
        lines.append(f"{quiet} printf '%s\\n' {q(plan.summary)} >&2")
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- stamp


def stamp_dir(environ: Mapping[str, str]) -> Path:
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        return Path(runtime) / "envshim"
    return paths.cache_dir(environ) / "stamps"


def touch_stamp(environ: Mapping[str, str], when_ns: int) -> str:
    """This shell's stamp file, its mtime set to when the slow path started reading."""
    pid = environ.get("ENVSHIM_HOOK_PID", "")
    if not pid.isdigit():
        pid = str(os.getppid())
    directory = stamp_dir(environ)
    path = directory / f"stamp-{pid}"
    if not path.exists():
        from .atomic import ensure_private_dir  # tempfile & co: only on a shell's first load

        ensure_private_dir(directory)
        _prune_stamps(directory)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.close(fd)
    os.utime(path, ns=(when_ns, when_ns))
    return str(path)


def _prune_stamps(directory: Path) -> None:
    """Remove the stamps of shells that have exited."""
    for entry in directory.glob("stamp-*"):
        pid = entry.name[6:]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
        except OSError:
            pass


# ---------------------------------------------------------------- entry point


def _cwd(environ: Mapping[str, str], directory: str) -> str:
    """The shell's logical ``$PWD`` when it names the directory we are in (symlinks kept)."""
    here = os.path.abspath(directory)
    pwd = environ.get("PWD", "")
    if directory in (".", "") and os.path.isabs(pwd):
        try:
            if os.path.samefile(pwd, here):
                return pwd
        except OSError:
            pass
    return here


def hook_export(args: argparse.Namespace) -> int:
    """``envshim export SHELL --hook``: print the revert-and-apply script, or nothing.

    ``--format json --from-mise --hook`` is the mise plugin's call (plugin_export).
    """
    shell = args.format
    if shell == "json":
        from .plugin import plugin_export

        return plugin_export(args)
    if shell not in SHELLS:
        raise UsageError(f"--hook supports {', '.join(SHELLS)}, not {shell!r}")
    environ = dict(os.environ)
    started = time.time_ns() - STAMP_SLACK_NS
    try:
        directory = args.dir
        try:
            cwd = _cwd(environ, directory)
        except FileNotFoundError:  # the shell's directory was deleted
            cwd = environ.get("PWD") or "/nonexistent"
        plan = plan_hook(environ, cwd, shell, args.env, args.missing_key)
    except EnvshimError:
        # Nothing is applied; the stamp moves so the same error is not printed on every
        # prompt, and editing a watched file retries.
        _quiet_touch(place_environ(environ, State.decode(environ.get(STATE_VAR))), started)
        raise
    places = place_environ(environ, State.decode(environ.get(STATE_VAR)))
    text = render_script(shell, plan, touch_stamp(places, started))
    for warning in plan.warnings:
        sys.stderr.write(f"envshim: warning: {warning}\n")
    sys.stdout.write(text)
    return 0


def _quiet_touch(environ: Mapping[str, str], when_ns: int) -> None:
    with contextlib.suppress(OSError):
        touch_stamp(environ, when_ns)
