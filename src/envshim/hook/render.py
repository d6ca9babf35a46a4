"""The scripts the hook evaluates, written by the shell renderers (``shells/``).

The slow path prints one script: it reverts the previous load and applies the
next one (``export``/``unset`` lines), exports the new ``ENVSHIM_STATE``, sets the
hook's shell variables (what to watch, the scope of the result, the names that
make a directory hold config) and leaves in ``_envshim_revert``, a variable the
shell does *not* export, the script that reverts this load. Leaving the project
evaluates that script in pure shell: no process.

The revert script compares each variable with the value this load gave it and
restores only those still equal (a variable changed by hand keeps the user's
value), and counts each one it restores (``__envshim_cnt``, the first names in
``__envshim_sum``; fish calls ``_envshim_note``), so the hook can print the same
summary as the slow path. Every value is quoted by the
renderer of the shell (one line per command, see shells/base.py).
"""

from __future__ import annotations

from .plan import SUMMARY_NAMES, Plan
from .state import STATE_VAR

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..shells.base import Renderer


def render_script(shell: str, plan: Plan, stamp: str, mstamp: str) -> str:
    """The slow path's script for ``eval`` (bash, zsh) or ``source`` (fish)."""
    from ..shells import get_renderer

    r = get_renderer(shell)
    q = r.quote
    lines = [r.unset(k) if v is None else r.export(k, v) for k, v in plan.emit.items()]
    lines.append(r.export(STATE_VAR, plan.state.encode()))
    shell_vars = {
        "_envshim_scope": [plan.scope or ""],
        "_envshim_cwddep": ["1" if plan.cwddep else "0"],
        "_envshim_names": plan.names,
        "_envshim_busy": plan.busy,
        "_envshim_watch": plan.watch,
        "_envshim_chain": [],
        "_envshim_stamp": [stamp],
        "_envshim_mstamp": [mstamp],
        "_envshim_revert": [revert_script(r, plan)],
    }
    arrays = {"_envshim_names", "_envshim_busy", "_envshim_watch", "_envshim_chain"}
    for name, words in shell_vars.items():
        quoted = " ".join(q(w) for w in words)
        if shell == "fish":
            lines.append(f"set -g {name} {quoted}".rstrip())
        elif name in arrays:
            lines.append(f"{name}=({quoted})")
        else:
            lines.append(f"{name}={quoted or q('')}")
    if shell == "fish":
        lines.append(f"set -g _envshim_state ${STATE_VAR}")
        quiet = 'test "$ENVSHIM_QUIET" = 1; or'
    else:
        lines.append(f"_envshim_state=${STATE_VAR}")
        quiet = '[ "${ENVSHIM_QUIET-}" = 1 ] ||'
    for line in (plan.notice, plan.error):
        if line:
            lines.append(f"printf '%s\\n' {q(line)} >&2")
    if plan.summary:
        lines.append(f"{quiet} printf '%s\\n' {q(plan.summary)} >&2")
    if plan.retry:  # the hook runs again after direnv's: load then, once
        if shell == "fish":
            lines.append("set -g _envshim_waited $_envshim_key; set -g _envshim_key")
        else:
            lines.append("_envshim_waited=$_envshim_key _envshim_key=")
    return "".join(line + "\n" for line in lines)


def revert_script(r: Renderer, plan: Plan) -> str:
    """The script that undoes this load in pure shell (see the module docstring)."""
    state = plan.state
    fish = r.name == "fish"
    plus, tilde, minus = [], [], []
    for name in sorted(state.prev):
        previous = state.prev[name]
        if name in state.unset:  # envshim unset it: restore it if it is still unset
            test = f"not set -q {name}" if fish else f"[[ -z ${{{name}+x}} ]]"
            plus.append(_when(r, test, r.export(name, previous or ""), "+" + name))
            continue
        value = r.quote(plan.values[name])
        if fish:
            test = f'set -q {name}; and test "${name}" = {value}'
        else:
            test = f"[[ -n ${{{name}+x}} && ${{{name}-}} == {value} ]]"
        if previous is None:
            minus.append(_when(r, test, r.unset(name), "-" + name))
        else:
            tilde.append(_when(r, test, r.export(name, previous), "~" + name))
    if not (state.prev or state.root or state.aside):
        return ""  # nothing loaded: leaving changes nothing
    # the counter at each group's end gives the counts when there are too many names
    mark = "set -g __envshim_g{} $__envshim_cnt" if fish else "__envshim_g{}=$__envshim_cnt"
    lines = [*plus, mark.format(1), *tilde, mark.format(2), *minus]
    lines.append(r.export(STATE_VAR, plan.revert_to.encode()))
    return "".join(line + "\n" for line in lines)


def _when(r: Renderer, test: str, action: str, item: str) -> str:
    note = r.quote(item)  # quoted: an unquoted ~NAME is tilde expansion
    if r.name == "fish":
        return f"if {test}; {action}; _envshim_note {note}; end"
    # counted inline: a zsh function call costs time in the number of variables
    count = f"if (( ++__envshim_cnt <= {SUMMARY_NAMES} )); then __envshim_sum+=' '{note}; fi"
    return f"if {test}; then {action}; {count}; fi"


__all__ = ["SUMMARY_NAMES", "render_script", "revert_script"]
