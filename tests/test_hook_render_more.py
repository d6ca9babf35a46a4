"""The hook's slow-path output for elvish, nushell and tcsh, evaluated by each real shell
the way its hook does, then reverted the way its hook leaves a project: every hazard
(quotes, ``$``, backticks, backslashes, ``!``, ``%``, newlines but for tcsh, CR, emoji,
combining marks) round-trips as a value set and as a previous value restored, and a
variable changed by hand is left alone and noted."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import need
from envshim import hook
from hook_more_shells import MORE_SHELLS, hook_text
from test_shells_roundtrip import HAZARDS

_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "TERM": "dumb"}


def _value(kind: str, extra: str) -> str:
    return "".join(h for h in HAZARDS if kind != "tcsh" or not set(h) & {"\n", "\r"}) + extra


def _plan(kind: str) -> tuple[hook.Plan, dict[str, str]]:
    """A load that sets NEW (was unset), changes OLD and HAND, and unsets GONE; the
    environment before it."""
    before = {"OLD": _value(kind, " old"), "HAND": "hand before", "GONE": _value(kind, " gone")}
    values = {"NEW": _value(kind, " new"), "OLD": _value(kind, " changed"), "HAND": "by load"}
    state = hook.State(
        root="/p",
        prev={
            "NEW": None,
            "OLD": before["OLD"],
            "HAND": "hand before",
            "GONE": before["GONE"],
        },
        unset={"GONE"},
    )
    state.seal(b"k" * 32, values)
    plan = hook.Plan(emit={**values, "GONE": None}, state=state, watch=["/a path/x"],
                     summary="envshim: +NEW ~HAND ~OLD -GONE")  # fmt: skip
    plan.values = values
    plan.revert_to = hook.State()
    plan.revert_to.seal(b"k" * 32, {})
    return plan, before


def _env(path: Path) -> dict[bytes, bytes]:
    return dict(item.split(b"=", 1) for item in path.read_bytes().split(b"\0") if b"=" in item)


@pytest.mark.parametrize("kind", MORE_SHELLS)
def test_the_slow_path_applies_and_the_revert_restores_every_hazard(kind, tmp_path):
    plan, before = _plan(kind)
    script = tmp_path / "script"
    script.write_text(hook.render_script(kind, plan, "/stamp", "/stamp-m", started=10**18))
    out, left = tmp_path / "OUT", tmp_path / "LEFT"
    hand = tmp_path / "HAND"
    if kind == "elvish":
        body = (
            f"var h = (eval (slurp < {script}))\n/usr/bin/env -0 > {out}\n"
            "set-env HAND 'mine'\n"
            f"var hand = [($h[revert])]\n/usr/bin/env -0 > {left}\n"
            f"print (str:join ' ' $hand) > {hand}\n"
        )
        argv = [need("elvish"), "-norc", "-c", "use str\n" + body]
    elif kind == "tcsh":
        body = (
            f'set _envshim_msgs = ( )\neval "`cat {script}`"\n/usr/bin/env -0 > {out}\n'
            "setenv HAND mine\nset __envshim_h = ( )\n"
            "foreach a ( $_envshim_reverts )\n  eval $a\nend\n"
            f'/usr/bin/env -0 > {left}\necho "$__envshim_h" > {hand}\n'
        )
        (tmp_path / "main.csh").write_text(body)
        argv = [need("tcsh"), "-f", str(tmp_path / "main.csh")]
    else:
        # the hook itself, its envshim replaced by a program that prints the rendered JSON
        printer = tmp_path / "printer"
        printer.write_text(f"#!/bin/sh\nexec cat {shlex.quote(str(script))}\n")
        printer.chmod(0o755)
        (tmp_path / "hook.nu").write_text(hook_text("nu", str(printer)))
        body = (
            f"source {tmp_path / 'hook.nu'}\n_envshim_load\n^/usr/bin/env -0 | save -f {out}\n"
            "$env.HAND = 'mine'\n_envshim_leave\n"
            f"^/usr/bin/env -0 | save -f {left}\n"
        )
        (tmp_path / "main.nu").write_text(body)
        argv = [need("nu"), "--no-config-file", str(tmp_path / "main.nu")]
    proc = subprocess.run(
        argv, capture_output=True, env={**_ENV, **before}, timeout=120, cwd=tmp_path
    )
    assert left.exists(), proc.stderr.decode(errors="replace")[-2000:]
    loaded = _env(out)
    for name, value in plan.values.items():
        assert loaded.get(name.encode()) == value.encode(), (kind, name)
    assert b"GONE" not in loaded
    assert hook.State.decode(loaded[b"ENVSHIM_STATE"].decode()).root == "/p"
    reverted = _env(left)
    assert b"NEW" not in reverted
    assert reverted[b"OLD"] == before["OLD"].encode()
    assert reverted[b"GONE"] == before["GONE"].encode()
    assert reverted[b"HAND"] == b"mine"  # changed by hand: left alone
    assert hook.State.decode(reverted[b"ENVSHIM_STATE"].decode()).empty()
    if kind == "nu":
        assert proc.stderr.endswith(b"envshim: +GONE ~OLD -NEW\n")  # leaving, less HAND
    else:
        assert hand.read_text().split() == ["~HAND"]
    # no value was ever printed
    for value in (*plan.values.values(), *before.values()):
        assert value.encode() not in proc.stdout


def test_elvish_compares_files_directories_and_missing_paths(tmp_path):
    """A missing path is compared by its absence unless a compared directory above it
    would show it being created."""
    from envshim.hook.dialects import compare_lists

    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "mise.toml").write_text("")
    (tmp_path / "elsewhere").mkdir()
    paths = [
        str(tmp_path / "root"),
        str(tmp_path / "root" / "mise.toml"),
        str(tmp_path / "root" / ".mise.toml"),  # shown by root's names
        str(tmp_path / "root" / ".config" / "mise.toml"),  # .config would appear in root
        str(tmp_path / "elsewhere" / "config.toml"),  # elsewhere is not compared
        str(tmp_path / "gone" / "deeper" / "x"),  # tmp_path is not compared either
    ]
    files, dirs, missing = compare_lists(paths)
    assert files == [str(tmp_path / "root" / "mise.toml")]
    assert dirs == [str(tmp_path / "root")]
    assert missing == [paths[4], paths[5]]
