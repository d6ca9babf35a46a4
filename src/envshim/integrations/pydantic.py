"""A pydantic-settings source: the project's merged environment, ``os.environ`` untouched.

::

    from pydantic import SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict
    from envshim.pydantic import EnvshimSettings

    class Settings(EnvshimSettings):
        model_config = SettingsConfigDict(env_nested_delimiter="__", envshim_env="staging")
        database_url: SecretStr
        debug: bool = False

:class:`EnvshimSource` reads the resolution envshim computes for a directory and profile
(``envshim.resolve``: mise defaults, team secrets, user values) and hands it to
pydantic-settings' own environment-variable rules, so ``env_prefix``, ``case_sensitive``,
aliases and ``env_nested_delimiter`` behave exactly as they do for ``os.environ``: the
``app__db__user`` names envshim makes from nested sops YAML fill nested models when the
delimiter is ``__``. Values from the team and user layers arrive as ``SecretStr`` in
every field that can hold one (``SecretStr``, ``SecretStr | None``, ``str | SecretStr``,
``Any``); other fields get the plain string, parsed as usual.

Precedence chosen by :class:`EnvshimSettings` (highest first): init arguments, envshim,
the real environment, dotenv files (``env_file``), ``secrets_dir``, field defaults.
envshim sits above the real environment because that is what ``envshim run -- app``
hands the app: a profile asked for in code wins over values a shell exported for another
one, and variables envshim does not set still come from the environment. To prefer the
environment (python-dotenv's rule, ``envshim.load()``'s default), write your own
``settings_customise_sources`` with ``env_settings`` before :class:`EnvshimSource`.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

import envshim

if typing.TYPE_CHECKING:
    from envshim.merge import Resolution

__all__ = ["EnvshimSettings", "EnvshimSource"]

# model_config keys EnvshimSource reads when it is not given the argument
CONFIG_KEYS = ("envshim_path", "envshim_env", "envshim_missing_key")


class _SecretText(str):
    """A team or user value on its way through pydantic-settings' parsing; never stored."""

    __slots__ = ()

    def __repr__(self) -> str:  # a debug print of the source's variables shows no value
        return "'**********'"


class EnvshimSource(EnvSettingsSource):
    """Settings values from envshim's resolution of ``path`` for profile ``env``.

    ``path`` (default: ``model_config["envshim_path"]``, else the working directory) is
    any directory inside the project; ``env`` (``model_config["envshim_env"]``, else
    ``ENVSHIM_ENV``/``MISE_ENV``) a profile or comma list; ``missing_key`` is envshim's
    ``--missing-key`` (``error``, ``warn``, ``skip``); ``environ`` the base environment
    templates see (``os.environ`` by default, read only). The other arguments are
    pydantic-settings' own and default to the class's ``model_config``.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        path: str | os.PathLike[str] | None = None,
        env: str | None = None,
        *,
        missing_key: str | None = None,
        environ: Mapping[str, str] | None = None,
        case_sensitive: bool | None = None,
        env_prefix: str | None = None,
        env_nested_delimiter: str | None = None,
        env_ignore_empty: bool | None = None,
        env_parse_none_str: str | None = None,
        env_parse_enums: bool | None = None,
    ) -> None:
        config = settings_cls.model_config
        self._path = path if path is not None else config.get("envshim_path", ".")
        self._env = env if env is not None else config.get("envshim_env")
        self._missing_key = (
            missing_key if missing_key is not None else config.get("envshim_missing_key")
        )
        self._environ = environ
        self.resolution: Resolution | None = None
        super().__init__(
            settings_cls,
            case_sensitive=case_sensitive,
            env_prefix=env_prefix,
            env_nested_delimiter=env_nested_delimiter,
            env_ignore_empty=env_ignore_empty,
            env_parse_none_str=env_parse_none_str,
            env_parse_enums=env_parse_enums,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # called once, by EnvSettingsSource.__init__: the resolution is read, never applied
        self.resolution = resolution = envshim.resolve(
            self._path, self._env, environ=self._environ, missing_key=self._missing_key
        )
        secret = resolution.secret_keys()
        values = {k: _SecretText(v) if k in secret else v for k, v in resolution.items()}
        from pydantic_settings.sources.utils import parse_env_vars

        return parse_env_vars(
            values, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )

    def _coerce_env_val_strict(self, field: FieldInfo | None, value: Any) -> Any:
        # pydantic-settings calls this for every scalar it takes from a variable, top-level
        # or nested (explode_env_vars), with the field the value is for
        if isinstance(value, _SecretText):
            annotation = field.annotation if isinstance(field, FieldInfo) else field
            if _holds_secret(annotation):
                return SecretStr(str(value))
            value = str(value)
        return super()._coerce_env_val_strict(field, value)

    def __call__(self) -> dict[str, Any]:
        # whatever did not pass through _coerce_env_val_strict (dict-typed fields, a
        # pydantic-settings that no longer calls it) leaves as a plain str
        return _plain(super().__call__())

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(path={os.fspath(self._path)!r}, env={self._env!r}, "
            f"env_nested_delimiter={self.env_nested_delimiter!r})"
        )


class EnvshimSettings(BaseSettings):
    """``BaseSettings`` with :class:`EnvshimSource` in envshim's precedence (module doc).

    Input values are hidden in validation errors (``hide_input_in_errors``): a secret
    that fails a field's type would otherwise be quoted in the error.
    """

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(hide_input_in_errors=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            EnvshimSource(settings_cls),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )


def _holds_secret(annotation: Any) -> bool:
    """Whether a field of this type accepts a ``SecretStr`` as it is."""
    if annotation is None:
        return False
    if annotation is Any or annotation is object or annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _holds_secret(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_holds_secret(arg) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, SecretStr)


def _plain(value: Any) -> Any:
    if isinstance(value, _SecretText):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
