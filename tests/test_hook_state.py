"""hook.py in-process: diff, revert from the state alone, hand-changed keys, trust, rendering.

The resolution is built here (the layers have their own tests); trust, state,
hashing and the scripts are the real code, and scripts are evaluated by real
shells.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need
from envshim import hook, paths, trust
from envshim.errors import ConfigError
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
    """Two projects whose resolutions come from ``table`` (root -> values)."""
    table: dict[Path, dict[str, str | None]] = {}

    def resolve(path, env=None, *, environ=None, from_mise=False, missing_key=None, gate=None):
        root = find_root(Path(path))
        return fake_resolution(root, table[root])

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
    if plan.state.empty():
        out.pop(hook.STATE_VAR, None)
    else:
        out[hook.STATE_VAR] = plan.state.encode()
    return out


def allow(root: Path) -> None:
    from envshim.resolve import resolve

    trust.allow(root, resolve(root, missing_key="skip"))


def test_load_then_leave_restores_every_variable_exactly(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"NEW": "x\ny 'q'", "CHANGED": "during", "GONE": None}
    allow(a)
    base = dict(clean_env, CHANGED="before", GONE="was set")
    plan = hook.plan_hook(base, str(a / "sub"))
    assert plan.summary == "envshim: +NEW ~CHANGED -GONE"
    loaded = apply(base, plan)
    assert loaded["NEW"] == "x\ny 'q'" and loaded["CHANGED"] == "during" and "GONE" not in loaded
    state = json.loads(loaded[hook.STATE_VAR])
    assert state["root"] == str(a)
    assert state["prev"] == {"CHANGED": "before", "GONE": "was set", "NEW": None}
    # no value envshim set is stored in the state
    assert "during" not in loaded[hook.STATE_VAR] and "x\ny" not in loaded[hook.STATE_VAR]
    # a sub-directory keeps it: nothing to emit
    again = hook.plan_hook(loaded, str(a))
    assert again.emit == {} and again.summary == ""
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert left == {k: v for k, v in base.items()}


def test_revert_needs_only_the_state(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    (a / "mise.toml").unlink()
    del table[a]  # the resolution could not even be computed now
    left = apply(loaded, hook.plan_hook(loaded, str(tmp_path)))
    assert left == clean_env


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


def test_untrusted_project_loads_nothing_and_unloads_the_previous(projects, clean_env):
    table, (a, b) = projects
    table[a] = {"FROM_A": "1"}
    table[b] = {"FROM_B": "1"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    plan = hook.plan_hook(loaded, str(b))
    assert plan.emit == {"FROM_A": None}
    assert plan.notice == (f"envshim: {b} is not allowed; run `envshim allow` to trust mise.toml")
    in_b = apply(loaded, plan)
    assert "FROM_B" not in in_b and "FROM_A" not in in_b
    # one notice per directory
    assert hook.plan_hook(in_b, str(b / "sub")).notice == ""
    allow(b)
    assert apply(in_b, hook.plan_hook(in_b, str(b)))["FROM_B"] == "1"


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


def test_direnv_managed_directory_stands_aside(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    loaded["DIRENV_FILE"] = str(a / ".envrc")
    plan = hook.plan_hook(loaded, str(a))
    assert plan.emit == {"K": None} and plan.state.empty()


def test_helper_names_are_refused(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"_envshim_watch": "x"}
    allow(a)
    with pytest.raises(ConfigError, match="reserved by the envshim hook"):
        hook.plan_hook(clean_env, str(a))


def test_a_broken_state_is_ignored_not_fatal(projects, clean_env, tmp_path):
    env = dict(clean_env, ENVSHIM_STATE="{not json")
    plan = hook.plan_hook(env, str(tmp_path))
    assert plan.emit == {} and plan.state.empty()


def test_hook_key_file_is_private(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    hook.plan_hook(clean_env, str(a))
    key = paths.data_dir(clean_env) / "hook.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700


def _eval_in(shell: str, script: str, names: list[str]) -> dict[str, str | None]:
    """Evaluate ``script`` in a real shell; read ``names`` back from a child's environment."""
    exe = need(shell)
    prog = "printf '%s' $argv[1] | source; env -0" if shell == "fish" else 'eval "$1"; env -0'
    argv = [exe, "-c", prog, script] if shell == "fish" else [exe, "-c", prog, shell, script]
    out = subprocess.run(argv, capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"})
    env = dict(item.decode().split("=", 1) for item in out.stdout.split(b"\0") if item)
    return {n: env.get(n) for n in names}


values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=30
)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=values, b=values)
def test_rendered_script_round_trips_in_the_real_shell(shell, a, b):
    plan = hook.Plan(
        emit={"VAL_A": a, "VAL_B": b, "VAL_GONE": None},
        state=hook.State(root="/p r/o'j", prev={"VAL_A": None}, hashes={"VAL_A": "ab"}),
        watch=["/a path/with 'quote'"],
        summary="envshim: +VAL_A",
    )
    script = hook.render_script(shell, plan, "/stamp dir/x")
    got = _eval_in(shell, script, ["VAL_A", "VAL_B", "VAL_GONE", "ENVSHIM_STATE"])
    assert got["VAL_A"] == a and got["VAL_B"] == b and got["VAL_GONE"] is None
    assert hook.State.decode(got["ENVSHIM_STATE"]).root == "/p r/o'j"


