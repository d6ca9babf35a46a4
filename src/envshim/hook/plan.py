"""What one run of the hook's slow path does, decided without printing anything.

The plan reverts the previous load (from ``ENVSHIM_STATE`` alone) and applies the
next directory's variables, if it is a project the user allowed. It also tells the
shell what it needs to avoid the next process (DESIGN.md §6): the directory within
which moving cannot change the result (``scope``), whether the result depends on
the working directory, the names that make a directory hold config, and the
script that reverts this load.

Fail safe: when the next directory cannot be loaded for any reason (a damaged
file, a directory that cannot be read, a project that is not allowed, a value
over the kernel's limits), the previous project is unloaded all the same and
one line says why.
"""

from __future__ import annotations

import os

from ..errors import ConfigError, EnvshimError
from .state import HELPER_PREFIXES, MAX_NOTICED, STATE_VAR, State, StateError, hash_key_or_none
from .state import revert as revert_state
from .who import DIRENV_HOOKED_VAR, ENVRC, direnv_aside, direnv_will_change

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

HOOK_PID_VAR = "ENVSHIM_HOOK_PID"
SUMMARY_NAMES = 40  # a summary lists at most this many names, then counts
# Where envshim keeps its own files; a loaded project must not move them.
_PLACE_VARS = ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")


class Plan:
    """Everything the hook script does (see the module docstring)."""

    __slots__ = ("busy", "compare", "cwddep", "emit", "error", "names", "notice", "places",
                 "retry", "revert_to", "scope", "state", "summary", "values", "warnings",
                 "watch")  # fmt: skip

    def __init__(
        self,
        emit: dict[str, str | None],
        state: State,
        watch: list[str],
        summary: str = "",
        notice: str = "",
        warnings: list[str] | None = None,
    ) -> None:
        self.emit = emit  # what the shell changes now (None: unset)
        self.state = state  # the new ENVSHIM_STATE
        self.watch = watch  # paths the prompt tests with -nt against the stamp
        # for a shell that cannot read file times (elvish): the paths as watched, a missing
        # one kept (its absence is compared), no busy directory
        self.compare: list[str] = []
        self.summary = summary
        self.notice = notice  # one line: why nothing (or less) was loaded
        self.warnings = warnings or []
        self.error = ""  # one line: why the next directory could not be loaded
        self.scope: str | None = None  # moving inside needs no process (see module doc)
        self.cwddep = False
        self.names: list[str] = []  # a directory holding one of these holds config
        self.busy: list[str] = []  # directories never watched (their mtime changes all day)
        self.values: dict[str, str] = {}  # what this load set, for the revert script
        self.revert_to: State = State()  # the state after leaving
        self.places: Mapping[str, str] = {}  # where the user's files are (see place_environ)
        self.retry = False  # the shell asks again at the next prompt


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


def decode_state(
    environ: Mapping[str, str], reserved: frozenset[str] = frozenset()
) -> tuple[State | None, str]:
    """The previous load's state, and a one-line notice when it was damaged (then it is
    treated as empty: nothing is rendered from it)."""
    try:
        return State.decode(environ.get(STATE_VAR), reserved), ""
    except StateError as exc:
        return None, f"envshim: ENVSHIM_STATE is damaged ({exc}); ignored, nothing reverted"


def plan_hook(
    environ: Mapping[str, str],
    cwd: str,
    shell: str = "bash",
    env_arg: str | None = None,
    missing_key: str | None = None,
) -> Plan:
    """Revert the previous load, load ``cwd``; never raises for a failure to load ``cwd``
    (``plan.error`` says why and the previous load is reverted all the same)."""
    from ..shells import get_renderer

    renderer = get_renderer(shell)
    # "1": direnv's hook is active in this shell; "2": and this shell already waited for it
    # once at this directory
    hooked_direnv = environ.get(DIRENV_HOOKED_VAR) in ("1", "2")
    waited = environ.get(DIRENV_HOOKED_VAR) == "2"
    environ = {k: v for k, v in environ.items() if k not in (DIRENV_HOOKED_VAR, HOOK_PID_VAR)}
    old, damaged = decode_state(environ, renderer.reserved)
    places = place_environ(environ, old)
    key = hash_key_or_none(places)
    base = revert_state(environ, old, key)
    base.pop(STATE_VAR, None)
    noticed = list(old.noticed) if old else []
    load = _Load(environ, base, places, noticed, hooked_direnv)
    load.was_aside = old.aside if old is not None else None
    load.may_wait = hooked_direnv and not waited
    try:
        raw_watch = load.watch
        load.run(cwd, env_arg, missing_key, renderer)
        plan = _plan(environ, base, load, key, old)
        _check_sizes(environ, plan)
        _check_holdable(renderer, plan)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # fail safe: whatever went wrong, the previous load goes
        if os.environ.get("ENVSHIM_DEBUG") == "1" and not isinstance(exc, EnvshimError):
            raise
        failed = _Load(environ, base, places, noticed, hooked_direnv)
        failed.failed(cwd, load, getattr(exc, "path", None) or getattr(exc, "filename", None))
        plan = _plan(environ, base, failed, key, old)
        plan.error = failure_line(exc)
        raw_watch = failed.watch
    plan.notice = "\n".join(line for line in (damaged, plan.notice) if line)
    plan.places = places
    plan.names = config_names(load.profiles, hooked_direnv)
    plan.busy = sorted(_busy_dirs(environ, plan.state.root))
    plan.compare = _compare_list(raw_watch, plan.busy)
    return plan


