"""The scripts the hook evaluates, written by the shell renderers (``shells/``).

The slow path prints one script: it reverts the previous load and applies the
next one (``export``/``unset`` lines), exports the new ``ENVSHIM_STATE``, sets the
hook's shell variables (what to watch, the scope of the result, the names that
make a directory hold config) and defines ``_envshim_revert``, a shell function
(never exported, so no child inherits it) that reverts this load. Leaving the
project calls it in pure shell: no process. A function rather than a variable to
``eval``: it is parsed once, at the load, so leaving a project of 200 variables
costs a few hundred microseconds instead of the milliseconds of parsing it again.

The revert compares each variable with the value this load gave it and restores
only those still equal; a variable changed by hand keeps the user's value and is
noted in ``__envshim_h`` (with the sign the summary would have shown), so the
hook can print the same summary as the slow path: ``_envshim_said``, computed
here, less what was changed by hand. Every value is quoted by the renderer of the
shell, one command per line (see shells/base.py).
"""

from __future__ import annotations

from .plan import SUMMARY_NAMES, Plan, summary_of
from .state import STATE_VAR

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..shells.base import Renderer

# zsh parses one line of many commands in time quadratic in their number: the revert
# function of a big load is written as chunks of this many commands, one line each.
CHUNK = 200


def render_script(shell: str, plan: Plan, stamp: str, mstamp: str) -> str:
    """The slow path's script for ``eval`` (bash, zsh) or ``source`` (fish)."""
    from ..shells import get_renderer

    r = get_renderer(shell)
    q = r.quote
    lines = [r.unset(k) if v is None else r.export(k, v) for k, v in plan.emit.items()]
    lines.append(r.export(STATE_VAR, plan.state.encode()))
    said, counts = leave_summary(plan)
    shell_vars = {
        "_envshim_scope": [plan.scope or ""],
        "_envshim_cwddep": ["1" if plan.cwddep else "0"],
        "_envshim_names": plan.names,
        "_envshim_busy": plan.busy,
        "_envshim_watch": plan.watch,
        "_envshim_chain": [],
        "_envshim_stamp": [stamp],
        "_envshim_mstamp": [mstamp],
        "_envshim_said": [said],
        "_envshim_counts": [str(c) for c in counts],
    }
    arrays = {"_envshim_names", "_envshim_busy", "_envshim_watch", "_envshim_chain"}
    arrays.add("_envshim_counts")
    for name, words in shell_vars.items():
        quoted = " ".join(q(w) for w in words)
        if shell == "fish":
            lines.append(f"set -g {name} {quoted}".rstrip())
        elif name in arrays:
            lines.append(f"{name}=({quoted})")
        else:
            lines.append(f"{name}={quoted or q('')}")
    lines.extend(revert_definition(r, plan))
    loaded = "1" if _loaded(plan) else "0"
    if shell == "fish":
        lines.append(f"set -g _envshim_loaded {loaded}")
        lines.append(f"set -g _envshim_state ${STATE_VAR}")
        quiet = 'test "$ENVSHIM_QUIET" = 1; or'
    else:
        lines.append(f"_envshim_loaded={loaded}")
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


def _loaded(plan: Plan) -> bool:
    """Whether leaving changes anything: variables to restore, or a state to reset."""
    state = plan.state
    return bool(state.prev or state.root or state.aside)


def leave_summary(plan: Plan) -> tuple[str, tuple[int, int, int]]:
    """What leaving prints when nothing was changed by hand, and the count per sign."""
    state = plan.state
    plus = [f"+{n}" for n in sorted(state.unset)]
    tilde = [f"~{n}" for n in sorted(state.prev) if n not in state.unset and state.prev[n]]
    minus = [f"-{n}" for n in sorted(state.prev) if state.prev[n] is None]
    return summary_of(plus, tilde, minus), (len(plus), len(tilde), len(minus))


