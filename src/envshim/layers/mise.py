"""The mise layer: every mise config that applies to the directory, evaluated as mise does.

Files come from :mod:`.mise_discovery` (lowest first), each is read by
:mod:`.mise_config`, and every ``[env]`` entry is applied in written order
(``_.file`` and ``_.path`` at the place of the first ``_.`` key of a table, as
TOML orders them). Values follow :mod:`.mise_template`; ``_.file`` follows
:mod:`.mise_files`. Rules measured against mise 2026.9.15:

* strings are templated then ``$``-expanded; integers become text; ``true`` is
  ``"true"``; ``false`` (or ``{ value = false }``) unsets; a float, an array or a
  table without ``value``/``default``/``required``/``age`` is an error;
* ``{ default = … }`` applies only when the variable is unset or empty;
* ``{ required = true | "help" }`` is checked once every layer is applied (so a
  secret or a later config may satisfy it); all missing names are reported;
* ``{ age = … }`` is decrypted in memory and marked secret; ``redact = true``
  marks a value secret; a value built from a secret variable is secret too;
* ``_.path`` entries are prepended (a later file's in front), but, as in mise,
  later templates and ``$PATH`` see the ``PATH`` without them;
* ``_.envshim = {…}`` is where the team and user layers enter.

Anything else (``exec()``, ``_.source``, ``_.python.venv``, other Tera) is never
run by envshim: with ``mise`` on ``PATH`` the whole mise layer is taken from
``mise env --json`` (mise evaluates its chain as one), otherwise it is an error
naming the file, the line and the construct.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ConfigError, MissingRequiredError
from ..layers.base import LayerContext
from ..merge import Merger
from ..model import MISE, Origin
from ..parsecache import ParseCache
from .mise_config import CACHE_NAMESPACE, EnvTable, MiseConfig, config_root, read_config
from .mise_discovery import discover
from .mise_template import (
    Scope,
    Undefined,
    Unsupported,
    check_template,
    expand,
    needs_template,
    render,
)

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

_DIRECTIVES = ("file", "path", "envshim")
_VALUE_KEYS = frozenset({"value", "default", "required", "age", "redact", "tools", "format"})


def apply_mise(
    ctx: LayerContext,
    merger: Merger,
    enter_secrets: Callable[[Mapping[str, Any] | None], None],
) -> None:
    """Apply every `[env]` entry in mise's order; call ``enter_secrets`` where `_.envshim` stands."""
    configs = load_configs(ctx)
    if not configs:
        return
    # Without `_.envshim` nothing irreversible happens during evaluation, so an
    # unsupported construct found on the way restarts cleanly in mise; with it,
    # look for one first (the team and user layers cannot be un-applied).
    blocked = first_unsupported(configs) if _has_directive(configs, "envshim") else None
    if blocked is not None:
        _delegate(ctx, merger, configs, blocked)
        return
    evaluator = _Evaluator(ctx, merger, enter_secrets)
    snapshot = (dict(merger.vars), list(merger.path_entries), len(ctx.warnings))
    try:
        evaluator.run(configs)
    except _Blocked as exc:
        if evaluator.entered:  # secrets are applied already: no clean restart
            raise _unsupported_error(exc.where, mise=False) from None
        merger.vars, merger.path_entries = snapshot[0], snapshot[1]
        del ctx.warnings[snapshot[2] :]
        _delegate(ctx, merger, configs, exc.where)
        return
    # Required variables may come from the team or user layers: apply them first
    # (resolve() calls enter_secrets again afterwards, which is then a no-op).
    enter_secrets(None)
    evaluator.check_required()


def _has_directive(configs: list[MiseConfig], name: str) -> bool:
    return any(
        isinstance(t.data.get("_"), dict) and name in t.data["_"] for c in configs for t in c.tables
    )