def failure_line(exc: BaseException) -> str:
    """One line for any failure to load a directory; never the text of a file or value."""
    if isinstance(exc, EnvshimError):
        text = str(exc)
    elif isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        text = f"cannot read{where}: {exc.strerror or type(exc).__name__}"
    else:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        at = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else ""
        text = f"internal error ({type(exc).__name__}{at}); rerun with ENVSHIM_DEBUG=1"
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return f"envshim: {text}; nothing loaded here"


class _Load:
    """The next directory: what it sets, what to watch, and the scope of the result."""

    def __init__(
        self,
        environ: Mapping[str, str],
        base: dict[str, str],
        places: Mapping[str, str],
        noticed: list[str],
        hooked_direnv: bool,
    ) -> None:
        self.environ = environ
        self.base = base
        self.places = places
        self.noticed = noticed
        self.hooked_direnv = hooked_direnv
        self.loaded: dict[str, str | None] = {}
        self.watch: list[str] = []
        self.root: str | None = None
        self.profiles: list[str] = []
        self.scope: str | None = None
        self.aside: str | None = None
        self.cwddep = False
        self.notice = ""
        self.warnings: list[str] = []
        self.was_aside: str | None = None  # the previous run stood aside for this directory
        self.may_wait = False  # may wait for direnv's hook (once per directory)
        self.retry = False  # ask again after direnv's hook has run

    def run(self, cwd: str, env_arg: str | None, missing_key: str | None, renderer: Any) -> None:
        from pathlib import Path

        from .. import trust
        from ..project import ROOT_MARKERS, find_root, profiles_from

        self.profiles = profiles_from(env_arg, self.base)
        self.watch.append(os.path.join(trust.trust_dir(self.places), "x"))  # allow/deny
        if not os.path.isdir(cwd):
            return  # the directory was deleted under the shell: unload
        aside = direnv_aside(cwd) if self.hooked_direnv else None
        if aside is not None:  # direnv loads this directory: unload ours, load nothing
            self.aside = self.scope = aside
            self.watch.append(os.path.join(aside, ENVRC))
            self.watch.append(aside)  # the .envrc removed or replaced
            return
        if self.may_wait and direnv_will_change(cwd, self.environ, self.was_aside):
            # direnv's hook runs after ours at this prompt and will unload or reload what
            # it holds now: load after it (the hook runs again after direnv's), on top of
            # what it leaves, never under its values (they would be restored later)
            self.retry = True
            return
        root = find_root(Path(cwd))
        if not trust.is_project(root):
            self.watch.append(cwd)  # a config file created here starts a project
            return
        self.scope = str(root)
        self.watch.append(str(root))
        # the project's own trust record: `envshim allow` replaces it (the trust directory
        # above is watched too, for a shell that reads file times)
        self.watch.append(str(trust.record_path(root, self.places)))
        self.watch.extend(str(root / name) for name in ROOT_MARKERS)  # a new config file
        # ---- trust (trust/ owns this call): nothing of the project is parsed unless its
        # record matches; errors other than trust propagate (and unload, see plan_hook)
        verdict, resolution = trust.load_allowed(
            cwd, env_arg, environ=self.base, places=self.places, missing_key=missing_key
        )
        # ---- end of trust ---------------------------------------------------------------
        if verdict.allowed and resolution is not None:
            self.loaded = resolution.changes()
            _check_names(self.loaded, resolution, renderer)
            # Directories above the root change all the time (a file created in ~ or
            # /tmp): a config file created up there is picked up at the next `cd`.
            above = {str(d) for d in Path(resolution.root).parents}
            self.watch.extend(str(p) for p in resolution.watch if str(p) not in above)
            self.warnings = list(resolution.warnings)
            self.root = str(resolution.root)
            self.profiles = list(resolution.profile)
            self.cwddep = depends_on_cwd(resolution)
            if self.root in self.noticed:
                self.noticed.remove(self.root)
            return
        record = verdict.record
        self.watch.extend(str(p) for p in (record.files if record else {}))
        self.watch.extend(str(root / name) for name in trust.marker_names(root))
        if str(root) not in self.noticed:
            self.notice = trust.notice(verdict)
            self.noticed = [*self.noticed, str(root)][-MAX_NOTICED:]

    def failed(self, cwd: str, attempt: _Load, culprit: Any) -> None:
        """After a failure: load nothing, watch what the attempt watched and the file at
        fault (editing one retries), and keep no scope (the next ``cd`` tries again)."""
        self.profiles = attempt.profiles
        self.watch = list(attempt.watch) or [cwd]
        if isinstance(culprit, str | os.PathLike):
            self.watch.append(os.fspath(culprit))
        self.noticed = attempt.noticed


