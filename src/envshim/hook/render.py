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
shell, one command per line (see shells/base.py); what differs between the shells
around them is in ``dialects.py``. nushell cannot ``eval`` a string: it gets the same
content as JSON (:func:`render_nu`), which its hook applies with ``load-env``/``hide-env``.
"""

from __future__ import annotations

from .dialects import CHUNK, DIALECTS, Entry
from .plan import SUMMARY_NAMES, Plan, summary_of
from .state import STATE_VAR

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..shells.base import Renderer


def render_script(shell: str, plan: Plan, stamp: str, mstamp: str, started: int = 0) -> str:
    """The slow path's script for ``eval`` (bash, zsh, elvish, tcsh) or ``source`` (fish);
    for nushell, JSON. ``started``: when the load started reading (ns since the epoch),
    for the shells that compare file times with a number instead of the stamp file."""
    if shell == "nu":
        return render_nu(plan, started)
    from ..shells import get_renderer

    r = get_renderer(shell)
    d = DIALECTS[shell]
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
        "_envshim_stamp": [str(started // 10**9) if shell == "tcsh" and stamp else stamp],
        "_envshim_mstamp": [mstamp],
        "_envshim_said": [said],
        "_envshim_counts": [str(c) for c in counts],
    }
    lines.extend(d.hook_state(r, plan, shell_vars, revert_definition(r, plan), _loaded(plan)))
    for line in (plan.notice, plan.error):
        if line:
            lines.append(d.say(q(line)))
    if plan.summary:
        lines.append(d.say_unless_quiet(q(plan.summary)))
    if plan.retry:  # the hook runs again after direnv's: load then, once
        lines.append(d.retry())
    return "".join(line + d.terminator + "\n" for line in lines if line)


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


def _entries(r: Renderer, plan: Plan) -> list[list[Entry]]:
    """The variables this load changed, in summary groups (``+``, ``~``, ``-``)."""
    state = plan.state
    d = DIALECTS[r.name]
    plus, tilde, minus = [], [], []
    for name in sorted(state.prev):
        previous = state.prev[name]
        if name in state.unset:  # envshim unset it: restore it if it is still unset
            assignment = f"{name}={r.quote(previous or '')}"
            action = r.export(name, previous or "")
            plus.append(Entry(name, "+", d.cond_unset(name), action, assignment, "+" + name))
            continue
        value = plan.values[name]
        cond = d.cond_value(r, name, value)
        if previous is None:
            minus.append(Entry(name, "-", cond, r.unset(name), "", "-" + name, value))
        else:
            assignment = f"{name}={r.quote(previous)}"
            action = r.export(name, previous)
            tilde.append(Entry(name, "~", cond, action, assignment, "~" + name, value))
    return [plus, tilde, minus]


def revert_commands(r: Renderer, plan: Plan) -> list[str]:
    """The commands that restore what this load changed, in summary order (each shell's
    own form: see ``dialects.py``)."""
    return DIALECTS[r.name].commands(r, _entries(r, plan))


def revert_definition(r: Renderer, plan: Plan) -> list[str]:
    """The lines that define ``_envshim_revert`` (elvish: the ``revert`` closure)."""
    commands = revert_commands(r, plan) if _loaded(plan) else []
    commands.append(r.export(STATE_VAR, plan.revert_to.encode()))
    return DIALECTS[r.name].define_revert(commands, len(plan.state.prev) > CHUNK)


def render_nu(plan: Plan, started: int) -> str:
    """nushell's JSON: what to set and hide now, the hook's own state, and the revert as
    data (the hook compares and restores in nushell; it keeps it in a record-valued
    ``$env`` entry, which nushell never passes to a child process)."""
    from ..shells.json import json_string as js

    state = plan.state
    said, counts = leave_summary(plan)
    revert = []
    if _loaded(plan):
        order = {"+": 0, "~": 1, "-": 2}  # the summary's order, as the other shells revert
        kinds = {n: "+" if n in state.unset else "-" if p is None else "~"
                 for n, p in state.prev.items()}  # fmt: skip
        for name in sorted(state.prev, key=lambda n: (order[kinds[n]], n)):
            kind, previous = kinds[name], state.prev[name]
            value = "null" if kind == "+" else js(plan.values[name])
            prev = "null" if previous is None else js(previous)
            revert.append(f'{{"kind":"{kind}","name":{js(name)},"value":{value},"prev":{prev}}}')

    def strings(words: list[str]) -> str:
        return "[" + ",".join(js(w) for w in words) + "]"

    sets = {k: v for k, v in plan.emit.items() if v is not None}
    sets[STATE_VAR] = state.encode()
    say = [line for line in (plan.notice, plan.error) if line]
    fields = [
        '"set":{' + ",".join(f"{js(k)}:{js(v)}" for k, v in sets.items()) + "}",
        '"hide":' + strings([k for k, v in plan.emit.items() if v is None]),
        '"say":' + strings(say),
        '"summary":' + js(plan.summary),
        '"retry":' + ("true" if plan.retry else "false"),
        '"scope":' + js(plan.scope or ""),
        '"cwddep":' + ("true" if plan.cwddep else "false"),
        '"names":' + strings(plan.names),
        '"busy":' + strings(plan.busy),
        '"watch":' + strings(plan.watch),
        f'"stamp":{started}',
        '"said":' + js(said),
        '"counts":[' + ",".join(str(c) for c in counts) + "]",
        '"loaded":' + ("true" if _loaded(plan) else "false"),
        '"revert":[' + ",".join(revert) + "]",
        '"revert_state":' + js(plan.revert_to.encode()),
    ]
    return "{" + ",\n".join(fields) + "}\n"


__all__ = ["SUMMARY_NAMES", "leave_summary", "render_nu", "render_script", "revert_commands"]
