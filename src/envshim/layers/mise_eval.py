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

from collections.abc import Callable, Mapping

from ..errors import ConfigError, MissingRequiredError
from ..merge import Merger
from ..model import MISE, Origin
from .mise_config import EnvTable, MiseConfig
from .mise_directives import (
    DIRECTIVE_KEYS,
    SKIP,
    Blocked,
    Where,
    directive_items,
    tools_marked,
)
from .mise_loading import FileLoading
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

_VALUE_KEYS = frozenset(
    {"value", "default", "required", "age", "redact", "tools", "format", "expand"}
)


def _redact(spec: Mapping[str, Any]) -> bool | None:
    value = spec.get("redact")
    return value if isinstance(value, bool) else None


class Evaluator(FileLoading):
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
        # what the entry being evaluated read (Origin.reads), and what each [vars] name did
        self.reads: list[str] = []
        self.var_reads: dict[str, tuple[str, ...]] = {}
        self.redaction = Tracker()
        self.loaded_files: set[str] = set()

    # what templates and $VAR see: the base environment and every entry so far
    def lookup(self, key: str) -> str | None:
        if key == "PATH" and self.path_assigned:
            self.reads.append("$PATH")  # a `PATH = …` entry may hold the caller's PATH
            return self.path_assigned[-1]
        var = self.merger.vars.get(key)
        if var is not None:
            if var.secret and var.value is not None:
                self.secret_seen = True
            if var.value is not None:
                self.reads.extend((var.origin.path or "$", *var.origin.reads))
            return var.value
        value = self.merger.base.get(key)
        if value is not None:
            self.reads.append("$" + key)
        return value

    def process_lookup(self, key: str) -> str | None:
        """``get_env()``: the environment the process started with."""
        value = self.ctx.environ.get(key)
        if value is not None:
            self.reads.append("$" + key)
        return value

    def var_lookup(self, key: str) -> str | None:
        value = self.vars.get(key)
        if value is not None and key in self.secret_vars:
            self.secret_seen = True
        if value is not None:
            self.reads.extend(self.var_reads.get(key, ("$",)))
        return value

    def noted(self, origin: Origin) -> Origin:
        """``origin`` with what the entry read (Origin.reads), once each."""
        if not self.reads:
            return origin
        reads = tuple(dict.fromkeys(self.reads))
        return Origin(origin.layer, origin.path, origin.line, origin.detail, reads)

    def scope(self, config: MiseConfig, env: Callable[[str], str | None]) -> Scope:
        return Scope(
            env,
            self.process_lookup,
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
        self.reads = []
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
        self.merger.set(key, text, self.noted(origin), secret=secret or self.secret_seen)

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
            self.reads = []  # the default is used only when the variable is unset or empty
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
