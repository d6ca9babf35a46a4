"""Evaluating mise configs natively: ``[vars]`` first, then ``[env]``, in mise's order.

Rules measured against mise 2026.9.15 (``env_directive/mod.rs``):

* ``[vars]`` of every config (lowest first) are evaluated before any ``[env]``:
  templates there see the process environment (``env.X``, ``$X``) and the vars
  defined so far; ``{ default = … }`` takes a non-empty earlier var or process
  variable first; ``_.file`` loads into vars; ``_.path`` is ignored there; an
  entry marked ``tools = true`` is skipped. ``[env]`` templates then see every
  var by its final value.
* ``[env]``: strings are templated then ``$``-expanded (unless
  ``env_shell_expand`` is off); integers become text; ``true`` is ``"true"``;
  ``false`` (or ``{ value = false }``) unsets; a float, an array or a table
  without ``value``/``default``/``required``/``age`` is an error, as is ``value``
  or ``age`` beside ``default``;
* ``{ default = … }`` applies only when the variable is unset or empty;
* ``{ required = true | "help" }`` is checked once every layer is applied (so a
  secret or a later config may satisfy it); all missing names are reported;
* ``{ age = … }`` is decrypted in memory and marked secret; ``redact = true``
  marks a value secret; a value built from a secret variable is secret too;
  names mise would redact are marked secret (:mod:`.mise_redact`);
* ``_.path``/``_.file`` take a string, ``{ path = … }`` (also ``value``, and for a
  list ``values``/``paths``), or an array of those; ``_.path`` entries are
  prepended (a later file's in front), but later templates and ``$PATH`` see the
  ``PATH`` without them; ``_.file = { path = …, expand = true }`` lets a dotenv
  file use earlier entries and files, and expands json/yaml/toml values;
* entries marked ``tools = true`` come after all others, and after
  ``env_file``/``MISE_ENV_FILE`` (every such file from the current directory up,
  the closest last, read as dotenv with bad lines skipped);
* safe mode (``MISE_SAFE``, or ``safe`` in a global config) drops every entry of
  a project config, and ``read_file()`` fails;
* ``_.envshim = {…}`` is where the team and user layers enter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ConfigError, MissingRequiredError
from ..merge import Merger
from ..model import MISE, Origin
from .mise_config import EnvTable, MiseConfig
from .mise_redact import Tracker
from .mise_settings import Settings
from .mise_template import (
    Scope,
    TemplateError,
    Undefined,
    Unsupported,
    expand,
    needs_template,
    render,
)

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

    from .base import LayerContext

DIRECTIVE_KEYS = ("_", "mise")  # `mise` is mise's deprecated spelling of `_`
_VALUE_KEYS = frozenset(
    {"value", "default", "required", "age", "redact", "tools", "format", "expand"}
)
_ITEM_KEYS = ("path", "value", "values", "paths")


class Where:
    __slots__ = ("construct", "line", "path")

    def __init__(self, path: str, line: int | None, construct: str) -> None:
        self.path, self.line, self.construct = path, line, construct


class Blocked(Exception):
    """A construct envshim does not evaluate (``exec()``, ``_.source`` …) was reached."""

    def __init__(self, where: Where) -> None:
        super().__init__(where.construct)
        self.where = where


class Skip:
    """Marker: the entry sets nothing (a satisfied default, a required check, a skipped key)."""


SKIP: Any = Skip()


class Item:
    """One path of a ``_.file``/``_.path`` directive, with its options."""

    __slots__ = ("expand", "redact", "text", "tools")

    def __init__(self, text: str, opts: Mapping[str, Any]) -> None:
        self.text = text
        redact = opts.get("redact")
        self.redact: bool | None = redact if isinstance(redact, bool) else None
        self.tools = opts.get("tools") is True
        self.expand = opts.get("expand") is True


def directive_items(name: str, arg: Any, path: str, line: int | None) -> list[Item]:
    """mise's forms of ``_.file``/``_.path``: a string, a table with ``path`` (or the
    deprecated ``value``; for a list also ``values``/``paths``), or an array of those."""
    out: list[Item] = []
    for entry in arg if isinstance(arg, list) else [arg]:
        if isinstance(entry, str):
            out.append(Item(entry, {}))
            continue
        given = [k for k in _ITEM_KEYS if k in entry] if isinstance(entry, dict) else []
        value = entry[given[0]] if len(given) == 1 else None
        if isinstance(value, str) and given[0] in ("path", "value"):
            out.append(Item(value, entry))
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.extend(Item(v, entry) for v in value)
        else:
            raise ConfigError(
                f"_.{name} takes a path, {{ path = … }}, {{ path = [ … ] }} or an array of them",
                path=path,
                line=line,
                hint=f'_.{name} = ["a", {{ path = "b", redact = true }}]',
            )
    return out


def tools_marked(value: Any) -> bool:
    return isinstance(value, dict) and value.get("tools") is True


def _redact(spec: Mapping[str, Any]) -> bool | None:
    value = spec.get("redact")
    return value if isinstance(value, bool) else None


class Evaluator:
    def __init__(
        self,
        ctx: LayerContext,
        merger: Merger,
        enter_secrets: Callable[[Mapping[str, Any] | None], None],
        settings: Settings,
    ) -> None:
        self.ctx = ctx
        self.merger = merger
        self.enter_secrets = enter_secrets
        self.settings = settings
        self.entered = False
        self.cwd = str(ctx.cwd)
        self.home = ctx.environ.get("HOME")
        self.secret_seen = False
        self.required: list[tuple[str, str | None, Origin, bool]] = []
        self.path_assigned: list[str | None] = []  # `PATH = …` entries: seen, never exported
        self.vars: dict[str, str] = {}  # [vars], final once the vars pass is done
        self.secret_vars: set[str] = set()
        self.redaction = Tracker()
        self.loaded_files: set[str] = set()

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

    def var_lookup(self, key: str) -> str | None:
        value = self.vars.get(key)
        if value is not None and key in self.secret_vars:
            self.secret_seen = True
        return value

    def scope(self, config: MiseConfig, env: Callable[[str], str | None]) -> Scope:
        return Scope(
            env,
            self.ctx.environ.get,
            config.root,
            self.cwd,
            self.var_lookup,
            lambda rel: self.read_file(config, rel),
        )

    def run(self, configs: list[MiseConfig]) -> None:
        if self.settings.safe:  # mise drops every entry of a project config in safe mode
            configs = [c for c in configs if c.is_global]
        for config in configs:
            self.redaction.patterns.extend(config.redactions)
        if any(c.vars_tables for c in configs):
            from .mise_vars import VarsPass

            VarsPass(self).run(configs)
        # mise applies entries marked `tools = true` after all the others, in a second pass
        has_tools = any(tools_marked(v) for c in configs for t in c.tables for v in _entries(t))
        for config in configs:
            self.run_config(config, False)
        self.env_files()
        if has_tools:
            for config in configs:
                self.run_config(config, True)
        self.redaction.apply(self.merger)

    def run_config(self, config: MiseConfig, tools_pass: bool) -> None:
        paths: list[str] = []
        path_origin: Origin | None = None
        scope = self.scope(config, self.lookup)
        for table in config.tables:
            for key, value in table.data.items():
                if key not in DIRECTIVE_KEYS:
                    if tools_marked(value) == tools_pass:
                        self.variable(key, value, config, table, scope)
                    continue
                if not isinstance(value, dict):
                    raise Blocked(Where(config.name, table.line_of(key), f"{key} = …"))
                for name, arg in value.items():
                    line = table.line_of(f"{key}.{name}")
                    origin = Origin(MISE, config.name, line)
                    if name in ("path", "file"):
                        items = [
                            i
                            for i in directive_items(name, arg, config.name, line)
                            if i.tools == tools_pass
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
                        raise Blocked(Where(config.name, line, f"{key}.{name}"))
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
        redact: bool | None = None
        if isinstance(value, dict):
            check_table(key, value, config, line)
            redact = _redact(value)
            if "age" in value and "required" not in value:
                plain = self.age_value(key, value, config, line)
                if plain is not SKIP:  # decrypted text is literal: never templated
                    self.merger.set(key, plain, origin, secret=True)
                    self.redaction.assigned(key, redact, default=True)
                return
            value, secret = self.table_value(key, value, config, line, origin)
            if value is SKIP:
                return
        if value is False:
            self.redaction.removed(key)
            if key == "PATH":
                self.assign_path(None, origin)
                return
            self.merger.unset(key, origin)
            return
        text = self.text_of(key, value, config, line, scope)
        self.redaction.assigned(key, redact)
        if key == "PATH":
            self.assign_path(text, origin)
            return
        self.merger.set(key, text, origin, secret=secret or self.secret_seen)

    def text_of(
        self, key: str, value: Any, config: MiseConfig, line: int | None, scope: Scope
    ) -> str:
        if value is True:
            return "true"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            return self.evaluate(value, config, line, scope, key)
        if isinstance(value, float):
            raise ConfigError(
                f"{key} is a float, which mise rejects",
                path=config.path,
                line=line,
                hint=f'quote it: {key} = "{value!r}"',
            )
        if isinstance(value, tuple):  # a TOML date or time, as written (mise_config)
            return value[0]
        raise ConfigError(
            f"{key} is {'an array' if isinstance(value, list) else 'not a string'}, which mise rejects",
            path=config.path,
            line=line,
            hint="use a string, an integer or a boolean",
        )

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
    ) -> tuple[Any, bool]:
        redact = spec.get("redact") is True
        if "required" in spec:
            required = spec["required"]
            if required is not False:
                help_text = required if isinstance(required, str) else None
                self.required.append((key, help_text, origin, self.lookup(key) is not None))
                if _redact(spec) is not None:
                    self.redaction.assigned(key, _redact(spec))
                return SKIP, redact
        if "value" in spec:
            value = spec["value"]
            if isinstance(value, float) or not isinstance(value, str | int | bool):
                raise no_value(key, config, line)
            return value, redact
        if "default" in spec:
            default = spec["default"]
            if not isinstance(default, str | int) or isinstance(default, bool):
                raise no_value(key, config, line)
            current = self.lookup(key)
            self.secret_seen = False
            if current:
                if redact:
                    self.redaction.marked.append(key)
                return SKIP, redact
            return default, redact
        raise no_value(key, config, line)

    def age_value(
        self, key: str, spec: dict[str, Any], config: MiseConfig, line: int | None
    ) -> Any:
        from ..errors import DecryptError
        from ..formats.age import NoMatchingKey
        from ..formats.mise_age import decrypt_inline

        raw = spec["age"]
        fmt = spec.get("format")
        if isinstance(raw, dict):
            fmt = raw.get("format", fmt)
            raw = raw.get("value")
        if not isinstance(raw, str):
            raise ConfigError(f"{key}: the age value must be a string", path=config.path, line=line)
        self.add_identities()
        strict = self.settings.age_strict
        try:
            return decrypt_inline(raw, fmt, self.ctx, key=key, path=config.path, line=line)
        except NoMatchingKey:
            if strict and self.ctx.missing_key == "error":
                raise
            return SKIP
        except DecryptError:
            if strict:
                raise
            self.ctx.warnings.append(
                f"{config.path}:{line}: {key} could not be decrypted; left out (age.strict = false)"
            )
            return SKIP

    def add_identities(self) -> None:
        """mise's own age identities (``MISE_AGE_KEY``, ``age.key_file``,
        ``age.identity_files``) join the identities of this resolution, once."""
        if getattr(self, "_identities_added", False):
            return
        self._identities_added = True
        from .mise_keys import extra_identities

        extra_identities(self.ctx, self.settings)

    def evaluate(
        self, text: str, config: MiseConfig, line: int | None, scope: Scope, key: str
    ) -> str:
        if needs_template(text):
            try:
                text = render(text, scope)
            except Unsupported as exc:
                raise Blocked(Where(config.name, line, exc.construct)) from None
            except Undefined as exc:
                raise ConfigError(
                    f"{exc.expr}: {exc.name} is not defined",
                    path=config.path,
                    line=line,
                    hint=f'define {exc.name} before this line, or add | default(value="…")'
                    if exc.kind == "env"
                    else f'define {exc.name} in [vars], or add | default(value="…")',
                ) from None
            except TemplateError as exc:
                raise ConfigError(str(exc), path=config.path, line=line) from None
        if "$" not in text or not self.settings.shell_expand:
            return text
        undefined: list[str] = []
        text = expand(text, scope.env, undefined)
        for name in dict.fromkeys(undefined):
            self.ctx.warnings.append(
                f"{config.path}:{line}: {key} uses ${name}, which is not defined and is left as written "
                f"(write ${{{name}:-}} for an empty default)"
            )
        return text

    def read_file(self, config: MiseConfig, rel: str) -> str:
        """``read_file(path=…)``: relative to the config file's own directory, read as it is."""
        if self.settings.safe:
            raise TemplateError("read_file() is disabled in safe mode (MISE_SAFE)")
        from ..tomlread import decode_utf8

        path = os.path.join(os.path.dirname(config.name), rel)
        try:
            data = self.ctx.read_bytes(path)
        except FileNotFoundError:
            self.ctx.watch.append(Path(path))
            raise TemplateError(f"read_file: {path} does not exist") from None
        return decode_utf8(path, data)

    # _.path
    def path_directive(
        self, items: list[Item], config: MiseConfig, scope: Scope, origin: Origin
    ) -> list[str]:
        from .mise_files import normalize

        out: list[str] = []
        for item in items:
            text = self.evaluate(item.text, config, origin.line, scope, "_.path")
            for part in reversed(text.split(":")):  # mise adds a:b as b, a
                if part:
                    out.append(normalize(config.root, part, self.home))
        return out

    # _.file
    def file_directive(
        self, items: list[Item], config: MiseConfig, scope: Scope, origin: Origin
    ) -> None:
        for item in items:
            env = self.merger.current() if item.expand else {}
            for name, key, value, line, secret in self.file_bindings(
                item, config, scope, origin, env
            ):
                via = f"_.file in {config.path}:{origin.line}"
                self.merger.set(
                    key, value, Origin(MISE, name, line, via), secret=secret or item.redact is True
                )
                self.redaction.assigned(key, item.redact)

    def file_bindings(
        self,
        item: Item,
        config: MiseConfig,
        scope: Scope,
        origin: Origin,
        env: dict[str, str],
    ) -> list[tuple[str, str, str, int | None, bool]]:
        """``(file, key, value, line, secret)`` for every variable one ``_.file`` path sets.
        ``env`` is the environment so far (only used with ``expand = true``, which adds
        each file's values to it for the next one)."""
        from .mise_files import expand_glob, normalize

        target = normalize(
            config.root, self.evaluate(item.text, config, origin.line, scope, "_.file"), self.home
        )
        outside: list[str] = []
        files, searched = expand_glob(target, config.root, outside)
        if searched is not None:
            self.ctx.watch.extend(Path(d) for d in searched)
        for link in outside:
            self.ctx.warnings.append(
                f"{config.path}:{origin.line}: _.file {item.text!r} does not follow {link}, "
                "a directory symlink out of the project (mise would)"
            )
        expanding = item.expand and self.settings.shell_expand
        out: list[tuple[str, str, str, int | None, bool]] = []
        for name in files:
            path = Path(name)
            if searched is None and not path.is_file():
                self.ctx.watch.append(path)
                raise ConfigError(
                    f"_.file {item.text!r}: {name} does not exist",
                    path=config.path,
                    line=origin.line,
                    hint='create it, or write a glob such as ".env*" to make it optional '
                    "(mise skips a missing file silently)",
                )
            self.loaded_files.add(os.path.realpath(name))
            bindings, secret = self.read_bindings(name, config, origin, expanding, env)
            for key, value, line in bindings:
                if expanding:
                    env[key] = value
                out.append((name, key, value, line, secret))
        return out

    def read_bindings(
        self,
        name: str,
        config: MiseConfig,
        origin: Origin,
        expanding: bool,
        env: dict[str, str],
    ) -> tuple[list[tuple[str, str, int | None]], bool]:
        from .mise_files import read_env_file, sops_kind

        kind = sops_kind(name)
        if kind is not None:
            from .mise_sops import read_sops_file

            bindings = read_sops_file(name, kind, self.ctx, self.settings, config, origin)
            return self.expand_structured(bindings, config, origin, expanding, env), True
        data = self.ctx.read_bytes(name)  # through the trust gate
        # with expand = true mise seeds a dotenv file with the whole environment so far
        seed = env if expanding else None
        try:
            bindings = read_env_file(name, self.ctx.environ, data, seed)
        except Unsupported as exc:
            raise Blocked(Where(config.name, origin.line, exc.construct)) from None
        if os.path.splitext(name)[1] in (".json", ".yaml", ".toml"):
            bindings = self.expand_structured(bindings, config, origin, expanding, env)
        return bindings, False

    def expand_structured(
        self,
        bindings: list[tuple[str, str, int | None]],
        config: MiseConfig,
        origin: Origin,
        expanding: bool,
        env: dict[str, str],
    ) -> list[tuple[str, str, int | None]]:
        """``expand = true`` on json/yaml/toml: each value ``$``-expanded against the
        environment so far, the earlier files of the directive and the earlier keys."""
        if not expanding:
            return bindings
        local = dict(env)
        look = local.get
        out = []
        for key, value, line in bindings:
            undefined: list[str] = []
            value = expand(value, look, undefined)
            for missing in dict.fromkeys(undefined):
                self.ctx.warnings.append(
                    f"{config.path}:{origin.line}: {key} uses ${missing}, which is not defined "
                    "and is left as written"
                )
            local[key] = value
            out.append((key, value, line))
        return out

    # env_file / MISE_ENV_FILE
    def env_files(self) -> None:
        name = self.settings.env_file
        if not name:
            return
        from .mise_files import find_up, read_env_file_lenient

        for path in find_up(self.cwd, name, self.ctx.environ):
            self.ctx.watch.append(Path(path))
            if os.path.realpath(path) in self.loaded_files or not os.path.isfile(path):
                continue
            data = self.ctx.read_bytes(path)
            for key, value, line in read_env_file_lenient(path, self.ctx.environ, data, self.ctx):
                self.merger.set(key, value, Origin(MISE, path, line, "env_file"))

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