def _plan(
    environ: Mapping[str, str],
    base: dict[str, str],
    load: _Load,
    key: bytes | None,
    old: State | None,
) -> Plan:
    state = State(noticed=list(load.noticed), aside=load.aside)
    if load.root is not None:
        state.root, state.profile = load.root, list(load.profiles)
    for name, value in sorted(load.loaded.items()):
        if base.get(name) == value:
            continue  # not changed by envshim: nothing to revert, and no copy of it kept
        state.prev[name] = base.get(name)
        if value is None:
            state.unset.add(name)
    values = {n: v for n, v in load.loaded.items() if v is not None and n in state.prev}
    if state.prev:
        if key is None:
            raise ConfigError(
                "cannot read or create the hook's key file in the data directory",
                hint="check that ~/.local/share/envshim is yours and writable",
            )
        state.seal(key, values)
    elif key is not None:
        state.seal(key, {})
    final = dict(base)
    for name, value in load.loaded.items():
        if value is None:
            final.pop(name, None)
        else:
            final[name] = value
    before = set(old.prev) if old else set()
    emit: dict[str, str | None] = {}
    for name in sorted(before | set(load.loaded)):
        if final.get(name) != environ.get(name):
            emit[name] = final.get(name)
    plan = Plan(emit, state, _watch_list(load.watch, environ, state.root), summary(emit, environ))
    plan.notice, plan.warnings = load.notice, load.warnings
    plan.scope, plan.cwddep, plan.retry = load.scope, load.cwddep, load.retry
    plan.values = values
    plan.revert_to = State(noticed=list(load.noticed))
    if key is not None:
        plan.revert_to.seal(key, {})
    return plan


def _check_sizes(environ: Mapping[str, str], plan: Plan) -> None:
    """Nothing over the kernel's limits is applied: one value (with its name) over
    MAX_ARG_STRLEN, the state itself, or the whole environment near ARG_MAX."""
    from ..shells.base import check_environment_size, check_string_size

    state_text = plan.state.encode()
    check_string_size(
        STATE_VAR,
        state_text,
        what=f"the hook's state for {len(plan.state.prev)} variables",
        hint="load fewer variables in one project",
    )
    final = dict(environ)
    for name, value in plan.emit.items():
        if value is None:
            final.pop(name, None)
        else:
            final[name] = value
    final[STATE_VAR] = state_text
    check_environment_size(final)


def _check_holdable(renderer: Any, plan: Plan) -> None:
    """A shell that cannot hold some values (tcsh: a line break) gets nothing it would
    garble: neither a value now nor a previous value the revert would restore."""
    holds = getattr(renderer, "check_value", None)
    if holds is None:
        return
    for name, value in plan.emit.items():
        if value is not None:
            holds(name, value)
    for name, previous in plan.state.prev.items():
        if previous is not None:
            holds(name, previous)


# ---------------------------------------------------------------- what decides the result


def config_names(profiles: list[str], hooked_direnv: bool) -> list[str]:
    """Names whose presence makes a directory hold config (the first path component of
    every file mise's discovery or envshim's root search looks for): a directory between
    the root and ``$PWD`` holding one means the result can differ there."""
    from ..layers.mise_discovery import PROFILE_FILES, PROJECT_FILES
    from ..project import ROOT_MARKERS

    rels = [*ROOT_MARKERS, *PROJECT_FILES]
    rels += [pattern.format(p=p) for pattern in PROFILE_FILES for p in profiles if "/" not in p]
    if hooked_direnv:
        rels.append(ENVRC)
    return sorted({rel.split("/", 1)[0] for rel in rels})


