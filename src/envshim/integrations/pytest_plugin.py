"""pytest plugin (the ``pytest11`` entry point ``envshim``): the project's environment in tests.

Inert unless enabled: with ``--envshim``, ``--envshim-env PROFILE`` or the ini options
``envshim = true`` / ``envshim_env = PROFILE``, the environment envshim resolves for the
project (``--envshim-dir``, else pytest's rootdir) is put into ``os.environ`` before the
first conftest is imported, as ``envshim run --env PROFILE -- pytest`` would: envshim's
values win over what pytest started with, and everything else is left as it was.

A test runs on another profile with ``@pytest.mark.envshim(env="staging")`` (on a test,
a class, or a module's ``pytestmark``), or through the ini option ``envshim_profiles``
(``tests/integration = staging`` lines, directories relative to the rootdir). Around each
test (setup, call and teardown) envshim's keys are set for that test's profile, resolved
against the environment pytest started with, and afterwards every key envshim manages is
put back as it was before the test, so nothing leaks from one test to the next (a
fixture of a wider scope is set up inside the first test that needs it and sees that
test's profile). The ``envshim_env`` fixture is the test's :class:`envshim.merge.Resolution`.

A key that cannot be opened (no age identity for a secret file or the user store) or a
``required`` variable that is missing stops the run with one line before any test runs;
with ``--envshim-missing-key=skip`` the tests that need that profile are skipped with the
reason instead, and ``warn`` hands envshim's own ``--missing-key=warn`` on (the file is
left out, a warning is shown). Without the option, the project's own setting applies
(``ENVSHIM_MISSING_KEY``, ``missing_key`` in ``envshim.toml``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import pytest

MARKER = "envshim"
POLICIES = ("error", "warn", "skip")
DEFAULT = ""  # the profile key of the default profile (ENVSHIM_ENV / MISE_ENV, else none)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("envshim", "envshim: the project's environment for tests")
    group.addoption("--envshim", action="store_true", default=False,
                    help="load the project's environment (envshim) before collection")  # fmt: skip
    group.addoption("--envshim-env", metavar="PROFILE", default=None,
                    help="the profile to load (implies --envshim); a comma list as --env")  # fmt: skip
    group.addoption("--envshim-dir", metavar="DIR", default=None,
                    help="a directory inside the envshim project (default: the rootdir)")  # fmt: skip
    group.addoption("--envshim-missing-key", choices=POLICIES, default=None,
                    help="a key or required variable that is missing: error (stop the run), "
                    "warn (leave the file out) or skip (skip the tests that need it)")  # fmt: skip
    parser.addini("envshim", type="bool", default=False, help="load envshim's environment")
    parser.addini("envshim_env", default="", help="envshim profile for the session")
    parser.addini("envshim_dir", default="", help="envshim project directory (rootdir-relative)")
    parser.addini("envshim_missing_key", default="", help="error, warn or skip")
    parser.addini("envshim_profiles", type="linelist", default=[],
                  help="DIR = PROFILE lines: tests under DIR run on PROFILE")  # fmt: skip


class Failure:
    """A profile that could not be resolved: the one line to show, never a value."""

    def __init__(self, profile: str, error: Exception) -> None:
        self.profile = profile
        self.message = str(error)


class EnvshimState:
    """What the plugin loaded for this session, and how to put it back."""

    def __init__(self, config: pytest.Config, ns: Any) -> None:
        self.config = config
        rootpath = Path(config.rootpath)
        given_dir = ns.envshim_dir or config.getini("envshim_dir")
        self.dir = (rootpath / given_dir) if given_dir else rootpath
        self.profile = ns.envshim_env or config.getini("envshim_env") or DEFAULT
        self.policy: str | None = ns.envshim_missing_key or config.getini("envshim_missing_key")
        if self.policy and self.policy not in POLICIES:
            raise pytest.UsageError(
                f"envshim_missing_key must be one of {', '.join(POLICIES)}, not {self.policy!r}"
            )
        self.dirs = _profile_dirs(config.getini("envshim_profiles"), rootpath)
        self.base = dict(os.environ)  # the environment pytest started with
        self.resolutions: dict[str, Any] = {}  # profile -> Resolution | Failure
        self.session_saved: dict[str, str | None] = {}

    def resolve(self, profile: str) -> Any:
        """The resolution of ``profile`` against the starting environment (cached), or a
        :class:`Failure` under the skip policy; any other failure raises UsageError."""
        if profile in self.resolutions:
            return self.resolutions[profile]
        import envshim
        from envshim.errors import EnvshimError

        # under "skip" envshim must fail loudly so that we know which tests to skip
        mode = "error" if self.policy == "skip" else (self.policy or None)
        try:
            result: Any = envshim.resolve(
                self.dir, profile or None, environ=self.base, missing_key=mode
            )
        except EnvshimError as exc:
            if self.policy == "skip" and _is_missing(exc):
                result = Failure(profile, exc)
            else:
                raise pytest.UsageError(
                    f"envshim: {_describe(profile)}: {exc}" + _skip_hint(exc)
                ) from None
        self.resolutions[profile] = result
        return result

    def load_session(self) -> None:
        result = self.resolve(self.profile)
        if not isinstance(result, Failure):
            self.session_saved = _apply(result.changes())

    def profile_for(self, item: pytest.Item) -> str:
        marker = item.get_closest_marker(MARKER)
        if marker is not None:
            env = marker.kwargs.get("env", marker.args[0] if marker.args else None)
            if env is not None and not isinstance(env, str):
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.envshim(env=...) takes a profile name"
                )
            return env or DEFAULT
        path = Path(item.path)
        for directory, profile in self.dirs:
            if path == directory or directory in path.parents:
                return profile
        return self.profile

    def keys(self, profile: str) -> set[str]:
        """Every key this test's environment may touch: the session's and its profile's."""
        result = self.resolutions.get(profile)
        keys = set(self.session_saved)
        if result is not None and not isinstance(result, Failure):
            keys |= set(result.changes())
        return keys

    def switch(self, profile: str) -> None:
        """Set envshim's keys as ``profile`` has them over the starting environment."""
        if profile == self.profile:
            return  # the session profile is already in place
        result = self.resolutions[profile]
        changes = result.changes()
        for key in set(self.session_saved) | set(changes):
            _set(key, changes[key] if key in changes else self.base.get(key))

    def unload(self) -> None:
        _restore(self.session_saved)
        self.session_saved = {}


