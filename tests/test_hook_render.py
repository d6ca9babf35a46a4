"""The hook script quotes through the shell renderers: a value with a newline is one line.

Read as typed lines (an interactive bash), a line starting with ``^`` is history
substitution even inside quotes; zsh's ``csh_junkie_quotes`` refuses a newline
inside ``'…'``. Both must still get every value back exactly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import need
from envshim import hook

VALUES = {
    "MULTI": "first line\n^first^second\nlast 'quoted' $HOME !! \\n",
    "CARET": "^a^b",
    "PLAIN": "x",
}

SHELLS = {
    # input read as typed lines: history expansion is on (readline off, as in a pipe)
    "bash -i": (["bash", "--norc", "--noprofile", "--noediting", "-i"], "bash", ""),
    "zsh csh_junkie_quotes": (["zsh", "-f"], "zsh", "setopt csh_junkie_quotes\n"),
    "zsh -i csh_junkie_quotes": (["zsh", "-f", "-i"], "zsh", "setopt csh_junkie_quotes\n"),
}


def _plan() -> hook.Plan:
    state = hook.State(root="/p\nr/^o^j", prev={"MULTI": None})
    state.seal(b"k" * 32, {"MULTI": VALUES["MULTI"]})
    plan = hook.Plan(
        emit={**VALUES, "GONE": None},
        state=state,
        watch=["/a path/with\n^new^line"],
        summary="envshim: +MULTI",
        notice="envshim: line one\n^x^y",
    )
    plan.values = {"MULTI": VALUES["MULTI"]}  # the revert script compares against it
    return plan


@pytest.mark.parametrize("label", sorted(SHELLS))
def test_multiline_values_survive_the_hook_script_read_as_typed_lines(label, tmp_path: Path):
    argv, shell, prelude = SHELLS[label]
    need(argv[0])
    script = hook.render_script(shell, _plan(), "/stamp\n^dir^x/s", "/stamp\n^dir^x/s-m")
    out, left = tmp_path / "ENV", tmp_path / "LEFT"
    # then leave in pure shell: the revert function (one line) restores what was there
    script = prelude + script + f"/usr/bin/env -0 > {out}\n"
    script += f"_envshim_revert\n/usr/bin/env -0 > {left}\n"
    proc = subprocess.run(
        argv,
        input=script.encode(),
        capture_output=True,
        env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "TERM": "dumb", "GONE": "was set"},
        timeout=60,
        cwd=tmp_path,
    )
    assert out.exists(), proc.stderr.decode(errors="replace")[-2000:]
    child = dict(item.split(b"=", 1) for item in out.read_bytes().split(b"\0") if b"=" in item)
    for key, value in VALUES.items():
        assert child.get(key.encode()) == value.encode(), (label, key, proc.stderr[-500:])
    assert b"GONE" not in child
    assert hook.State.decode(child[b"ENVSHIM_STATE"].decode()).root == "/p\nr/^o^j"
    assert b"line one\n^x^y" in proc.stderr  # the notice, printed whole
    after = dict(item.split(b"=", 1) for item in left.read_bytes().split(b"\0") if b"=" in item)
    assert b"MULTI" not in after