def check_table(key: str, spec: dict[str, Any], config: MiseConfig, line: int | None) -> None:
    """The combinations mise rejects when it reads the file."""
    for other in ("value", "age", "required"):
        if "default" in spec and other in spec:
            raise ConfigError(
                f"{key} cannot have both 'default' and {other!r}",
                path=config.path,
                line=line,
                hint=f"remove either 'default' or {other!r}: 'default' applies only when "
                "the variable is unset or empty",
            )
    if "required" in spec and "value" in spec and spec["required"] not in (False, None):
        raise ConfigError(
            f"{key} cannot have both 'value' and 'required'",
            path=config.path,
            line=line,
            hint="remove either 'value' or 'required'",
        )
    if "default" in spec and isinstance(spec["default"], bool):
        raise ConfigError(
            f"{key}: a default cannot be a boolean",
            path=config.path,
            line=line,
            hint="use a string or an integer",
        )
    if not any(k in spec for k in ("value", "default", "required", "age")):
        unknown = sorted(set(spec) - _VALUE_KEYS)
        if unknown:
            raise ConfigError(
                f"{key}: unknown field {unknown[0]!r} and no value",
                path=config.path,
                line=line,
                hint="write { value = … }, { default = … } or { required = true }",
            )


def _entries(table: EnvTable) -> list[Any]:
    out = [v for k, v in table.data.items() if k not in DIRECTIVE_KEYS]
    for key in DIRECTIVE_KEYS:
        directives = table.data.get(key)
        if isinstance(directives, dict):
            for name in ("path", "file"):
                arg = directives.get(name)
                for entry in arg if isinstance(arg, list) else [arg]:
                    out.append(entry)
    return out


def no_value(key: str, config: MiseConfig, line: int | None) -> ConfigError:
    return ConfigError(
        f"{key} has no value",
        path=config.path,
        line=line,
        hint="write { value = … }, { default = … }, or { required = true } when it is defined elsewhere",
    )