def test_a_project_that_moves_home_still_reverts(projects, clean_env, tmp_path):
    table, (a, _b) = projects
    table[a] = {"HOME": str(tmp_path / "elsewhere"), "XDG_DATA_HOME": str(tmp_path / "d")}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    assert loaded["HOME"] == str(tmp_path / "elsewhere")
    assert hook.plan_hook(loaded, str(a)).emit == {}  # same key, same trust record
    assert apply(loaded, hook.plan_hook(loaded, str(tmp_path))) == clean_env


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
    state = env.get(hook.STATE_VAR, "")
    for value in [*first.values(), *second.values()]:
        if value and len(value) >= 12:
            assert json.dumps(value)[1:-1] not in state or value in start.values()
    left = apply(env, hook.plan_hook(env, str(tmp_path)))
    expected = dict(start)
    for key, value in by_hand.items():
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
    for key in set(expected) | set(left):
        if key in by_hand:
            # by hand: kept, unless it happens to equal what envshim set (then reverted)
            assert left.get(key) in (expected.get(key), start.get(key))
        else:
            assert left.get(key) == expected.get(key), key


def test_a_directory_whose_envrc_uses_envshim_is_left_to_direnv(projects, clean_env):
    table, (a, _b) = projects
    table[a] = {"K": "v"}
    allow(a)
    loaded = apply(clean_env, hook.plan_hook(clean_env, str(a)))
    (a / ".envrc").write_text("dotenv_if_exists\nuse envshim --env dev\n")
    # direnv's hook may run after ours, before DIRENV_FILE is set: unload anyway
    plan = hook.plan_hook(loaded, str(a / "sub"))
    assert plan.emit == {"K": None} and plan.state.empty()


def test_a_value_already_in_place_is_not_recorded(projects, clean_env, tmp_path):
    """Without a state (lost, or a shell started with the values already set), a value
    equal to what the project sets is not envshim's change: no copy goes to the state."""
    table, (a, _b) = projects
    table[a] = {"TOKEN": "already-set-secret", "NEW": "n"}
    allow(a)
    start = dict(clean_env, TOKEN="already-set-secret")
    plan = hook.plan_hook(start, str(a))
    assert set(plan.state.prev) == {"NEW"}
    assert "already-set-secret" not in plan.state.encode()
    left = apply(apply(start, plan), hook.plan_hook(apply(start, plan), str(tmp_path)))
    assert left == start
