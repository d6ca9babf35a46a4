"""What differs between the shells in the slow path's script: how the hook's own variables
are assigned, how ``_envshim_revert`` is defined and called, and how a line is printed.

Values are always quoted by the shell's renderer (``shells/``); a dialect only writes
the surrounding syntax. bash and zsh share one (``Posix``); fish, elvish and tcsh have
their own. nushell has no string ``eval``: its hook reads JSON (``render.render_nu``).
"""

from __future__ import annotations

import os

from .state import STATE_VAR

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from ..shells.base import Renderer
    from .plan import Plan

# zsh parses one line of many commands in time quadratic in their number: the revert
# function of a big load is written as chunks of this many commands, one line each.
CHUNK = 200
TCSH_CHUNK = 100


class Entry:
    """One variable to restore: the test that it still holds what the load left, and
    the action that restores it."""

    __slots__ = ("action", "assignment", "cond", "item", "kind", "name", "value")

    def __init__(
        self,
        name: str,
        kind: str,
        cond: str,
        action: str,
        assignment: str,
        item: str,
        value: str | None = None,
    ) -> None:
        self.name = name
        self.value = value  # what the load set (None: it unset the variable)
        self.kind = kind  # "+" (envshim unset it), "~" (changed), "-" (created)
        self.cond = cond  # in the dialect's condition syntax
        self.action = action  # the renderer's export/unset line
        self.assignment = assignment  # NAME=quoted, for a batched export ("" for an unset)
        self.item = item  # what the summary shows: +NAME ~NAME -NAME


class Dialect:
    """bash and zsh."""

    terminator = ""  # appended to every line (tcsh reads the script as one line)

    def cond_unset(self, name: str) -> str:
        return f"-z ${{{name}+x}}"

    def cond_value(self, r: Renderer, name: str, value: str) -> str:
        if value:  # an unset variable expands to "", which is not the value
            return f"${{{name}-}} == {r.quote(value)}"
        return f"-n ${{{name}+x}} && -z ${{{name}-}}"

    def one(self, r: Renderer, e: Entry) -> str:
        """Restore one variable if it still holds what the load left, else note it as
        changed by hand (quoted: an unquoted ~NAME is tilde expansion)."""
        return f"[[ {e.cond} ]] && {e.action} || __envshim_h+=({r.quote(e.item)})"

    def commands(self, r: Renderer, groups: list[list[Entry]]) -> list[str]:
        """Up to :data:`CHUNK` variables of one group are tested in one ``[[ ]]`` and
        restored by one ``unset``/``export`` (a third faster than one command each); only
        when one of them was changed by hand are they restored one by one."""
        out: list[str] = []
        for group in groups:
            for start in range(0, len(group), CHUNK):
                chunk = group[start : start + CHUNK]
                if len(chunk) == 1:
                    out.append(self.one(r, chunk[0]))
                    continue
                conds = " && ".join(e.cond for e in chunk)
                if chunk[0].assignment:
                    batch = "export " + " ".join(e.assignment for e in chunk)
                else:
                    batch = "unset " + " ".join(e.name for e in chunk)
                each = "; ".join(self.one(r, e) for e in chunk)
                out.append(f"if [[ {conds} ]]; then {batch}; else {each}; fi")
        return out

    def assign(self, r: Renderer, name: str, words: list[str], array: bool) -> str:
        quoted = " ".join(r.quote(w) for w in words)
        return f"{name}=({quoted})" if array else f"{name}={quoted or r.quote('')}"

    def define_revert(self, commands: list[str], many: bool) -> list[str]:
        """``_envshim_revert``: for a big load, one function per command (a group of up to
        :data:`CHUNK` variables), each on its own line."""
        if not many:
            return [f"_envshim_revert() {{ {'; '.join(commands)}; }}"]
        lines, calls = [], []
        for i, command in enumerate(commands):
            lines.append(f"_envshim_revert_{i}() {{ {command}; }}")
            calls.append(f"_envshim_revert_{i}")
        lines.append(f"_envshim_revert() {{ {'; '.join(calls)}; }}")
        return lines

    def after(self, loaded: str, state_var: str) -> list[str]:
        """Whether leaving has anything to do, and the state this shell's load wrote."""
        return [f"_envshim_loaded={loaded}", f"_envshim_state=${state_var}"]

    def say(self, quoted: str) -> str:
        return f"printf '%s\\n' {quoted} >&2"

    def say_unless_quiet(self, quoted: str) -> str:
        return f'[ "${{ENVSHIM_QUIET-}}" = 1 ] || {self.say(quoted)}'

    def retry(self) -> str:
        return "_envshim_waited=$_envshim_key _envshim_key="

    def hook_state(
        self,
        r: Renderer,
        plan: Plan,
        shell_vars: dict[str, list[str]],
        revert: list[str],
        loaded: bool,
    ) -> list[str]:
        """The hook's own variables and the revert, after the variables are applied."""
        lines = [self.assign(r, n, w, n in ARRAYS) for n, w in shell_vars.items()]
        return lines + revert + self.after("1" if loaded else "0", STATE_VAR)


