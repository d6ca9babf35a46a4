"""hook/ in-process: diff, revert from the state alone, hand-changed keys, trust, fail safe.

The resolution is built here (the layers have their own tests); trust, state,
hashing and the scripts are the real code, and scripts are evaluated by real
shells.
"""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need
from envshim import hook, paths, trust
from envshim.errors import DecryptError
from envshim.hook.state import State
from envshim.merge import Resolution
from envshim.model import Origin, ResolvedVar
from envshim.project import find_root


def fake_resolution(root: Path, values: dict[str, str | None]) -> Resolution:
    origin = Origin("mise", str(root / "mise.toml"), 1)
    return Resolution(
        root=root,
        profile=[],
        vars={k: ResolvedVar(k, v, origin) for k, v in values.items()},
        files=[root / "mise.toml"],
        watch=[root / "mise.toml"],
    )


@pytest.fixture
def projects(tmp_path: Path, clean_env, monkeypatch: pytest.MonkeyPatch):
    """Two projects whose resolutions come from ``table`` (root -> values, or an exception
    to raise)."""
    table: dict[Path, dict[str, str | None] | Exception] = {}

    def resolve(path, env=None, *, environ=None, from_mise=False, missing_key=None, **_):
        root = find_root(Path(path))
        entry = table[root]
        if isinstance(entry, Exception):
            raise entry
        return fake_resolution(root, entry)

    # the package's ``envshim.resolve`` attribute is the public function, not the module
    monkeypatch.setattr(importlib.import_module("envshim.resolve"), "resolve", resolve)
    made = []
    for name in ("a", "b"):
        root = tmp_path / name
        (root / "sub").mkdir(parents=True)
        (root / "mise.toml").write_text(f"# {name}\n")
        made.append(root)
    return table, made


def apply(environ: dict[str, str], plan: hook.Plan) -> dict[str, str]:
    out = dict(environ)
    for key, value in plan.emit.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    out[hook.STATE_VAR] = plan.state.encode()
    return out


def without_state(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != hook.STATE_VAR}


def allow(root: Path) -> None:
    from envshim.resolve import resolve

    trust.allow(root, resolve(root, missing_key="skip"))


def test_load_then_leave_restores_every_variable_exactly(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"NEW": "x\ny 'q'", "CHANGED": "during", "GONE": None}
    allow(a)
    base = dict(clean_env, CHANGED="before", GONE="was set")
    plan = hook.plan_hook(base, str(a / "sub"))
    assert plan.summary == "envshim: +NEW ~CHANGED -GONE" and plan.error == ""
    loaded = apply(base, plan)
    assert loaded["NEW"] == "x\ny 'q'" and loaded["CHANGED"] == "during" and "GONE" not in loaded
    state = State.decode(loaded[hook.STATE_VAR])
    assert state.root == str(a) and state.unset == {"GONE"}
    assert state.prev == {"CHANGED": "before", "GONE": "was set", "NEW": None}
    # no value envshim set is stored in the state (it is compressed: look inside too)
    raw = _inflate(loaded[hook.STATE_VAR])
    assert b"during" not in raw and b"x\ny" not in raw
    # the shell is told what decides the result: the root, no dependence on the directory
    assert plan.scope == str(a) and plan.cwddep is False
    assert {"mise.toml", ".mise.toml", "envshim.toml", ".config"} <= set(plan.names)
    # a sub-directory keeps it: nothing to emit
    again = hook.plan_hook(loaded, str(a))
    assert again.emit == {} and again.summary == ""
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert without_state(left) == base


def _inflate(encoded: str) -> bytes:
    import base64
    import zlib

    return zlib.decompress(base64.b64decode(encoded.removeprefix("E2.")))