# Text in a config that makes the result depend on the working directory: mise's
# `{{cwd}}`, `$PWD`, `{{env.PWD}}`, `get_env(name="OLDPWD")` … A false positive only
# costs a process when moving inside the project.
_CWD_WORDS = (b"cwd", b"PWD")


def depends_on_cwd(resolution: Any) -> bool:
    """Whether the result can differ in another directory under the same root, beyond the
    config files between the root and ``$PWD`` (the shell tests those itself)."""
    for var in resolution.vars.values():
        if "mise env --json" in (var.origin.detail or ""):
            return True  # evaluated by mise itself: anything may depend on the directory
    secret = {str(p) for p in resolution.secret_files}
    for path in resolution.files:
        if str(path) in secret:
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(1 << 20)
        except OSError:
            return True
        if any(word in data for word in _CWD_WORDS):
            return True
    return False


def _check_names(changes: Mapping[str, str | None], resolution: Any, renderer: Any) -> None:
    from ..shells.base import check

    origins = {k: v.origin for k, v in resolution.vars.items()}
    check(renderer, changes, origins)
    for name in changes:
        if name.startswith(HELPER_PREFIXES) or name in (DIRENV_HOOKED_VAR, HOOK_PID_VAR):
            origin = origins.get(name)
            raise ConfigError(
                f"{name} is reserved by the envshim hook",
                path=origin.path if origin else None,
                line=origin.line if origin else None,
                hint="rename the variable",
            )


# ---------------------------------------------------------------- watching


def _busy_dirs(environ: Mapping[str, str], root: str | None) -> set[str]:
    """Directories whose mtime changes all the time: HOME, ~/.config and everything above
    HOME or the project root (a lock file in ~ would otherwise start envshim on every
    prompt). A config file created in one of them is picked up at the next ``cd``."""
    from .. import paths

    busy = {"/"}
    home = environ.get("HOME")
    for start in (home, root):
        if start and os.path.isabs(start):
            path = os.path.normpath(start)
            if start == home:
                busy.add(path)
            while True:
                parent = os.path.dirname(path)
                if parent == path:
                    break
                busy.add(parent)
                path = parent
    # where a missing ~/.config/mise would be watched from: many apps write here
    busy.add(os.path.abspath(paths.config_home(environ)))
    if root:
        busy.discard(root)
    return busy


def _compare_list(raw: list[str], busy: list[str]) -> list[str]:
    """The watched paths for a shell that compares contents instead of file times: each
    file, directory or missing path as named (a missing one is compared by its absence),
    without the busy directories, whose entries change all day."""
    skip = set(busy)
    out: dict[str, None] = {}
    for item in raw:
        path = os.path.abspath(item)
        if path not in skip:
            out[path] = None
    return list(out)


def _watch_list(raw: list[str], environ: Mapping[str, str], root: str | None) -> list[str]:
    """Existing paths to test; a missing one is replaced by its nearest existing parent
    (creating a file changes its directory's mtime), unless that parent is busy."""
    busy = _busy_dirs(environ, root)
    out: dict[str, None] = {}
    for item in raw:
        path = os.path.abspath(item)
        while not os.path.exists(path):
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        if path not in busy:
            out[path] = None
    return list(out)


# ---------------------------------------------------------------- the summary


def summary(emit: Mapping[str, str | None], current: Mapping[str, str]) -> str:
    """``+NEW ~CHANGED -GONE``: names only, for the keys whose value changes now."""
    plus = sorted(f"+{k}" for k, v in emit.items() if v is not None and k not in current)
    tilde = sorted(f"~{k}" for k, v in emit.items() if v is not None and k in current)
    minus = sorted(f"-{k}" for k, v in emit.items() if v is None)
    return summary_of(plus, tilde, minus)


def summary_of(plus: list[str], tilde: list[str], minus: list[str]) -> str:
    """The summary line: the names, or past :data:`SUMMARY_NAMES` names the counts."""
    items = plus + tilde + minus
    if not items:
        return ""
    if len(items) > SUMMARY_NAMES:
        counts = [
            f"{sign}{len(group)}" for sign, group in (("+", plus), ("~", tilde), ("-", minus))
        ]
        return f"envshim: {' '.join(c for c in counts if c[1:] != '0')} variables"
    return "envshim: " + " ".join(items)