ARRAYS = frozenset(
    {"_envshim_names", "_envshim_busy", "_envshim_watch", "_envshim_chain", "_envshim_counts"}
)


class Fish(Dialect):
    def cond_unset(self, name: str) -> str:
        return f"not set -q {name}"

    def cond_value(self, r: Renderer, name: str, value: str) -> str:
        return f'set -q {name}; and test "${name}" = {r.quote(value)}'

    def one(self, r: Renderer, e: Entry) -> str:
        note = r.quote(e.item)
        return f"if {e.cond}; {e.action}; else; set -g -a __envshim_h {note}; end"

    def commands(self, r: Renderer, groups: list[list[Entry]]) -> list[str]:
        return [self.one(r, e) for group in groups for e in group]

    def assign(self, r: Renderer, name: str, words: list[str], array: bool) -> str:
        return f"set -g {name} {' '.join(r.quote(w) for w in words)}".rstrip()

    def define_revert(self, commands: list[str], many: bool) -> list[str]:
        return ["function _envshim_revert", *commands, "end"]

    def after(self, loaded: str, state_var: str) -> list[str]:
        return [f"set -g _envshim_loaded {loaded}", f"set -g _envshim_state ${state_var}"]

    def say_unless_quiet(self, quoted: str) -> str:
        return f'test "$ENVSHIM_QUIET" = 1; or {self.say(quoted)}'

    def retry(self) -> str:
        return "set -g _envshim_waited $_envshim_key; set -g _envshim_key"


class Elvish(Dialect):
    """elvish evaluates the script with ``eval`` in a namespace of its own, so the script
    cannot assign the hook's variables: it ends with one map (``put``) that the hook keeps,
    holding those variables and ``revert``, a closure (never exported). The closure puts
    the summary item of every variable changed by hand since the load.

    elvish cannot read a file's time: the hook compares the text of the watched files,
    the names in the watched directories and the absence of the watched missing paths
    (``watch``: a map of the three lists) with what they were after the load."""

    def cond_unset(self, name: str) -> str:
        return f"(not (has-env {name}))"

    def cond_value(self, r: Renderer, name: str, value: str) -> str:
        if value:  # an unset variable reads as "", which is not the value
            return f"(eq $E:{name} {r.quote(value)})"
        return f"(and (has-env {name}) (eq $E:{name} ''))"

    def one(self, r: Renderer, e: Entry) -> str:
        return f"if {e.cond} {{ {e.action} }} else {{ put {r.quote(e.item)} }}"

    def commands(self, r: Renderer, groups: list[list[Entry]]) -> list[str]:
        """As bash's: the variables of one group that the load set are compared all at
        once, as two lists (an elvish block, or ``and`` over many conditions, costs tens
        of microseconds each), and restored without a block each; one by one only when
        one of them was changed by hand."""
        out: list[str] = []
        for group in groups:
            for start in range(0, len(group), CHUNK):
                chunk = group[start : start + CHUNK]
                if len(chunk) == 1 or chunk[0].value is None:
                    out.extend(self.one(r, e) for e in chunk)
                    continue
                now = " ".join(f"$E:{e.name}" for e in chunk)
                was = " ".join(r.quote(e.value or "") for e in chunk)
                cond = f"(eq [{now}] [{was}])"
                empty = [f"(has-env {e.name})" for e in chunk if not e.value]
                if empty:
                    cond = f"(and {cond} {' '.join(empty)})"
                # one command a line: elvish runs `a; b` many times slower than a newline
                batch = "\n".join(e.action for e in chunk)
                each = "\n".join(self.one(r, e) for e in chunk)
                out.append(f"if {cond} {{\n{batch}\n}} else {{\n{each}\n}}")
        return out

    def say(self, quoted: str) -> str:
        return f"echo {quoted} >&2"

    def say_unless_quiet(self, quoted: str) -> str:
        return f"if (not-eq $E:ENVSHIM_QUIET 1) {{ {self.say(quoted)} }}"

    def retry(self) -> str:  # the elvish hook never waits for direnv's (see envshim.elv)
        return ""

    def hook_state(
        self,
        r: Renderer,
        plan: Plan,
        shell_vars: dict[str, list[str]],
        revert: list[str],
        loaded: bool,
    ) -> list[str]:
        q = r.quote
        items = [f"&loaded=${'true' if loaded else 'false'}"]
        for name, words in shell_vars.items():
            if name in ("_envshim_watch", "_envshim_chain", "_envshim_stamp", "_envshim_mstamp"):
                continue  # elvish compares contents, not file times (see envshim.elv)
            key = name.removeprefix("_envshim_")
            if name in ARRAYS:
                items.append(f"&{key}=[{' '.join(q(w) for w in words)}]")
            else:
                items.append(f"&{key}={q(words[0])}")
        files, dirs, missing = compare_lists(plan.compare)
        watch = " ".join(
            f"&{key}=[{' '.join(q(p) for p in paths)}]"
            for key, paths in (("files", files), ("dirs", dirs), ("missing", missing))
        )
        items.append(f"&watch=[{watch}]")
        return ["put [" + " ".join(items), *revert, "]"]

    def define_revert(self, commands: list[str], many: bool) -> list[str]:
        return ["&revert={||", *commands, "}"]


