"""What the evaluation reads besides the configs: ``_.file`` files (dotenv, json, yaml,
toml, sops), ``_.path`` directories, ``read_file()`` and ``env_file``.

A mixin of :class:`~.mise_eval.Evaluator` (it uses the evaluator's context,
settings, lookups and merge), kept apart so each module stays one job.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from ..model import MISE, Origin
from .mise_config import MiseConfig
from .mise_directives import Blocked, Item, Where
from .mise_template import Scope, TemplateError, Unsupported, expand

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any


class FileLoading:
    ctx: Any
    merger: Any
    settings: Any
    home: str | None
    cwd: str
    loaded_files: set[str]
    redaction: Any
    reads: list[str]

    def noted(self, origin: Origin) -> Origin:
        raise NotImplementedError  # the evaluator's

    def evaluate(
        self, text: str, config: MiseConfig, line: int | None, scope: Scope, key: str
    ) -> str:
        raise NotImplementedError  # the evaluator's

    def read_file(self, config: MiseConfig, rel: str) -> str:
        """``read_file(path=…)``: relative to the config file's own directory, read as it is."""
        if self.settings.safe:
            raise TemplateError("read_file() is disabled in safe mode (MISE_SAFE)")
        from ..tomlread import decode_utf8

        path = os.path.join(os.path.dirname(config.name), rel)
        self.reads.append(path)
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
            self.reads = []
            for name, key, value, line, secret in self.file_bindings(
                item, config, scope, origin, env
            ):
                via = f"_.file in {config.path}:{origin.line}"
                self.merger.set(
                    key,
                    value,
                    self.noted(Origin(MISE, name, line, via)),
                    secret=secret or item.redact is True,
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
        try:
            files, searched = expand_glob(target, config.root, outside)
        except ConfigError as exc:  # named by the line that wrote the glob
            raise ConfigError(
                f"_.file {item.text!r}: {exc.message}",
                path=config.path,
                line=origin.line,
                hint=exc.hint,
            ) from None
        if searched is not None:
            self.ctx.watch.extend(Path(d) for d in searched)
        for link in outside:
            self.ctx.warnings.append(
                f"{config.path}:{origin.line}: _.file {item.text!r} does not follow {link}, "
                "a directory symlink out of the project (mise would)"
            )
        expanding = item.expand and self.settings.shell_expand
        if expanding:
            self.reads.append("$")  # may use anything set so far: not known what
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
            if expanding and not secret:
                secret = self.expands_a_secret(name)
            for key, value, line in bindings:
                if expanding:
                    env[key] = value
                out.append((name, key, value, line, secret))
        return out

    def expands_a_secret(self, name: str) -> bool:
        """``expand = true`` lets a file's values take in what was set before, secrets
        included (`pre-${API_KEY}`): then every value of that file is treated as secret
        (masked in listings and CI logs, left out of .env.example)."""
        secrets = [k for k, v in self.merger.vars.items() if v.secret and v.value is not None]
        if not secrets:
            return False
        text = self.ctx.read_bytes(name).decode("utf-8", "replace")
        return any(f"${k}" in text or f"${{{k}" in text for k in secrets)

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
            bindings = read_env_file(name, NotingEnviron(self.ctx.environ, self.reads), data, seed)
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
            self.reads = []
            environ = NotingEnviron(self.ctx.environ, self.reads)
            for key, value, line in read_env_file_lenient(path, environ, data, self.ctx):
                self.merger.set(key, value, self.noted(Origin(MISE, path, line, "env_file")))


class NotingEnviron:
    """The process environment as a dotenv file's ``$NAME`` sees it, noting each name
    found in ``reads`` (Origin.reads: a value that used it is not a committed default)."""

    __slots__ = ("environ", "reads")

    def __init__(self, environ: Any, reads: list[str]) -> None:
        self.environ = environ
        self.reads = reads

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.environ.get(key)
        if value is None:
            return default
        self.reads.append("$" + key)
        return value
