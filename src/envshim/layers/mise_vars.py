"""``[vars]``: mise's template variables, evaluated before ``[env]`` (``{{ vars.X }}``).

The same entry forms as ``[env]``, evaluated in mise's "vars mode"
(``EnvResults::resolve`` with ``vars: true``, mise 2026.9.15):

* templates and ``$X`` see the process environment (not ``[env]``), ``vars.X``
  the vars defined so far; ``false`` removes a name from that environment only;
* ``{ default = … }`` keeps a non-empty earlier var, else takes a non-empty
  process variable, else the default;
* ``{ required = true }`` takes the process variable when there is one and
  fails when the name is neither there nor set by a later config;
* ``_.file`` loads into vars, ``_.path`` is ignored, ``tools = true`` entries
  are skipped; ``{ age = … }`` and ``redact = true`` make the var secret, and so
  every ``[env]`` value built from it.
"""

from __future__ import annotations

from ..errors import MissingRequiredError
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
from .mise_eval import Evaluator, check_table, no_value

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


class VarsPass:
    def __init__(self, evaluator: Evaluator) -> None:
        self.ev = evaluator
        self.env: dict[str, str] = dict(evaluator.ctx.environ)  # what $X and env.X see
        self.sources: dict[str, str] = {}  # var -> the config that set it last
        self.required: list[tuple[str, str | None, Origin]] = []

    def lookup(self, key: str) -> str | None:
        value = self.env.get(key)
        if value is not None:
            self.ev.reads.append("$" + key)
        return value

    def run(self, configs: list[MiseConfig]) -> None:
        for config in configs:
            scope = self.ev.scope(config, self.lookup)
            for table in config.vars_tables:
                for key, value in table.data.items():
                    if tools_marked(value):
                        continue  # mise leaves them out of the vars pass
                    if key in DIRECTIVE_KEYS:
                        self.directives(key, value, config, table, scope)
                    else:
                        self.variable(key, value, config, table, scope)
        self.check_required()

    def set(self, key: str, value: str, config: MiseConfig, secret: bool) -> None:
        self.ev.vars[key] = value
        self.sources[key] = config.name
        self.ev.var_reads[key] = (config.name, *self.ev.reads)  # what reading it reads
        if secret:
            self.ev.secret_vars.add(key)
        else:
            self.ev.secret_vars.discard(key)

    def directives(self, key: str, value: Any, config: MiseConfig, table: EnvTable, scope) -> None:
        if not isinstance(value, dict):
            raise Blocked(Where(config.name, table.line_of(key), f"vars.{key} = …"))
        for name, arg in value.items():
            line = table.line_of(f"{key}.{name}")
            if name == "path":
                directive_items(name, arg, config.name, line)  # checked, then ignored as mise does
                continue
            if name != "file":
                raise Blocked(Where(config.name, line, f"vars {key}.{name}"))
            origin = Origin(MISE, config.name, line)
            for item in directive_items(name, arg, config.name, line):
                if item.tools:
                    continue
                env = dict(self.env) if item.expand else {}
                self.ev.reads = []
                bindings = self.ev.file_bindings(item, config, scope, origin, env)
                noted = self.ev.reads
                for file, k, v, _line, secret in bindings:
                    self.ev.reads = [file, *noted]
                    self.set(k, v, config, secret or item.redact is True)

    def variable(self, key: str, value: Any, config: MiseConfig, table: EnvTable, scope) -> None:
        ev = self.ev
        line = table.line_of(key)
        ev.secret_seen = False
        ev.reads = []
        secret = False
        if isinstance(value, dict):
            check_table(key, value, config, line)
            secret = value.get("redact") is True
            if "age" in value and "required" not in value:
                plain = ev.age_value(key, value, config, line)
                if plain is not SKIP:
                    self.set(key, plain, config, value.get("redact") is not False)
                return
            value = self.table_value(key, value, config, line)
            if value is SKIP:
                return
        if value is False:
            self.env.pop(key, None)  # mise removes it from the environment, not from vars
            return
        text = ev.text_of(key, value, config, line, scope)
        self.set(key, text, config, secret or ev.secret_seen)

    def table_value(
        self, key: str, spec: dict[str, Any], config: MiseConfig, line: int | None
    ) -> Any:
        if "required" in spec and spec["required"] is not False:
            required = spec["required"]
            help_text = required if isinstance(required, str) else None
            self.required.append((key, help_text, Origin(MISE, config.name, line)))
            if key not in self.ev.vars and key in self.env:
                self.ev.reads.append("$" + key)
                self.set(key, self.env[key], config, False)
            return SKIP
        if "value" in spec:
            value = spec["value"]
            if isinstance(value, float) or not isinstance(value, str | int | bool):
                raise no_value(key, config, line)
            return value
        if "default" in spec:
            default = spec["default"]
            if not isinstance(default, str | int) or isinstance(default, bool):
                raise no_value(key, config, line)
            if self.ev.vars.get(key):
                self.sources[key] = config.name
                return SKIP
            process = self.ev.ctx.environ.get(key)
            if process:
                self.ev.reads.append("$" + key)
                self.set(key, process, config, False)
                return SKIP
            return default
        raise no_value(key, config, line)

    def check_required(self) -> None:
        missing = []
        for key, help_text, origin in self.required:
            ok = (
                key in self.ev.ctx.environ
                or self.sources.get(key, origin.path) != origin.path
                or bool(self.ev.vars.get(key))
            )
            if not ok:
                missing.append((key, help_text, origin))
        if not missing:
            return
        key, help_text, origin = missing[0]
        names = ", ".join(k for k, _h, _o in missing)
        raise MissingRequiredError(
            f"required var{'s' if len(missing) > 1 else ''} not defined: {names}"
            + (f": {help_text}" if help_text and len(missing) == 1 else ""),
            path=origin.path,
            line=origin.line,
            hint="set it in the environment or in [vars] of a later config file",
        )