def compare_lists(paths: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The paths a shell without file times compares, as regular files (their text),
    directories (their names) and missing paths (their absence). A missing path whose
    nearest existing directory is among the directories is left out: that directory's
    names show it being created."""
    files, dirs, missing = [], [], []
    for path in paths:
        if os.path.isfile(path):
            files.append(path)
        elif os.path.isdir(path):
            dirs.append(path)
        else:
            missing.append(path)
    listed = set(dirs)

    def shown(path: str) -> bool:
        parent = os.path.dirname(path)
        while not os.path.isdir(parent) and parent != os.path.dirname(parent):
            parent = os.path.dirname(parent)
        return parent in listed

    return files, dirs, [p for p in missing if not shown(p)]


class Tcsh(Dialect):
    """tcsh reads the script as one line (``eval "`…`"`` turns newlines into spaces), so
    every command ends with ``;`` and nothing spans lines. The revert is an alias. tcsh
    expands every variable of a one-line ``if`` before testing it (an unset one is an
    error), and an alias cannot hold a value with quotes safely, so the values the load
    set and the previous ones live in shell variables (``_envshim_v_NAME``,
    ``_envshim_p_NAME``: never exported, removed on leaving) and the alias compares
    variable to variable, the comparison deferred with ``eval``."""

    terminator = ";"

    def cond_unset(self, name: str) -> str:
        return ""

    def cond_value(self, r: Renderer, name: str, value: str) -> str:
        return ""

    def one(self, r: Renderer, e: Entry) -> str:
        n, note = e.name, r.quote(e.item)
        noted = f"set __envshim_h = ( $__envshim_h:q {note} )"
        if e.kind == "+":  # envshim unset it: restore it if it is still unset
            return (
                f"set __envshim_k = $?{n}; if ( $__envshim_k == 0 ) setenv {n} "
                f'"$_envshim_p_{n}"; if ( $__envshim_k ) {noted}'
            )
        restore = f'setenv {n} "$_envshim_p_{n}"' if e.kind == "~" else f"unsetenv {n}"
        test = f'if ( "${n}" == "$_envshim_v_{n}" ) set __envshim_k = 2'
        return (
            f"set __envshim_k = $?{n}; if ( $__envshim_k ) eval {r.quote(test)}; "
            f"if ( $__envshim_k == 2 ) {restore}; if ( $__envshim_k < 2 ) {noted}"
        )

    def commands(self, r: Renderer, groups: list[list[Entry]]) -> list[str]:
        """One command per :data:`TCSH_CHUNK` variables of a group. The variables the load
        set are compared at once (one ``eval`` instead of one each; tcsh's setenv and
        unsetenv, each in time with the size of the environment, remain) and restored;
        one by one only when one of them was changed by hand."""
        out: list[str] = []
        for group in groups:
            for start in range(0, len(group), TCSH_CHUNK):
                chunk = group[start : start + TCSH_CHUNK]
                each = "; ".join(self.one(r, e) for e in chunk)
                if len(chunk) == 1 or chunk[0].kind == "+":
                    out.append(each)
                    continue
                present = " && ".join(f"$?{e.name}" for e in chunk)
                same = " && ".join(f'"${e.name}" == "$_envshim_v_{e.name}"' for e in chunk)
                test = f"if ( {same} ) set __envshim_k = 1"
                batch = "; ".join(
                    f'setenv {e.name} "$_envshim_p_{e.name}"'
                    if e.kind == "~"
                    else f"unsetenv {e.name}"
                    for e in chunk
                )
                out.append(
                    f"set __envshim_k = 0; if ( {present} ) eval {_sq(test)}; "
                    f"if ( $__envshim_k == 1 ) eval {_sq(batch)}; "
                    f"if ( $__envshim_k == 0 ) eval {_sq(each)}"
                )
        return out

    def assign(self, r: Renderer, name: str, words: list[str], array: bool) -> str:
        quoted = " ".join(r.quote(w) if w else "''" for w in words)
        return f"set {name} = ( {quoted} )" if array else f"set {name} = {quoted or repr('')}"

    def hook_state(
        self,
        r: Renderer,
        plan: Plan,
        shell_vars: dict[str, list[str]],
        revert: list[str],
        loaded: bool,
    ) -> list[str]:
        lines = ["unset _envshim_v_* _envshim_p_*", "unalias _envshim_revert_*"]  # the last load's
        stamp = shell_vars.pop("_envshim_stamp")
        for name, words in shell_vars.items():
            lines.append(self.assign(r, name, words, name in ARRAYS))
        # tcsh reads file times in whole seconds (filetest -M): a watched path counts as
        # changed when its second is not before the second the load started in
        lines.append(f"set _envshim_stamp = {stamp[0] or 0}")
        checks = [
            f'if ( -M "$_envshim_watch[{i}]" >= $_envshim_stamp ) set _envshim_d = 2'
            for i in range(1, len(plan.watch) + 1)
        ]
        lines.append(f"alias _envshim_w {r.quote('; '.join(checks) or ':')}")
        lines.append("alias _envshim_c ':'")
        for name in sorted(plan.state.prev):
            if name in plan.values:
                lines.append(f"set _envshim_v_{name} = {_tq(r, plan.values[name])}")
            previous = plan.state.prev[name]
            if previous is not None:
                lines.append(f"set _envshim_p_{name} = {_tq(r, previous)}")
        return lines + revert + self.after("1" if loaded else "0", STATE_VAR)

    def define_revert(self, commands: list[str], many: bool) -> list[str]:
        """The revert: one alias per command (up to :data:`TCSH_CHUNK` variables), named
        in order in ``_envshim_reverts`` (the hook evaluates each in turn: tcsh expands an
        alias that runs aliases into one line, and crashes on a line of a few thousand
        commands)."""
        *each, last = commands  # the last one sets the state after leaving
        chunks = [[command] for command in each]
        chunks.append([last, "unset _envshim_v_* _envshim_p_*"])
        lines, names = [], []
        for i, chunk in enumerate(chunks):
            lines.append(f"alias _envshim_revert_{i} {_tq_text('; '.join(chunk))}")
            names.append(f"_envshim_revert_{i}")
        return [*lines, f"set _envshim_reverts = ( {' '.join(names)} )"]

    def after(self, loaded: str, state_var: str) -> list[str]:
        return [f"set _envshim_loaded = {loaded}", f'set _envshim_state = "${state_var}"']

    def say(self, quoted: str) -> str:
        # printed by the hook (envshim.tcsh) with echo_style set so that no backslash is
        # interpreted; one word per line
        return f"set _envshim_msgs = ( $_envshim_msgs:q {quoted} )"

    def say_unless_quiet(self, quoted: str) -> str:
        return f"set _envshim_summary = {quoted}"

    def retry(self) -> str:
        return 'set _envshim_waited = "$_envshim_key"; set _envshim_key = ""'


def _tq(r: Renderer, value: str) -> str:
    return r.quote(value) if value else "''"


def _sq(text: str) -> str:
    """``text`` as one single-quoted tcsh word (it holds no ``!`` and no newline)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _tq_text(text: str) -> str:
    """A tcsh word holding ``text`` (the alias body): single quotes, ``'`` written outside
    them. The body holds no ``!`` (an alias reads ``!`` as its arguments) and no value."""
    if "!" in text or "\n" in text:  # pragma: no cover - the dialect never writes one
        raise ValueError("an alias body cannot hold '!' or a newline")
    return "'" + text.replace("'", "'\\''") + "'"


DIALECTS: dict[str, Dialect] = {
    "bash": Dialect(),
    "zsh": Dialect(),
    "fish": Fish(),
    "elvish": Elvish(),
    "tcsh": Tcsh(),
}
