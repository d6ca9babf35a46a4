"""mise's value language: a small Tera subset, then ``$VAR`` expansion.

Measured against mise 2026.9.15 (``mise env --json``):

* A value is rendered as a template only when it holds ``{{``, ``{%`` or ``{#``.
  Supported: ``{{ env.X }}`` (undefined is an error), ``{{ env?.X }}`` (also an
  error when undefined, as mise does), ``{{ env["X"] }}``, ``{{ vars.X }}`` (the
  same forms, over ``[vars]``), ``{{ config_root }}``, ``{{ cwd }}``, string
  literals, ``get_env(name=…, default=…)`` (which reads the environment mise
  started with, not earlier ``[env]`` entries), ``read_file(path=…)`` (relative to
  the directory of the config file, read as it is), the filters
  ``| default(value=…)`` (used only when the variable is undefined), ``| trim``,
  ``| trim_start``, ``| trim_end`` (Rust's whitespace, or ``pat=…``) and
  ``| replace(from=…, to=…)``, and ``{# comments #}``. Anything else (``exec()``,
  ``{% if %}``, other filters) is :class:`Unsupported`: the caller delegates the
  config to mise or reports it.
* The rendered text is then expanded: ``$NAME`` and ``${NAME}`` (left as written,
  with a warning, when undefined), ``${NAME:-word}`` (word when unset or empty),
  ``${NAME-word}`` (word when unset), ``$$`` → ``$``; the word is expanded too.
  A ``${`` closes at the ``}`` that balances it, counting nested ``${`` only and
  skipping ``$( … )`` (so ``${X:-$(echo })}`` is ``$(echo })``). Any other
  ``${…}`` form stays literal, as does a ``$`` before anything else.
"""

from __future__ import annotations

from collections.abc import Callable

# A lookup returns the value a name has so far, or None when it is undefined.
Lookup = Callable[[str], "str | None"]
# read_file(path=…): the text of a file named relative to the config's directory
Reader = Callable[[str], str]

# Rust's char::is_whitespace (the Unicode White_Space property), which Tera's trim uses
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


class Unsupported(Exception):
    """A construct envshim does not evaluate itself (``exec()``, ``{% if %}``, …)."""

    def __init__(self, construct: str) -> None:
        super().__init__(construct)
        self.construct = construct


class Undefined(Exception):
    """A template referenced a variable that is not defined (mise fails here too)."""

    def __init__(self, name: str, expr: str, kind: str = "env") -> None:
        super().__init__(name)
        self.name = name
        self.expr = expr
        self.kind = kind  # "env" or "vars": where the name was looked up


class TemplateError(Exception):
    """A function in a template failed (``read_file`` of a missing file); no value in it."""


def needs_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


# --- templates -----------------------------------------------------------------


class Scope:
    """What a template may see: the env so far, the process env, ``[vars]``, config_root,
    cwd, and ``read_file`` (``None``: not available here)."""

    __slots__ = ("config_root", "cwd", "env", "process", "read_file", "vars")

    def __init__(
        self,
        env: Lookup,
        process: Lookup,
        config_root: str,
        cwd: str,
        vars: Lookup | None = None,
        read_file: Reader | None = None,
    ) -> None:
        self.env = env
        self.process = process
        self.config_root = config_root
        self.cwd = cwd
        self.vars = vars if vars is not None else _no_vars
        self.read_file = read_file


def _no_vars(_name: str) -> str | None:
    return None