def load_configs(ctx: LayerContext) -> list[MiseConfig]:
    """Read every config that applies to ``ctx.cwd``, recording files and watched paths."""
    watch: list[str] = []
    found = discover(str(ctx.cwd), ctx.profiles, ctx.environ, watch)
    ctx.watch.extend(Path(w) for w in watch)
    if not found:
        return []
    home = ctx.environ.get("HOME")
    cache = ParseCache.for_environ(ctx.environ, CACHE_NAMESPACE)
    configs = []
    for item in found:
        path = Path(item.path)
        data = ctx.read_bytes(path)  # through the trust gate: the bytes it hashed
        configs.append(read_config(path, config_root(path, home, item.is_global), cache, data))
    return configs


# --- unsupported constructs ------------------------------------------------------


class _Where:
    __slots__ = ("construct", "line", "path")

    def __init__(self, path: str, line: int | None, construct: str) -> None:
        self.path, self.line, self.construct = path, line, construct


class _Blocked(Exception):
    def __init__(self, where: _Where) -> None:
        super().__init__(where.construct)
        self.where = where


def first_unsupported(configs: list[MiseConfig]) -> _Where | None:
    """The first construct envshim does not evaluate, found without evaluating anything."""
    for config in configs:
        for table in config.tables:
            for key, value in table.data.items():
                if key == "_":
                    if not isinstance(value, dict):
                        return _Where(config.name, table.line_of("_"), "_ = …")
                    for name, arg in value.items():
                        line = table.line_of(f"_.{name}")
                        if name not in _DIRECTIVES:
                            return _Where(config.name, line, f"_.{name}")
                        if name in ("file", "path"):
                            for item in arg if isinstance(arg, list) else [arg]:
                                text = item.get("path") if isinstance(item, dict) else item
                                if isinstance(text, str) and needs_template(text):
                                    bad = check_template(text)
                                    if bad:
                                        return _Where(config.name, line, bad)
                    continue
                for text in _strings_of(value):
                    if needs_template(text):
                        bad = check_template(text)
                        if bad:
                            return _Where(config.name, table.line_of(key), bad)
    return None


def _strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in ("value", "default") and isinstance(v, str)]
    return []


def _unsupported_error(where: _Where, *, mise: bool) -> ConfigError:
    hint = (
        "install mise (envshim then takes the mise layer from `mise env --json`) or remove it"
        if not mise
        else "envshim never runs code from a config"
    )
    return ConfigError(
        f"{where.construct} is not supported by envshim",
        path=where.path,
        line=where.line,
        hint=hint,
    )


def _delegate(ctx: LayerContext, merger: Merger, configs: list[MiseConfig], where: _Where) -> None:
    """Take the whole mise layer from ``mise env --json``, with provenance from the files."""
    from .mise_delegate import find_mise, mise_env_json

    exe = find_mise(ctx.environ)
    if exe is None:
        raise _unsupported_error(where, mise=False)
    out = mise_env_json(exe, ctx, where.path, where.line, where.construct)
    detail = f"evaluated by `mise env --json` ({where.construct})"
    fallback = Origin(MISE, where.path, where.line, detail)
    written: dict[str, tuple[Origin, Any]] = {}
    for config in configs:
        for table in config.tables:
            for key, value in table.data.items():
                if key != "_":
                    written[key] = (
                        Origin(MISE, config.name, table.line_of(key), detail),
                        value,
                    )
    for key, value in out.items():
        origin, raw = written.get(key, (fallback, None))
        if key == "PATH":
            _delegated_path(ctx, merger, value, origin)
            continue
        secret = isinstance(raw, dict) and ("age" in raw or raw.get("redact") is True)
        merger.set(key, value, origin, secret=secret)
    for key, (origin, raw) in written.items():
        unset = raw is False or (isinstance(raw, dict) and raw.get("value") is False)
        if unset and key not in out:
            merger.unset(key, origin)