def test_revert_needs_only_the_state(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    (a / "mise.toml").unlink()
    del table[a]  # the resolution could not even be computed now
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert without_state(left) == clean_env


def test_value_changed_by_hand_is_left_alone(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"K": "project", "U": "project", "DROP": None}
    allow(a)
    base = dict(clean_env, K="before")
    loaded = apply(base, hook.plan_hook(base, str(a)))
    loaded["K"] = "mine"  # the user changed it after the load
    loaded["DROP"] = "set by hand"  # envshim had unset it
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert left["K"] == "mine" and left["DROP"] == "set by hand" and "U" not in left


def test_a_lost_hook_key_unloads_everything(projects, clean_env, tmp_path):
    """The data directory was wiped: the hashes cannot be checked, and unloading wins."""
    table, (a, _b) = projects
    table[a] = {"K": "project", "U": "u"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    (paths.data_dir(clean_env) / "hook.key").unlink()
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert "K" not in left and "U" not in left


def test_untrusted_project_loads_nothing_and_unloads_the_previous(projects, clean_env):
    table, (a, b) = projects
    table[a] = {"FROM_A": "1"}
    table[b] = {"FROM_B": "1"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    plan = hook.plan_hook(loaded, str(b))
    assert plan.emit == {"FROM_A": None}
    assert plan.notice == (f"envshim: {b} is not allowed; run `envshim allow` to trust mise.toml")
    assert plan.scope == str(b)  # moving inside b changes nothing until a config appears
    in_b = apply(loaded, plan)
    assert "FROM_B" not in in_b and "FROM_A" not in in_b
    # one notice per directory
    assert hook.plan_hook(in_b, str(b / "sub")).notice == ""
    allow(b)
    assert apply(in_b, hook.plan_hook(in_b, str(b)))["FROM_B"] == "1"


@pytest.mark.parametrize(
    "failure",
    [
        DecryptError("the MAC does not match", path="secrets.enc.env"),
        PermissionError(13, "Permission denied", "/x/secrets.enc.env"),
        RuntimeError("a bug"),
    ],
    ids=["damaged-secret-file", "unreadable", "internal-error"],
)
def test_a_directory_that_cannot_load_still_unloads_the_previous(projects, clean_env, failure):
    table, (a, b) = projects
    table[a] = {"FROM_A": "secret-a", "CHANGED": "by a"}
    table[b] = {}
    allow(a)
    allow(b)
    base = dict(clean_env, CHANGED="before")
    loaded = apply(base, hook.plan_hook(base, str(a)))
    table[b] = failure
    plan = hook.plan_hook(loaded, str(b))
    assert plan.emit == {"FROM_A": None, "CHANGED": "before"}
    assert plan.error.startswith("envshim: ") and "\n" not in plan.error
    assert (
        plan.error.endswith("nothing loaded here") and plan.summary == "envshim: ~CHANGED -FROM_A"
    )
    assert "secret-a" not in plan.error
    assert without_state(apply(loaded, plan)) == base
    assert plan.scope is None  # the next cd tries again
    # and the script printed for it still reverts, in the real shell
    script = hook.render_script("bash", plan, "/nonexistent/stamp", "/nonexistent/stamp-m")
    got = _eval_in("bash", script, ["FROM_A", "CHANGED"], loaded)
    assert got == {"FROM_A": None, "CHANGED": "before"}


def test_editing_trusted_config_needs_a_new_allow(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    (a / "mise.toml").write_text("# edited\n")
    plan = hook.plan_hook(loaded, str(a))
    assert plan.emit == {"K": None}
    assert "changed since `envshim allow` (mise.toml was edited)" in plan.notice
    allow(a)
    assert apply(loaded, hook.plan_hook(apply(loaded, plan), str(a)))["K"] == "v"


def test_stands_aside_only_for_a_direnv_hooked_in_this_shell(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    (a / ".envrc").write_text("dotenv_if_exists\nuse envshim --env dev\n")
    # direnv installed but its hook not active in this shell: the envshim hook loads
    plan = hook.plan_hook(clean_env, str(a / "sub"))
    assert plan.emit == {"K": "v"} and plan.state.aside is None
    loaded = apply(clean_env, plan)
    # direnv's hook is active (the shell says so): unload ours, load nothing, say why
    hooked = dict(loaded, ENVSHIM_DIRENV="1")
    plan = hook.plan_hook(hooked, str(a / "sub"))
    assert plan.emit == {"K": None} and plan.state.aside == str(a) and plan.scope == str(a)
    assert str(a / ".envrc") in plan.watch  # removing or editing it decides again
    assert ".envrc" in plan.names
    # an .envrc that does not `use envshim` is direnv's business, not a reason to stand aside
    (a / ".envrc").write_text("export OTHER=1\n")
    aside = apply(hooked, plan)
    assert hook.plan_hook(aside, str(a)).emit == {"K": "v"}


def test_helper_names_are_refused_and_unload(projects, clean_env):
    table, (a, b) = projects
    table[a] = {"FROM_A": "1"}
    table[b] = {"_envshim_watch": "x"}
    allow(a)
    allow(b)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    plan = hook.plan_hook(loaded, str(b))
    assert "reserved by the envshim hook" in plan.error and plan.emit == {"FROM_A": None}


def test_a_broken_state_is_ignored_and_said_once(projects, clean_env, tmp_path):
    env = dict(clean_env, ENVSHIM_STATE="{not json")
    plan = hook.plan_hook(env, str(tmp_path))
    assert plan.emit == {} and plan.state.empty()
    assert plan.notice == (
        "envshim: ENVSHIM_STATE is damaged (not written by this version of envshim); "
        "ignored, nothing reverted"
    )
    # the state written now is sound: the next run says nothing
    assert hook.plan_hook(apply(env, plan), str(tmp_path)).notice == ""


def _forge(entries: list[str], sums: int | None = None) -> str:
    """An ENVSHIM_STATE in this version's layout, with entries chosen by an attacker."""
    import base64
    import zlib

    count = sum(1 for e in entries if e.startswith(("+", "~"))) if sums is None else sums
    text = "\0".join(["", "", "", "0", *entries]).encode()
    raw = bytes((2, 2)) + b"\0\0" + bytes(8) + count.to_bytes(4, "big") + bytes(2 * count) + text
    return "E2." + base64.b64encode(zlib.compress(raw)).decode()


MARKER = "/tmp/envshim-test-marker-should-not-exist"

FORGED = [
    [f"+X;touch {MARKER}"],
    ["~PATH=/usr/bin", f"+A$(touch {MARKER})"],
    [f"!B`touch {MARKER}`=x"],
    ["+ENVSHIM_STATE"],
    ["+_envshim_revert"],
    ["+A", "+A"],
    ["?A"],
    ["+A=value"],
]


@pytest.mark.parametrize("entries", FORGED, ids=range(len(FORGED)))
def test_a_forged_state_renders_nothing(clean_env, tmp_path, entries):
    from envshim.hook.state import StateError

    forged = _forge(entries)
    with pytest.raises(StateError):
        State.decode(forged)
    env = dict(clean_env, ENVSHIM_STATE=forged, PATH="/usr/bin:/bin")
    plan = hook.plan_hook(env, str(tmp_path))
    assert plan.emit == {} and "ENVSHIM_STATE is damaged" in plan.notice
    for shell in ("bash", "zsh", "fish"):
        script = hook.render_script(shell, plan, "/nonexistent/s", "/nonexistent/s-m")
        assert "touch" not in script
        _eval_in(shell, script, ["PATH"], env)
    assert not Path(MARKER).exists()


def test_a_sums_count_that_does_not_match_is_damaged():
    from envshim.hook.state import StateError

    with pytest.raises(StateError):
        State.decode(_forge(["+A", "+B"], sums=5))


def test_hook_key_file_is_private(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    hook.plan_hook(clean_env, str(a))
    key = paths.data_dir(clean_env) / "hook.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700


def test_cwd_dependence_is_seen(projects, clean_env):
    table, (a, _b) = projects
    (a / "mise.toml").write_text('[env]\nHERE = "{{ cwd }}"\n')
    table[a] = {"HERE": str(a)}
    allow(a)
    assert hook.plan_hook(clean_env, str(a)).cwddep is True


def _eval_in(
    shell: str, script: str, names: list[str], env: dict[str, str] | None = None
) -> dict[str, str | None]:
    """Evaluate ``script`` in a real shell; read ``names`` back from a child's environment."""
    exe = need(shell)
    if shell == "fish":
        prog = "printf '%s' $argv[1] | source; env -0"
        argv = [exe, "-c", prog, script]
    else:
        prog = 'eval "$1"; env -0'
        argv = [exe, "-c", prog, shell, script]
    base = {"PATH": "/usr/bin:/bin"} if env is None else dict(env)
    base["LANG"] = "C.UTF-8"  # fish reads its environment in the locale
    out = subprocess.run(argv, capture_output=True, check=True, env=base)
    got = dict(item.decode().split("=", 1) for item in out.stdout.split(b"\0") if item)
    return {n: got.get(n) for n in names}


values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=30
)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=values, b=values)
def test_rendered_script_round_trips_in_the_real_shell(shell, a, b):
    state = State(root="/p r/o'j", prev={"VAL_A": None})
    state.seal(b"k" * 32, {"VAL_A": a})
    plan = hook.Plan(
        emit={"VAL_A": a, "VAL_B": b, "VAL_GONE": None},
        state=state,
        watch=["/a path/with 'quote'"],
        summary="envshim: +VAL_A",
    )
    plan.values = {"VAL_A": a}
    script = hook.render_script(shell, plan, "/stamp dir/x", "/stamp dir/x-m")
    got = _eval_in(shell, script, ["VAL_A", "VAL_B", "VAL_GONE", "ENVSHIM_STATE"])
    assert got["VAL_A"] == a and got["VAL_B"] == b and got["VAL_GONE"] is None
    assert State.decode(got["ENVSHIM_STATE"]).root == "/p r/o'j"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.dictionaries(st.sampled_from(["K1", "K2", "K3"]), values),
    loaded=st.dictionaries(st.sampled_from(["K1", "K2", "K3", "K4"]), st.none() | values),
    by_hand=st.dictionaries(st.sampled_from(["K1", "K4"]), st.none() | values, max_size=1),
)
def test_revert_script_in_the_real_shell(shell, before, loaded, by_hand):
    """The pure-shell leave: every variable back as before, a hand change kept."""
    plan = _plan_for(before, loaded)
    after_load = dict(before)
    for k, v in loaded.items():
        if v is None:
            after_load.pop(k, None)
        else:
            after_load[k] = v
    env = dict(after_load, **{k: v for k, v in by_hand.items() if v is not None})
    for k, v in by_hand.items():
        if v is None:
            env.pop(k, None)
    script = "\n".join(hook.revert_definition(_renderer(shell), plan)) + "\n_envshim_revert\n"
    got = _eval_in(shell, script, ["K1", "K2", "K3", "K4"], dict(env, PATH="/usr/bin:/bin"))
    for name in ("K1", "K2", "K3", "K4"):
        if name in by_hand and by_hand[name] != after_load.get(name):
            assert got[name] == by_hand[name], name  # changed by hand: kept
        else:
            assert got[name] == before.get(name), name


def _renderer(shell: str):
    from envshim.shells import get_renderer

    return get_renderer(shell)


def _plan_for(before: dict[str, str], loaded: dict[str, str | None]) -> hook.Plan:
    state = State(root="/r")
    for name, value in sorted(loaded.items()):
        if before.get(name) == value:
            continue
        state.prev[name] = before.get(name)
        if value is None:
            state.unset.add(name)
    values = {n: v for n, v in loaded.items() if v is not None and n in state.prev}
    state.seal(b"k" * 32, values)
    plan = hook.Plan(emit={}, state=state, watch=[])
    plan.values = values
    return plan


def test_a_project_that_moves_home_still_reverts(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"HOME": str(tmp_path / "elsewhere"), "XDG_DATA_HOME": str(tmp_path / "d")}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    assert loaded["HOME"] == str(tmp_path / "elsewhere")
    assert hook.plan_hook(loaded, str(a)).emit == {}  # same key, same trust record
    assert without_state(apply(loaded, hook.plan_hook(loaded, str(tmp_path)))) == clean_env


names = st.sampled_from(["K1", "K2", "K3", "PATH", "HOME_X"])
maybe_values = st.one_of(st.none(), values)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.dictionaries(names, values),
    first=st.dictionaries(names, maybe_values, min_size=1),
    second=st.dictionaries(names, maybe_values),
    by_hand=st.dictionaries(names, maybe_values, max_size=2),
)
def test_revert_property(projects, clean_env, tmp_path, base, first, second, by_hand):
    """Load a, then b, then leave: every key is back to its value before a, except the
    keys set by hand, which keep the hand value."""
    table, (a, b) = projects
    table[a], table[b] = first, second
    allow(a)
    allow(b)
    start = dict(clean_env, **base)
    env = apply(start, hook.plan_hook(start, str(a)))
    env = apply(env, hook.plan_hook(env, str(b / "sub")))
    for key, value in by_hand.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    raw = _inflate(env[hook.STATE_VAR])
    for value in [*first.values(), *second.values()]:
        if value and len(value) >= 12 and value not in start.values():
            assert value.encode("utf-8", "surrogateescape") not in raw
    left = apply(env, hook.plan_hook(env, str(tmp_path)))
    expected = dict(start)
    for key, value in by_hand.items():
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
    for key in (set(expected) | set(left)) - {hook.STATE_VAR}:
        if key in by_hand:
            # by hand: kept, unless it happens to equal what envshim set (then reverted)
            assert left.get(key) in (expected.get(key), start.get(key))
        else:
            assert left.get(key) == expected.get(key), key


def test_a_value_already_in_place_is_not_recorded(projects, clean_env, tmp_path):
    """Without a state (lost, or a shell started with the values already set), a value
    equal to what the project sets is not envshim's change: no copy goes to the state."""
    table, (a, _b) = projects
    table[a] = {"TOKEN": "already-set-secret", "NEW": "n"}
    allow(a)
    start = dict(clean_env, TOKEN="already-set-secret")
    plan = hook.plan_hook(start, str(a))
    assert set(plan.state.prev) == {"NEW"}
    assert b"already-set-secret" not in _inflate(plan.state.encode())
    left = apply(apply(start, plan), hook.plan_hook(apply(start, plan), str(tmp_path)))
    assert without_state(left) == start


def test_too_big_for_the_kernel_applies_nothing_and_unloads(projects, clean_env):
    table, (a, b) = projects
    table[a] = {"FROM_A": "1"}
    table[b] = {}
    allow(a)
    allow(b)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    table[b] = {"HUGE": "x" * (128 * 1024), "SMALL": "s"}
    plan = hook.plan_hook(loaded, str(b))
    assert plan.emit == {"FROM_A": None}
    assert "128 KiB" in plan.error and "MAX_ARG_STRLEN" in plan.error and "HUGE" in plan.error
    # together over ARG_MAX (each value alone is fine)
    table[b] = {f"BIG_{i}": "y" * 100_000 for i in range(40)}
    plan = hook.plan_hook(loaded, str(b))
    assert plan.emit == {"FROM_A": None} and "ARG_MAX" in plan.error


def _state_size(names: list[str]) -> int:
    state = State(root="/home/user/src/project", prev=dict.fromkeys(names))
    state.seal(b"k" * 64, dict.fromkeys(names, "value"))
    return len(state.encode())


def test_the_state_costs_a_few_bytes_per_variable():
    names = [f"VAR_{i}" for i in range(100)] + [f"SECRET_{i}" for i in range(100)]
    assert _state_size(names) / len(names) <= 8  # the JSON of version 1: about 53
    big = [f"VAR_{i:05d}" for i in range(20_000)]
    assert len("ENVSHIM_STATE=") + _state_size(big) + 1 <= 128 * 1024


@settings(max_examples=40, deadline=None)
@given(
    prev=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True), st.none() | values
    ),
    unset=st.sets(st.integers(0, 30)),
    noticed=st.lists(st.from_regex(r"/[a-z ]{0,10}", fullmatch=True), max_size=3),
)
def test_the_state_round_trips(prev, unset, noticed):
    names = sorted(prev)
    gone = {names[i] for i in unset if i < len(names) and prev[names[i]] is not None}
    state = State(root="/r o'ot", profile=["dev", "ci"], prev=prev, unset=gone, noticed=noticed)
    state.seal(b"k" * 32, {n: f"v-{n}" for n in names if n not in gone})
    back = State.decode(state.encode())
    assert (back.root, back.profile, back.prev, back.unset, back.noticed) == (
        state.root,
        state.profile,
        state.prev,
        state.unset,
        state.noticed,
    )
    current = {n: f"v-{n}" for n in names if n not in gone}
    assert back.unchanged(current, b"k" * 32) == set(names)