def render(text: str, scope: Scope) -> str:
    """Render the supported Tera subset; raise :class:`Unsupported` or :class:`Undefined`."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("{", i)
        if j < 0 or j + 1 >= n:
            out.append(text[i:])
            break
        nxt = text[j + 1]
        if nxt not in "{%#":
            out.append(text[i : j + 1])
            i = j + 1
            continue
        out.append(text[i:j])
        if nxt == "%":
            end = text.find("%}", j + 2)
            raise Unsupported(text[j : end + 2] if end >= 0 else text[j:])
        if nxt == "#":
            end = text.find("#}", j + 2)
            if end < 0:
                raise Unsupported(text[j:])
            i = end + 2
            continue
        end = text.find("}}", j + 2)
        expr = text[j + 2 : end] if end >= 0 else ""
        if end >= 0 and ("'" in expr or '"' in expr or "`" in expr):
            end = _close_expr(text, j + 2)  # a literal may hold "}}"
            expr = text[j + 2 : end] if end >= 0 else ""
        if end < 0:
            raise Unsupported(text[j:])
        if expr.startswith("-") or expr.endswith("-"):
            raise Unsupported("{{" + expr + "}}")  # whitespace control
        out.append(_eval_expr(expr.strip(), scope))
        i = end + 2
    return "".join(out)


def _simple(expr: str) -> tuple[str, str] | None:
    """The common forms without the parser: ('root'|'cwd'|'env', name)."""
    if expr == "config_root":
        return ("root", "")
    if expr == "cwd":
        return ("cwd", "")
    for kind in ("env", "vars"):
        for prefix in (kind + ".", kind + "?."):
            if expr.startswith(prefix):
                name = expr[len(prefix) :]
                if name and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name):
                    return (kind, name)
    return None


def _close_expr(text: str, start: int) -> int:
    """Index of the ``}}`` closing an expression, skipping string literals."""
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            k = text.find(c, i + 1)
            if k < 0:
                return -1
            i = k + 1
            continue
        if c == "}" and text.startswith("}}", i):
            return i
        i += 1
    return -1


class _Parser:
    """Recursive descent over one ``{{ … }}`` expression (the supported subset only)."""

    def __init__(self, expr: str, scope: Scope) -> None:
        self.s = expr
        self.i = 0
        self.scope = scope
        self.kind = "env"  # of the last name looked up, for the error

    def fail(self) -> Unsupported:
        return Unsupported("{{ " + self.s + " }}")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self, token: str) -> bool:
        self.ws()
        return self.s.startswith(token, self.i)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.i += len(token)
            return True
        return False

    def ident(self) -> str:
        self.ws()
        k = self.i
        while self.i < len(self.s) and (self.s[self.i] in _NAME_CHARS):
            self.i += 1
        return self.s[k : self.i]

    def string(self) -> str | None:
        self.ws()
        if self.i < len(self.s) and self.s[self.i] in "\"'`":
            q = self.s[self.i]
            k = self.s.find(q, self.i + 1)
            if k < 0:
                raise self.fail()
            value = self.s[self.i + 1 : k]
            self.i = k + 1
            return value
        return None

    def expression(self) -> str:
        value, name = self.primary()
        while self.take("|"):
            value = self.filter(value, name)
        self.ws()
        if self.i != len(self.s):
            raise self.fail()
        if value is None:
            raise self.undefined(name)
        return value

    def undefined(self, name: str) -> Undefined:
        return Undefined(name, "{{ " + self.s + " }}", self.kind)

    def filter(self, value: str | None, name: str) -> str | None:
        """One ``| name(args)``: only pure text filters."""
        fname = self.ident()
        kwargs = self.kwargs() if self.take("(") else {}
        if fname == "default":
            if set(kwargs) != {"value"}:
                raise self.fail()
            return kwargs["value"] if value is None else value
        if value is None:
            raise self.undefined(name)
        if fname in ("trim", "trim_start", "trim_end") and set(kwargs) <= {"pat"}:
            pat = kwargs.get("pat")
            if fname != "trim_end":
                value = _trim_start(value, pat)
            if fname != "trim_start":
                value = _trim_end(value, pat)
            return value
        if fname == "replace" and set(kwargs) == {"from", "to"}:
            return value.replace(kwargs["from"], kwargs["to"])
        raise self.fail()

    def kwargs(self) -> dict[str, str]:
        """``name=value, …)`` after the opening parenthesis; values are strings or env refs."""
        out: dict[str, str] = {}
        if self.take(")"):
            return out
        while True:
            name = self.ident()
            if not name or not self.take("="):
                raise self.fail()
            value, ref = self.primary()
            if value is None:
                raise self.undefined(ref)
            out[name] = value
            if self.take(")"):
                return out
            if not self.take(","):
                raise self.fail()

    def primary(self) -> tuple[str | None, str]:
        """(value or None when undefined, the name it refers to)."""
        literal = self.string()
        if literal is not None:
            return literal, ""
        self.ws()
        if self.i < len(self.s) and self.s[self.i] in "-0123456789":
            k = self.i
            self.i += 1
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
            if self.i < len(self.s) and self.s[self.i] == ".":
                raise self.fail()
            return self.s[k : self.i], ""
        name = self.ident()
        if name in ("env", "vars"):
            if self.take("?.") or self.take("."):
                key = self.ident()
            elif self.take("["):
                key = self.string() or ""
                if not self.take("]"):
                    raise self.fail()
            else:
                raise self.fail()
            if not key:
                raise self.fail()
            self.kind = name
            return (self.scope.env if name == "env" else self.scope.vars)(key), key
        if name == "config_root":
            return self.scope.config_root, name
        if name == "cwd":
            return self.scope.cwd, name
        if name == "get_env" and self.take("("):
            kwargs = self.kwargs()
            if "name" not in kwargs or not set(kwargs) <= {"name", "default"}:
                raise self.fail()
            found = self.scope.process(kwargs["name"])
            if found is None:
                if "default" not in kwargs:
                    self.kind = "env"
                    raise self.undefined(kwargs["name"])
                found = kwargs["default"]
            return found, kwargs["name"]
        if name == "read_file" and self.scope.read_file is not None and self.take("("):
            kwargs = self.kwargs()
            if set(kwargs) != {"path"}:
                raise self.fail()
            return self.scope.read_file(kwargs["path"]), ""
        raise self.fail()


def _trim_start(value: str, pat: str | None) -> str:
    if pat is None:
        return value.lstrip(RUST_WHITESPACE)
    while pat and value.startswith(pat):
        value = value[len(pat) :]
    return value


def _trim_end(value: str, pat: str | None) -> str:
    if pat is None:
        return value.rstrip(RUST_WHITESPACE)
    while pat and value.endswith(pat):
        value = value[: -len(pat)]
    return value


def _eval_expr(expr: str, scope: Scope) -> str:
    simple = _simple(expr)
    if simple is None:
        return _Parser(expr, scope).expression()
    kind, name = simple
    if kind == "root":
        return scope.config_root
    if kind == "cwd":
        return scope.cwd
    value = (scope.env if kind == "env" else scope.vars)(name)
    if value is None:
        raise Undefined(name, "{{ " + expr + " }}", kind)
    return value


def check_template(text: str) -> str | None:
    """The first construct envshim cannot render in ``text``, without evaluating anything."""
    probe = Scope(lambda _k: "", lambda _k: "", "", "", lambda _k: "", lambda _p: "")
    try:
        render(text, probe)
    except Unsupported as exc:
        return exc.construct
    except Undefined:
        return None
    return None


# --- $VAR expansion --------------------------------------------------------------


def expand(text: str, env: Lookup, undefined: list[str] | None = None) -> str:
    """mise's ``$VAR`` expansion of one rendered value (see the module docstring)."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if j + 1 >= n:
            out.append("$")
            break
        c = text[j + 1]
        if c == "$":
            out.append("$")
            i = j + 2
        elif c == "{":
            end = _braced_end(text, j + 2)
            if end < 0:
                out.append(text[j:])
                break
            out.append(_braced(text[j + 2 : end], text[j : end + 1], env, undefined))
            i = end + 1
        elif c in _NAME_START:
            k = j + 2
            while k < n and text[k] in _NAME_CHARS:
                k += 1
            name = text[j + 1 : k]
            value = env(name)
            if value is None:
                if undefined is not None:
                    undefined.append(name)
                out.append(text[j:k])
            else:
                out.append(value)
            i = k
        else:
            out.append("$")
            i = j + 1
    return "".join(out)


def _braced_end(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` before ``start``: nested ``${`` count, ``$( … )``
    is skipped whole, a lone ``{`` does not count (mise's read_braced_expr)."""
    depth = 1
    command = 0
    k = start
    n = len(text)
    while k < n:
        c = text[k]
        if command:
            if c == "(":
                command += 1
            elif c == ")":
                command -= 1
        elif c == "$" and k + 1 < n and text[k + 1] == "{":
            depth += 1
            k += 1
        elif c == "$" and k + 1 < n and text[k + 1] == "(":
            command = 1
            k += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return -1


def _braced(inner: str, whole: str, env: Lookup, undefined: list[str] | None) -> str:
    if not inner or inner[0] not in _NAME_START:
        return whole
    k = 1
    while k < len(inner) and inner[k] in _NAME_CHARS:
        k += 1
    name, op = inner[:k], inner[k:]
    value = env(name)
    if not op:
        if value is None:
            if undefined is not None:
                undefined.append(name)
            return whole
        return value
    if op.startswith(":-"):
        return value if value else expand(op[2:], env, undefined)
    if op.startswith("-"):
        return expand(op[1:], env, undefined) if value is None else value
    return whole