class _Entry:
    """One variable to restore: the test that it still holds what the load left, and
    the action that restores it."""

    __slots__ = ("action", "assignment", "cond", "item", "name")

    def __init__(self, name: str, cond: str, action: str, assignment: str, item: str) -> None:
        self.name = name
        self.cond = cond  # inside [[ ]] (bash, zsh) or a fish condition
        self.action = action  # the renderer's export/unset line
        self.assignment = assignment  # NAME=quoted, for a batched export ("" for an unset)
        self.item = item  # what the summary shows: +NAME ~NAME -NAME


def _entries(r: Renderer, plan: Plan) -> list[list[_Entry]]:
    """The variables this load changed, in summary groups (``+``, ``~``, ``-``)."""
    state = plan.state
    fish = r.name == "fish"
    plus, tilde, minus = [], [], []
    for name in sorted(state.prev):
        previous = state.prev[name]
        if name in state.unset:  # envshim unset it: restore it if it is still unset
            cond = f"not set -q {name}" if fish else f"-z ${{{name}+x}}"
            assignment = f"{name}={r.quote(previous or '')}"
            plus.append(_Entry(name, cond, r.export(name, previous or ""), assignment, "+" + name))
            continue
        value = plan.values[name]
        if fish:
            cond = f'set -q {name}; and test "${name}" = {r.quote(value)}'
        elif value:  # an unset variable expands to "", which is not the value
            cond = f"${{{name}-}} == {r.quote(value)}"
        else:
            cond = f"-n ${{{name}+x}} && -z ${{{name}-}}"
        if previous is None:
            minus.append(_Entry(name, cond, r.unset(name), "", "-" + name))
        else:
            assignment = f"{name}={r.quote(previous)}"
            tilde.append(_Entry(name, cond, r.export(name, previous), assignment, "~" + name))
    return [plus, tilde, minus]


def _one(r: Renderer, e: _Entry) -> str:
    """Restore one variable if it still holds what the load left, else note it as changed
    by hand (quoted: an unquoted ~NAME is tilde expansion)."""
    note = r.quote(e.item)
    if r.name == "fish":
        return f"if {e.cond}; {e.action}; else; set -g -a __envshim_h {note}; end"
    return f"[[ {e.cond} ]] && {e.action} || __envshim_h+=({note})"


def revert_commands(r: Renderer, plan: Plan) -> list[str]:
    """The commands that restore what this load changed, in summary order. In bash and
    zsh, up to :data:`CHUNK` variables of one group are tested in one ``[[ ]]`` and
    restored by one ``unset``/``export`` (a third faster than one command each); only
    when one of them was changed by hand are they restored one by one."""
    out: list[str] = []
    for group in _entries(r, plan):
        if r.name == "fish":
            out.extend(_one(r, e) for e in group)
            continue
        for start in range(0, len(group), CHUNK):
            chunk = group[start : start + CHUNK]
            if len(chunk) == 1:
                out.append(_one(r, chunk[0]))
                continue
            conds = " && ".join(e.cond for e in chunk)
            if chunk[0].assignment:
                batch = "export " + " ".join(e.assignment for e in chunk)
            else:
                batch = "unset " + " ".join(e.name for e in chunk)
            each = "; ".join(_one(r, e) for e in chunk)
            out.append(f"if [[ {conds} ]]; then {batch}; else {each}; fi")
    return out


def revert_definition(r: Renderer, plan: Plan) -> list[str]:
    """The lines that define ``_envshim_revert``: for a big load, one function per command
    (a group of up to :data:`CHUNK` variables), each on its own line."""
    commands = revert_commands(r, plan) if _loaded(plan) else []
    commands.append(r.export(STATE_VAR, plan.revert_to.encode()))
    if r.name == "fish":
        return ["function _envshim_revert", *commands, "end"]
    if len(plan.state.prev) <= CHUNK:
        return [f"_envshim_revert() {{ {'; '.join(commands)}; }}"]
    lines, calls = [], []
    for i, command in enumerate(commands):
        lines.append(f"_envshim_revert_{i}() {{ {command}; }}")
        calls.append(f"_envshim_revert_{i}")
    lines.append(f"_envshim_revert() {{ {'; '.join(calls)}; }}")
    return lines


__all__ = ["SUMMARY_NAMES", "leave_summary", "render_script", "revert_commands"]
