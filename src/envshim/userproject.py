"""The project side of the user store: where a project names its store id, and writing it.

``user_store`` lives in ``envshim.toml`` or in the ``_.envshim`` table of
``mise.toml``; :func:`open_project` reads the options and the link
(:mod:`envshim.userlink` finds it), :func:`write_link` writes the id back with
comments and layout kept.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._record import dataclass  # dataclasses without inspect: the export path
from .errors import ConfigError
from .project import MISE_FILES
from .userlink import Link, check_id, find_link

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


@dataclass
class ProjectLink:
    """A project as the ``user`` commands see it."""

    root: Path
    options: dict[str, Any]
    options_path: Path | None  # the file ``user_store`` came from (or would go to)
    mise_table: Path | None  # a mise.toml whose `_.envshim` table holds the options
    link: Link | None


def _mise_table(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    env = data.get("env")
    tables = env if isinstance(env, list) else [env]
    for table in tables:
        if isinstance(table, dict):
            under = table.get("_")
            if isinstance(under, dict) and isinstance(under.get("envshim"), dict):
                return under["envshim"]
    return None


def open_project(directory: str | os.PathLike[str], environ: Mapping[str, str]) -> ProjectLink:
    """Root, options (envshim.toml overlaid with the `_.envshim` table) and the link."""
    from .project import OPTIONS_FILE, find_project

    project = find_project(directory, None, environ)
    options = dict(project.options)
    options_path = project.root / OPTIONS_FILE if project.options_path else None
    mise_path = None
    for name in MISE_FILES:
        path = project.root / name
        if path.is_file():
            table = _mise_table(path)
            if table is not None:
                mise_path = path
                if "user_store" in table or options_path is None:
                    options_path = path if "user_store" in table else options_path
                options.update(table)
                break
    link = find_link(project.root, options, options_path=options_path)
    return ProjectLink(project.root, options, options_path, mise_path, link)


def write_link(project: ProjectLink, store_id: str, *, create_options: bool) -> Path:
    """Write ``user_store = "<id>"`` with tomlkit, keeping comments and layout.

    Goes where the project keeps it: the `_.envshim` table of mise.toml when
    that already holds ``user_store`` (or when there is no envshim.toml),
    else envshim.toml, which only ``user init`` may create.
    """
    import tomlkit

    from .atomic import replace_preserving_mode
    from .project import OPTIONS_FILE

    check_id(store_id)
    envshim_toml = project.root / OPTIONS_FILE
    use_mise = project.mise_table is not None and (
        not envshim_toml.is_file() or project.options_path == project.mise_table
    )
    if use_mise:
        assert project.mise_table is not None
        target = project.mise_table
        doc = tomlkit.parse(target.read_text(encoding="utf-8"))
        env = doc["env"]
        tables = env if isinstance(env, list) else [env]
        for table in tables:
            under = table.get("_") if hasattr(table, "get") else None
            if under is not None and "envshim" in under:
                under["envshim"]["user_store"] = store_id
                break
    else:
        target = envshim_toml
        if target.is_file():
            doc = tomlkit.parse(target.read_text(encoding="utf-8"))
        elif create_options:
            doc = tomlkit.document()
            doc.add(tomlkit.comment("envshim options (committed): see `envshim --help`"))
        else:
            raise ConfigError(
                "no envshim.toml here to hold the store id",
                path=project.root,
                hint="run `envshim user init` to create one",
            )
        doc["user_store"] = store_id
    text = tomlkit.dumps(doc)
    if target.exists():
        replace_preserving_mode(target, text)
    else:
        from .atomic import write_atomic

        write_atomic(target, text, mode=0o644, dir_mode=0o755, lock=False)
    return target