def _delegated_path(ctx: LayerContext, merger: Merger, value: str, origin: Origin) -> None:
    import os

    base = ctx.environ.get("PATH", "")
    if value == base:
        return
    if base and value.endswith(os.pathsep + base):
        merger.prepend_path(value[: -len(base) - 1].split(os.pathsep), origin)
    else:
        merger.set("PATH", value, origin)


# --- native evaluation -------------------------------------------------------------


class _Evaluator:
    def __init__(
        self,
        ctx: LayerContext,
        merger: Merger,
        enter_secrets: Callable[[Mapping[str, Any] | None], None],
    ) -> None:
        self.ctx = ctx
        self.merger = merger
        self.enter_secrets = enter_secrets
        self.entered = False
        self.cwd = str(ctx.cwd)
        self.home = ctx.environ.get("HOME")
        self.secret_seen = False
        self.required: list[tuple[str, str | None, Origin, bool]] = []
        self.path_assigned: list[str | None] = []  # `PATH = …` entries: seen, never exported

    # what templates and $VAR see: the base environment and every entry so far
    def lookup(self, key: str) -> str | None:
        if key == "PATH" and self.path_assigned:
            return self.path_assigned[-1]
        var = self.merger.vars.get(key)
        if var is not None:
            if var.secret and var.value is not None:
                self.secret_seen = True
            return var.value
        return self.merger.base.get(key)

    def run(self, configs: list[MiseConfig]) -> None:
        # mise applies entries marked `tools = true` after all the others, in a second pass
        has_tools = any(_tools_marked(v) for c in configs for t in c.tables for v in _entries(t))
        for tools_pass in (False, True) if has_tools else (False,):
            for config in configs:
                self.run_config(config, tools_pass)

    def run_config(self, config: MiseConfig, tools_pass: bool) -> None:
        paths: list[str] = []
        path_origin: Origin | None = None
        scope = Scope(self.lookup, self.ctx.environ.get, config.root, self.cwd)
        for table in config.tables:
            for key, value in table.data.items():
                if key != "_":
                    if _tools_marked(value) == tools_pass:
                        self.variable(key, value, config, table, scope)
                    continue
                for name, arg in value.items():
                    origin = Origin(MISE, config.name, table.line_of(f"_.{name}"))
                    if name in ("path", "file"):
                        items = [
                            i
                            for i in (arg if isinstance(arg, list) else [arg])
                            if _tools_marked(i) == tools_pass
                        ]
                        if not items:
                            continue
                        if name == "path":
                            paths.extend(self.path_directive(items, config, scope, origin))
                            path_origin = path_origin or origin
                        else:
                            self.file_directive(items, config, scope, origin)
                    elif tools_pass:
                        continue
                    elif name == "envshim":
                        self.entered = True
                        self.enter_secrets(arg if isinstance(arg, dict) else None)
                    else:  # `_.source`, `_.python` …: mise evaluates the layer
                        raise _Blocked(_Where(config.name, origin.line, f"_.{name}"))
        if paths and path_origin is not None:
            self.merger.prepend_path(paths, path_origin)

    # one `KEY = value` entry
    def variable(
        self, key: str, value: Any, config: MiseConfig, table: EnvTable, scope: Scope
    ) -> None:
        line = table.line_of(key)
        origin = Origin(MISE, config.name, line)
        self.secret_seen = False
        secret = False
        if isinstance(value, dict):
            if "age" in value and "required" not in value:
                plain = self.age_value(key, value, config, line)
                if plain is not _SKIP:  # decrypted text is literal: never templated
                    self.merger.set(key, plain, origin, secret=True)
                return
            value, secret = self.table_value(key, value, config, line, origin, scope)
            if value is _SKIP:
                return
        if value is False:
            if key == "PATH":
                self.assign_path(None, origin)
                return
            self.merger.unset(key, origin)
            return
        if value is True:
            text = "true"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = self.evaluate(value, config, line, scope, key)
        elif isinstance(value, float):
            raise ConfigError(
                f"{key} is a float, which mise rejects",
                path=config.path,
                line=line,
                hint=f'quote it: {key} = "{value!r}"',
            )
        elif isinstance(value, tuple):  # a TOML date or time, as written (mise_config)
            text = value[0]
        else:
            raise ConfigError(
                f"{key} is {'an array' if isinstance(value, list) else 'not a string'}, which mise rejects",
                path=config.path,
                line=line,
                hint="use a string, an integer or a boolean",
            )
        if key == "PATH":
            self.assign_path(text, origin)
            return
        self.merger.set(key, text, origin, secret=secret or self.secret_seen)

    def assign_path(self, value: str | None, origin: Origin) -> None:
        """mise lets later entries see a `PATH = …` value but exports PATH from `_.path` only."""
        self.path_assigned.append(value)
        self.ctx.warnings.append(
            f"{origin.path}:{origin.line}: PATH is not exported from [env] (mise ignores it too); "
            "use _.path to add directories"
        )

    def table_value(
        self,
        key: str,
        spec: dict[str, Any],
        config: MiseConfig,
        line: int | None,
        origin: Origin,
        scope: Scope,
    ) -> tuple[Any, bool]:
        unknown = sorted(set(spec) - _VALUE_KEYS)
        redact = spec.get("redact") is True
        if "required" in spec:
            for other in ("value", "default"):
                if other in spec:
                    raise ConfigError(
                        f"{key} cannot have both {other!r} and 'required'",
                        path=config.path,
                        line=line,
                        hint=f"remove either {other!r} or 'required'",
                    )
            required = spec["required"]
            if required is not False:
                help_text = required if isinstance(required, str) else None
                self.required.append((key, help_text, origin, self.lookup(key) is not None))
                return _SKIP, redact
        if "value" in spec:
            value = spec["value"]
            if isinstance(value, float) or not isinstance(value, str | int | bool):
                raise _no_value(key, config, line)
            return value, redact
        if "default" in spec:
            default = spec["default"]
            if isinstance(default, bool):
                raise ConfigError(
                    f"{key}: a default cannot be a boolean",
                    path=config.path,
                    line=line,
                    hint="use a string or an integer",
                )
            if not isinstance(default, str | int):
                raise _no_value(key, config, line)
            current = self.lookup(key)
            self.secret_seen = False
            if current:
                return _SKIP, redact
            return default, redact
        if unknown:
            raise ConfigError(
                f"{key}: unknown field {unknown[0]!r} and no value",
                path=config.path,
                line=line,
                hint="write { value = … }, { default = … } or { required = true }",
            )
        raise _no_value(key, config, line)

    def age_value(
        self, key: str, spec: dict[str, Any], config: MiseConfig, line: int | None
    ) -> Any:
        from ..formats.age import NoMatchingKey
        from ..formats.mise_age import decrypt_inline

        raw = spec["age"]
        fmt = spec.get("format")
        if isinstance(raw, dict):
            fmt = raw.get("format", fmt)
            raw = raw.get("value")
        if not isinstance(raw, str):
            raise ConfigError(f"{key}: the age value must be a string", path=config.path, line=line)
        try:
            return decrypt_inline(raw, fmt, self.ctx, key=key, path=config.path, line=line)
        except NoMatchingKey:
            if self.ctx.missing_key == "error":
                raise
            return _SKIP

    def evaluate(
        self, text: str, config: MiseConfig, line: int | None, scope: Scope, key: str
    ) -> str:
        if needs_template(text):
            try:
                text = render(text, scope)
            except Unsupported as exc:
                raise _Blocked(_Where(config.name, line, exc.construct)) from None
            except Undefined as exc:
                raise ConfigError(
                    f"{exc.expr}: {exc.name} is not defined",
                    path=config.path,
                    line=line,
                    hint=f'define {exc.name} before this line, or add | default(value="…")',
                ) from None
        if "$" not in text:
            return text
        undefined: list[str] = []
        text = expand(text, self.lookup, undefined)
        for name in dict.fromkeys(undefined):
            self.ctx.warnings.append(
                f"{config.path}:{line}: {key} uses ${name}, which is not defined and is left as written "
                f"(write ${{{name}:-}} for an empty default)"
            )
        return text

    # _.path
    def path_directive(
        self, arg: Any, config: MiseConfig, scope: Scope, origin: Origin
    ) -> list[str]:
        from .mise_files import normalize

        out: list[str] = []
        for item in arg if isinstance(arg, list) else [arg]:
            if isinstance(item, dict):
                item = item.get("path")
            if not isinstance(item, str):
                raise ConfigError(
                    "_.path takes a string or an array of strings",
                    path=config.path,
                    line=origin.line,
                )
            text = self.evaluate(item, config, origin.line, scope, "_.path")
            for part in reversed(text.split(":")):  # mise adds a:b as b, a
                if part:
                    out.append(normalize(config.root, part, self.home))
        return out

    # _.file
    def file_directive(self, arg: Any, config: MiseConfig, scope: Scope, origin: Origin) -> None:
        from .mise_files import expand_glob, normalize, read_env_file

        for item in arg if isinstance(arg, list) else [arg]:
            redact = False
            if isinstance(item, dict):
                redact = item.get("redact") is True
                item = item.get("path")
            if not isinstance(item, str):
                raise ConfigError(
                    "_.file takes a path or an array of paths", path=config.path, line=origin.line
                )
            target = normalize(
                config.root, self.evaluate(item, config, origin.line, scope, "_.file"), self.home
            )
            files, searched = expand_glob(target)
            if searched is not None:
                self.ctx.watch.extend(Path(d) for d in searched)
            for name in files:
                path = Path(name)
                if searched is None and not path.is_file():
                    self.ctx.watch.append(path)
                    raise ConfigError(
                        f"_.file {item!r}: {name} does not exist",
                        path=config.path,
                        line=origin.line,
                        hint='create it, or write a glob such as ".env*" to make it optional '
                        "(mise skips a missing file silently)",
                    )
                data = self.ctx.read_bytes(path)  # through the trust gate
                try:
                    bindings = read_env_file(name, self.ctx.environ, data)
                except Unsupported as exc:
                    raise _Blocked(_Where(config.name, origin.line, exc.construct)) from None
                via = f"_.file in {config.path}:{origin.line}"
                for key, value, line in bindings:
                    self.merger.set(key, value, Origin(MISE, name, line, via), secret=redact)

    def check_required(self) -> None:
        missing = [
            (key, help_text, origin)
            for key, help_text, origin, was_set in self.required
            if not was_set and self.merger.lookup(key) is None
        ]
        if not missing:
            return
        parts = []
        for key, help_text, origin in missing:
            part = f"{key} ({origin.path}:{origin.line})"
            if help_text:
                part += f": {help_text}"
            parts.append(part)
        first = missing[0][2]
        noun = "variable is" if len(missing) == 1 else "variables are"
        raise MissingRequiredError(
            f"required {noun} not set: " + "; ".join(parts),
            path=first.path,
            line=first.line,
            hint="set it in the environment, in a later config file, or as a secret",
        )


def _tools_marked(value: Any) -> bool:
    return isinstance(value, dict) and value.get("tools") is True


def _entries(table: EnvTable) -> list[Any]:
    out = [v for k, v in table.data.items() if k != "_"]
    directives = table.data.get("_")
    if isinstance(directives, dict):
        for name in ("path", "file"):
            arg = directives.get(name)
            out.extend(arg if isinstance(arg, list) else [arg])
    return out


class _Skip:
    """Marker: the entry sets nothing (a satisfied default, a required check, a skipped key)."""


_SKIP: Any = _Skip()


def _no_value(key: str, config: MiseConfig, line: int | None) -> ConfigError:
    return ConfigError(
        f"{key} has no value",
        path=config.path,
        line=line,
        hint="write { value = … }, { default = … }, or { required = true } when it is defined elsewhere",
    )
