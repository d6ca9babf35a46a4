"""What every check shares: the result line, and the project facts computed once."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EnvshimError
from ..project import MISE_FILES as COMMITTED_MISE_FILES

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
MARKS = {OK: "✓", FAIL: "✗", WARN: "!", SKIP: "·"}
MISE_FILES = (*COMMITTED_MISE_FILES, "mise.local.toml", ".mise.local.toml")


@dataclass
class Result:
    """One line of the report. ``next`` is the next step: every command in it is written
    between backticks and works pasted into a shell in the project directory."""

    check: str
    status: str
    message: str
    next: str = ""
    fixed: str = ""  # what --fix did

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.check}: {self.message}"
        if self.fixed:
            text += f" (fixed: {self.fixed})"
        if self.next and self.status != OK:
            text += f" → {self.next}"
        return text

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "next": self.next,
            "fixed": self.fixed,
        }


@dataclass
class Doctor:
    cwd: Path
    environ: dict[str, str]
    fix: bool = False
    shell: str | None = None
    env: str | None = None
    missing_key: str | None = "skip"  # for the resolution; None: the project's own setting
    root: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def project(self) -> Any:
        if "project" not in self._cache:
            from ..project import find_project

            self._cache["project"] = find_project(self.cwd, self.env, self.environ)
        return self._cache["project"]

    def git_top(self) -> Path | None:
        if "git" not in self._cache:
            from ..scan import git_toplevel

            self._cache["git"] = git_toplevel(self.project().root) if shutil.which("git") else None
        return self._cache["git"]

    def identities(self) -> list[Any]:
        """The identities we hold; [] when none or when a key file is refused
        (``identity_error`` then says why)."""
        if "ids" not in self._cache:
            from ..keys import load_identities

            try:
                self._cache["ids"] = load_identities(self.environ, warnings=[])
            except EnvshimError as exc:
                self._cache["ids"], self._cache["ids_error"] = [], exc
        return self._cache["ids"]

    def identity_error(self) -> EnvshimError | None:
        """Why no identity could be loaded (a key file others can read), if that is why."""
        self.identities()
        return self._cache.get("ids_error")

    def resolution(self) -> Any:
        """The merged environment (a file we hold no key for is skipped), or the error.

        A missing ``required`` key (envshim.toml, the `_.envshim` table, mise's
        ``{ required = … }``) stops a resolution; here each one gets an empty stand-in
        so the rest can be checked (check_required reports it).
        """
        if "res" not in self._cache:
            from ..errors import MissingRequiredError
            from ..resolve import resolve

            environ = dict(self.environ)
            for _attempt in range(2):
                try:
                    self._cache["res"] = resolve(
                        self.cwd, self.env, environ=environ, missing_key=self.missing_key
                    )
                    break
                except MissingRequiredError as exc:
                    self._cache["res"] = exc
                    from .config import enforced_required

                    stand_ins = {k: "" for k in enforced_required(self) if k not in environ}
                    if not stand_ins:
                        break
                    environ.update(stand_ins)
                except EnvshimError as exc:
                    self._cache["res"] = exc
                    break
        return self._cache["res"]

    def forget_resolution(self) -> None:
        """A fix changed what the resolution sees (a key file, the user store)."""
        self._cache.pop("res", None)

    def layer_context(self, missing_key: str = "skip") -> Any:
        from ..layers.base import LayerContext

        p = self.project()
        return LayerContext(
            cwd=p.cwd,
            root=p.root,
            profiles=p.profiles,
            environ=self.environ,
            options={**p.options, **self.mise_table()},
            missing_key=missing_key,
        )

    def team_files(self) -> list[Path]:
        """The project's secret files."""
        if "team" not in self._cache:
            from ..layers.team import secret_files

            self._cache["team"] = list(secret_files(self.layer_context()))
        return self._cache["team"]

    def mise_configs(self) -> list[Path]:
        root = self.project().root
        return [root / n for n in MISE_FILES if (root / n).is_file()]

    def _envshim_directive(self) -> tuple[Path, dict[str, Any]] | None:
        for path in self.mise_configs():
            data = read_toml(path)
            env = data.get("env") if data else None
            for table in env if isinstance(env, list) else [env]:
                under = table.get("_") if isinstance(table, dict) else None
                if isinstance(under, dict) and "envshim" in under:
                    value = under["envshim"]
                    return path, value if isinstance(value, dict) else {}
        return None

    def mise_table(self) -> dict[str, Any]:
        """The `_.envshim` table's options (they win over envshim.toml key by key)."""
        found = self._envshim_directive()
        return found[1] if found else {}

    def has_directive(self) -> Path | None:
        found = self._envshim_directive()
        return found[0] if found else None

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the project root, for messages."""
        try:
            return str(Path(path).relative_to(self.project().root))
        except ValueError:
            return str(path)

    def here(self, path: Path | str) -> str:
        """``path`` as a shell word that names it from the working directory, for commands."""
        text = os.path.relpath(path, self.cwd)
        if text.startswith(".." + os.sep + ".." + os.sep):
            text = str(path)
        return shlex.quote(text)

    def home(self) -> Path:
        from ..paths import home

        return home(self.environ)

    def tilde(self, path: Path) -> str:
        """``~/…`` for a path under the home directory (a shell expands it when pasted)."""
        home = str(self.home())
        text = str(path)
        if text.startswith(home + os.sep):
            rest = text[len(home) + 1 :]
            return "~/" + (rest if shlex.quote(rest) == rest else shlex.quote(rest))
        return shlex.quote(text)


def read_toml(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def tool_version(argv: list[str]) -> str | None:
    """The first line ``argv`` prints (a tool's version), or None when it is missing or fails."""
    if not shutil.which(argv[0]):
        return None
    try:
        # from / : mise reads the config of the directory it runs in, and with MISE_YES
        # set even `mise --version` there trusts the project on the user's behalf
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, check=False, cwd=os.sep
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0].strip() if out and proc.returncode == 0 else None


def quote_path(path: Path | str) -> str:
    return shlex.quote(str(path))


def uncommented(path: Path) -> str:
    """A file without its comment lines (a commented-out hook does not count)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))


def is_sops(path: Path) -> bool:
    from ..formats.sops import is_sops_file

    try:
        return is_sops_file(path)
    except (EnvshimError, OSError):
        return False


def file_recipients(path: Path) -> list[str] | None:
    """The age recipients recorded in a sops file; None for formats that do not record them."""
    if not is_sops(path):
        return None
    from ..formats import sops as sops_fmt

    return list(sops_fmt.file_recipients(path))


def mise_required(d: Doctor) -> dict[str, str]:
    """Keys marked ``{ required = … }`` in the project's mise config files → the file."""
    out: dict[str, str] = {}
    for path in d.mise_configs():
        data = read_toml(path) or {}
        env = data.get("env")
        for table in env if isinstance(env, list) else [env]:
            if not isinstance(table, dict):
                continue
            for key, value in table.items():
                if isinstance(value, dict) and value.get("required") not in (None, False):
                    out.setdefault(key, d.rel(path))
    return out