STATE = pytest.StashKey[EnvshimState]()
RESOLUTION = pytest.StashKey[Any]()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before the first conftest is imported: settings read at import time see the values."""
    ns = early_config.known_args_namespace
    if getattr(ns, "help", False) or getattr(ns, "version", False):
        return
    enabled = ns.envshim or ns.envshim_env or early_config.getini("envshim")
    enabled = enabled or early_config.getini("envshim_env")
    if not enabled:
        return
    state = EnvshimState(early_config, ns)
    early_config.stash[STATE] = state
    state.load_session()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f'{MARKER}(env="PROFILE"): run this test on envshim\'s environment for PROFILE '
        "(with --envshim or the envshim ini options)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.unload()


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(STATE, None)
    if state is None:
        return []
    result = state.resolutions.get(state.profile)
    if isinstance(result, Failure):
        return [f"envshim: {_describe(state.profile)} not loaded: {result.message}"]
    from ..commands.common import plural

    secret = len(result.secret_keys())
    lines = [
        f"envshim: {_describe(state.profile)} from {result.root}: "
        f"{plural(len(result), 'variable')} ({secret} secret)"
    ]
    return lines + [f"envshim: {warning}" for warning in result.warnings]


@pytest.hookimpl(trylast=True)  # after -m/-k deselection: resolve only what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        marked = sum(1 for item in items if item.get_closest_marker(MARKER) is not None)
        if marked:
            config.issue_config_time_warning(
                pytest.PytestWarning(
                    f"envshim: {marked} tests carry @pytest.mark.envshim but the plugin is "
                    "off; enable it with --envshim or envshim = true in the ini file"
                ),
                stacklevel=2,
            )
        return
    by_profile: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_profile.setdefault(state.profile_for(item), []).append(item)
    for profile, group in by_profile.items():
        result = state.resolve(profile)
        if isinstance(result, Failure):
            mark = pytest.mark.skip(reason=f"envshim: {_describe(profile)}: {result.message}")
            for item in group:
                item.add_marker(mark)
        else:
            for item in group:
                item.stash[RESOLUTION] = (profile, result)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    state = item.config.stash.get(STATE, None)
    chosen = item.stash.get(RESOLUTION, None)
    if state is None or chosen is None:
        return (yield)
    profile, _ = chosen
    saved = {key: os.environ.get(key) for key in state.keys(profile)}
    state.switch(profile)
    try:
        return (yield)
    finally:
        _restore(saved)  # whatever the test or switch did to envshim's keys


@pytest.fixture
def envshim_env(request: pytest.FixtureRequest) -> Any:
    """The :class:`envshim.merge.Resolution` this test runs on (values, provenance)."""
    if request.config.stash.get(STATE, None) is None:
        pytest.fail("the envshim_env fixture needs the envshim plugin on: pass --envshim")
    chosen = request.node.stash.get(RESOLUTION, None)
    if chosen is None:
        pytest.fail("envshim_env is for tests (it has no environment outside one)")
    return chosen[1]


def _profile_dirs(lines: list[str], rootpath: Path) -> list[tuple[Path, str]]:
    """``DIR = PROFILE`` lines, deepest directory first (the closest one wins)."""
    out = []
    for line in lines:
        directory, sep, profile = line.partition("=")
        if not sep or not directory.strip() or not profile.strip():
            raise pytest.UsageError(
                f"envshim_profiles: {line!r} is not DIR = PROFILE "
                "(e.g. tests/integration = staging)"
            )
        out.append(((rootpath / directory.strip()).resolve(), profile.strip()))
    return sorted(out, key=lambda pair: len(pair[0].parts), reverse=True)


def _is_missing(exc: Exception) -> bool:
    """A key that cannot be opened, or a required variable that is absent."""
    from envshim.errors import MissingRequiredError
    from envshim.formats.age import NoMatchingKey
    from envshim.userstore import NoKeyError

    return isinstance(exc, (NoMatchingKey, NoKeyError, MissingRequiredError))


def _skip_hint(exc: Exception) -> str:
    return "; --envshim-missing-key=skip skips the tests that need it" if _is_missing(exc) else ""


def _describe(profile: str) -> str:
    return f"profile {profile}" if profile else "the default profile"


def _set(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def _apply(changes: Mapping[str, str | None]) -> dict[str, str | None]:
    """Apply envshim's changes; the previous value of every key they touch."""
    saved = {key: os.environ.get(key) for key in changes}
    for key, value in changes.items():
        _set(key, value)
    return saved


def _restore(saved: Mapping[str, str | None]) -> None:
    for key, value in saved.items():
        _set(key, value)
