"""``envshim doctor``: the onboarding chain, one small check per link, each with its next step.

Every check is a function ``check_x(d) -> list[Result]``. A check whose
external tool (mise, direnv, git) is missing says so instead of failing.

Statuses: ``ok`` ✓; ``fail`` ✗ (needed: doctor exits 1); ``warn`` ! (worth
doing, not needed: `envshim run` works without a shell hook, trust is a
deliberate act); ``skip`` · (not used here, or not available).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EnvshimError

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
MARKS = {OK: "✓", FAIL: "✗", WARN: "!", SKIP: "·"}
PLAINTEXT_IGNORES = (".env", ".env.keys")
EXAMPLE_NAMES = (".env.example", ".env.sample", ".env.template", ".env.dist")
MISE_FILES = (
    "mise.toml",
    ".mise.toml",
    ".config/mise.toml",
    ".config/mise/config.toml",
    "mise/config.toml",
    ".mise/config.toml",
    "mise.local.toml",
    ".mise.local.toml",
)


@dataclass
class Result:
    check: str
    status: str
    message: str
    next: str = ""  # the exact next step
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

    # -- shared, computed once --------------------------------------------------------

    def project(self) -> Any:
        if "project" not in self._cache:
            from .project import find_project

            self._cache["project"] = find_project(self.cwd, self.env, self.environ)
        return self._cache["project"]

    def git_top(self) -> Path | None:
        if "git" not in self._cache:
            from .scan import git_toplevel

            self._cache["git"] = git_toplevel(self.project().root) if shutil.which("git") else None
        return self._cache["git"]

    def identities(self) -> list[Any]:
        """The identities we hold; [] when none or when a key file is refused (reported by check_identity)."""
        if "ids" not in self._cache:
            from .keys import load_identities

            try:
                self._cache["ids"] = load_identities(self.environ, warnings=[])
            except EnvshimError:
                self._cache["ids"] = []
        return self._cache["ids"]

    def resolution(self) -> Any:
        """The merged environment (a file we hold no key for is skipped), or the error.

        A missing mise ``required`` key stops a resolution; here each one gets an
        empty stand-in so the rest can be checked (check_required reports it).
        """
        if "res" not in self._cache:
            from .errors import MissingRequiredError
            from .resolve import resolve

            environ = dict(self.environ)
            for _attempt in range(2):
                try:
                    self._cache["res"] = resolve(
                        self.cwd, self.env, environ=environ, missing_key=self.missing_key
                    )
                    break
                except MissingRequiredError as exc:
                    self._cache["res"] = exc
                    stand_ins = {k: "" for k in mise_required(self) if k not in environ}
                    if not stand_ins:
                        break
                    environ.update(stand_ins)
                except EnvshimError as exc:
                    self._cache["res"] = exc
                    break
        return self._cache["res"]

    def team_files(self) -> list[Path]:
        """The project's secret files."""
        if "team" not in self._cache:
            from .layers.base import LayerContext
            from .layers.team import secret_files

            p = self.project()
            ctx = LayerContext(
                cwd=p.cwd,
                root=p.root,
                profiles=p.profiles,
                environ=self.environ,
                options={**p.options, **self.mise_table()},
            )
            self._cache["team"] = list(secret_files(ctx))
        return self._cache["team"]

    def mise_configs(self) -> list[Path]:
        root = self.project().root
        return [root / n for n in MISE_FILES if (root / n).is_file()]

    def mise_table(self) -> dict[str, Any]:
        """The `_.envshim` table's options (they win over envshim.toml key by key)."""
        for path in self.mise_configs():
            data = _toml(path)
            env = data.get("env") if data else None
            for table in env if isinstance(env, list) else [env]:
                under = table.get("_") if isinstance(table, dict) else None
                if isinstance(under, dict) and "envshim" in under:
                    value = under["envshim"]
                    return value if isinstance(value, dict) else {}
        return {}

    def has_directive(self) -> Path | None:
        for path in self.mise_configs():
            data = _toml(path)
            env = data.get("env") if data else None
            for table in env if isinstance(env, list) else [env]:
                under = table.get("_") if isinstance(table, dict) else None
                if isinstance(under, dict) and "envshim" in under:
                    return path
        return None

    def rel(self, path: Path) -> str:
        try:
            return str(Path(path).relative_to(self.project().root))
        except ValueError:
            return str(path)

    def home(self) -> Path:
        from .paths import home

        return home(self.environ)


def _toml(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def _tool_version(argv: list[str]) -> str | None:
    if not shutil.which(argv[0]):
        return None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0].strip() if out and proc.returncode == 0 else None


def _quote_path(path: Path | str) -> str:
    return shlex.quote(str(path))


# -- checks ---------------------------------------------------------------------------


def check_versions(d: Doctor) -> list[Result]:
    from .cli import version

    py = ".".join(map(str, sys.version_info[:3]))
    return [Result("versions", OK, f"python {py}, envshim {version()}")]


_HOOK_RE = re.compile(r"envshim\s+hook")
_DIRENV_RE = re.compile(r"direnv\s+hook")
_MISE_RE = re.compile(r"\bmise\b[^\n]*\bactivate\b")


def rc_files(shell: str, environ: dict[str, str], home: Path) -> list[Path]:
    if shell == "bash":
        return [home / ".bashrc", home / ".bash_profile", home / ".bash_login", home / ".profile"]
    if shell == "zsh":
        zdot = Path(environ.get("ZDOTDIR") or home)
        return [zdot / ".zshrc", zdot / ".zprofile", zdot / ".zshenv"]
    if shell == "fish":
        from .paths import config_home

        conf = config_home(environ) / "fish"
        extra = sorted((conf / "conf.d").glob("*.fish")) if (conf / "conf.d").is_dir() else []
        return [conf / "config.fish", *extra]
    return []


def hook_line(shell: str) -> str:
    if shell == "fish":
        return "envshim hook fish | source"
    return f'eval "$(envshim hook {shell})"'


def detect_shell(d: Doctor) -> str | None:
    if d.shell:
        return d.shell
    try:
        import shellingham

        name, _ = shellingham.detect_shell()
        return name
    except Exception:  # shellingham missing or the parent chain has no shell
        shell = d.environ.get("SHELL")
        return os.path.basename(shell) if shell else None


def check_shell(d: Doctor) -> list[Result]:
    shell = detect_shell(d)
    if shell is None:
        return [Result("shell", SKIP, "no shell detected (not run from a shell)")]
    files = rc_files(shell, d.environ, d.home())
    if not files:
        return [
            Result(
                "shell",
                WARN,
                f"{shell}: no hook for this shell",
                "use bash, zsh or fish, or `envshim run -- CMD`",
            )
        ]
    texts = {f: _uncommented(f) for f in files if f.is_file()}
    for f, text in texts.items():
        if _HOOK_RE.search(text):
            return [Result("shell", OK, f"{shell}: {_tilde(f, d)} evaluates `envshim hook`")]
    root = d.project().root
    for f, text in texts.items():
        if _DIRENV_RE.search(text):
            envrc = root / ".envrc"
            if envrc.is_file() and re.search(
                r"^\s*use\s+envshim\b", envrc.read_text(errors="replace"), re.M
            ):
                return [
                    Result(
                        "shell",
                        OK,
                        f"{shell}: direnv hook in {_tilde(f, d)}, `use envshim` in .envrc",
                    )
                ]
            return [
                Result(
                    "shell",
                    WARN,
                    f"{shell}: direnv is hooked but .envrc does not `use envshim`",
                    f"add `use envshim` to {envrc}, then `direnv allow`",
                )
            ]
    for f, text in texts.items():
        if _MISE_RE.search(text):
            if d.has_directive():
                return [
                    Result(
                        "shell",
                        OK,
                        f"{shell}: mise activate in {_tilde(f, d)}, `_.envshim` in mise.toml",
                    )
                ]
            return [
                Result(
                    "shell",
                    WARN,
                    f"{shell}: mise is activated but mise.toml has no `_.envshim`",
                    "run `envshim init --mise`, or add the envshim hook",
                )
            ]
    target = _tilde(files[0], d)
    return [
        Result(
            "shell",
            WARN,
            f"{shell}: {target} does not load envshim",
            f"echo {shlex.quote(hook_line(shell))} >> {target} (or use `envshim run -- CMD`)",
        )
    ]


def _uncommented(path: Path) -> str:
    """An rc file without its comment lines (a commented-out hook does not count)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))


def _tilde(path: Path, d: Doctor) -> str:
    home = str(d.home())
    text = str(path)
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text


def check_trust(d: Doctor) -> list[Result]:
    from . import trust

    root = d.project().root
    if not trust.is_project(root):
        return [Result("trust", SKIP, "no envshim or mise config here")]
    verdict = trust.check(root, d.environ)
    res = d.resolution()
    if verdict.allowed and not isinstance(res, EnvshimError):
        verdict = trust.check_resolution(verdict, res, d.environ)
    step = f"review the config, then `envshim allow {_quote_path(root)}`"
    if verdict.allowed:
        added = trust.new_recipients(root, d.environ)
        if added:
            return [
                Result(
                    "trust",
                    WARN,
                    f".sops.yaml gained recipient(s) since `allow`: {', '.join(added)}",
                    f"check they are teammates, then `envshim allow {_quote_path(root)}`",
                )
            ]
        return [Result("trust", OK, "this project's config is allowed")]
    if verdict.status == trust.CHANGED:
        names = ", ".join(d.rel(Path(p)) for p in verdict.changed)
        return [Result("trust", WARN, f"changed since `envshim allow`: {names}", step)]
    return [
        Result(
            "trust", WARN, "not allowed yet: the hook, direnv and the plugin will not load it", step
        )
    ]


def check_mise(d: Doctor) -> list[Result]:
    configs = d.mise_configs()
    if not configs:
        return [Result("mise", SKIP, "no mise config here")]
    version = _tool_version(["mise", "--version"])
    directive = d.has_directive()
    if version is None:
        note = " (envshim reads it itself)"
        return [Result("mise", SKIP, f"{d.rel(configs[0])} present, mise not installed{note}")]
    if directive is None:
        return [Result("mise", OK, f"mise {version.split()[0]}")]
    from .init import mise_plugins

    names = mise_plugins(d.environ)
    if "envshim" in names:
        return [Result("mise", OK, f"mise {version.split()[0]}, envshim plugin installed")]
    try:
        from .resources import mise_plugin_dir

        step = f"mise plugins link envshim {_quote_path(mise_plugin_dir())}"
    except (ImportError, FileNotFoundError):
        step = "install the envshim mise plugin (mise plugins link envshim <envshim>/mise-plugin)"
    return [
        Result(
            "mise",
            FAIL,
            f"{d.rel(directive)} has `_.envshim` but the mise plugin is not "
            "installed: every `mise env` fails",
            step,
        )
    ]


def check_direnv(d: Doctor) -> list[Result]:
    envrc = d.project().root / ".envrc"
    if not envrc.is_file():
        return [Result("direnv", SKIP, "no .envrc here")]
    uses = re.search(r"^\s*use\s+envshim\b", envrc.read_text(errors="replace"), re.M)
    version = _tool_version(["direnv", "version"])
    if version is None:
        return [
            Result(
                "direnv",
                WARN if uses else SKIP,
                ".envrc present, direnv not installed",
                "install direnv, or use `envshim hook`" if uses else "",
            )
        ]
    if not uses:
        return [Result("direnv", OK, f"direnv {version} (.envrc does not use envshim)")]
    from .commands.direnv import lib_path
    from .commands.hook import hook_text

    path, wanted = lib_path(d.environ), hook_text("direnv")
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current == wanted:
        return [Result("direnv", OK, f"direnv {version}, use_envshim installed")]
    state = "out of date" if current is not None else "not installed"
    if d.fix:
        from .atomic import write_atomic

        # not a secret: readable like the rest of direnv's lib
        write_atomic(path, wanted, mode=0o644, dir_mode=0o755)
        return [
            Result(
                "direnv",
                OK,
                f"direnv {version}, use_envshim installed",
                fixed=f"wrote {_tilde(path, d)}",
            )
        ]
    return [
        Result(
            "direnv",
            FAIL,
            f"direnv {version}: .envrc uses envshim but use_envshim is {state}",
            "envshim direnv install (or envshim doctor --fix)",
        )
    ]


def check_identity(d: Doctor) -> list[Result]:
    from .keys import default_key_file, identity_files, load_identities, write_new_identity

    fixed = []
    if d.fix:
        for path in identity_files(d.environ):
            if path.is_file() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
                fixed.append(f"chmod 600 {path}")
    try:
        identities = load_identities(d.environ, warnings=[])
    except EnvshimError as exc:
        return [Result("identity", FAIL, str(exc).split(";")[0], exc.hint or "", "; ".join(fixed))]
    d._cache["ids"] = identities
    if not identities:
        path = default_key_file(d.environ)
        if d.fix:
            public = write_new_identity(path)
            d._cache["ids"] = load_identities(d.environ, warnings=[])
            fixed.append(f"created {path}")
            return [
                Result(
                    "identity", OK, f"{public} in {_tilde(path, d)} (0600)", fixed="; ".join(fixed)
                )
            ]
        return [
            Result(
                "identity",
                FAIL,
                "no age identity found",
                f"envshim join (creates {_tilde(path, d)} and prints the line for a maintainer)",
            )
        ]
    first = identities[0]
    where = first.source if first.source.startswith("$") else _tilde(Path(first.source), d)
    more = f" (+{len(identities) - 1} more)" if len(identities) > 1 else ""
    mode = ""
    if not first.source.startswith("$"):
        mode = f", {Path(first.source).stat().st_mode & 0o777:o}"
    return [
        Result("identity", OK, f"{first.recipient} in {where}{mode}{more}", fixed="; ".join(fixed))
    ]


def file_recipients(path: Path) -> list[str] | None:
    """The age recipients recorded in a sops file; None for formats that do not record them."""
    if not _is_sops(path):
        return None
    from .formats import sops as sops_fmt

    return list(sops_fmt.file_recipients(path))


def _is_sops(path: Path) -> bool:
    from .formats.sops import is_sops_file

    try:
        return is_sops_file(path)
    except (EnvshimError, OSError):
        return False


def check_recipients(d: Doctor) -> list[Result]:
    files = d.team_files()
    if not files:
        return [Result("recipients", SKIP, "no team secret files in this project")]
    from .keys import normalize_recipient

    mine = {normalize_recipient(i.recipient) for i in d.identities()}
    if not mine:
        return [Result("recipients", FAIL, "cannot check: you have no identity", "envshim join")]
    from .commands.join import recipient_command

    ours = next(
        (r for r in (i.recipient for i in d.identities()) if r.startswith("age1")),
        d.identities()[0].recipient,
    )
    out = []
    for path in files:
        try:
            recipients = file_recipients(path)
        except EnvshimError as exc:
            out.append(Result("recipients", FAIL, str(exc)))
            continue
        if recipients is None:
            out.append(
                Result(
                    "recipients",
                    SKIP,
                    f"{d.rel(path)}: the format does not list its recipients "
                    "(the decrypt check covers it)",
                )
            )
        elif mine & {normalize_recipient(r) for r in recipients}:
            out.append(Result("recipients", OK, f"{d.rel(path)} is encrypted to your key"))
        else:
            out.append(
                Result(
                    "recipients",
                    FAIL,
                    f"{d.rel(path)} is not encrypted to your key {ours}",
                    d._cache.setdefault("not_mine", {}).setdefault(
                        path, f"send this line to a maintainer: `{recipient_command(ours)}`"
                    ),
                )
            )
    return out


def check_decrypt(d: Doctor) -> list[Result]:
    files = d.team_files()
    if not files:
        return [Result("decrypt", SKIP, "no team secret files")]
    from .layers import team

    # per file, so each line names its file
    out = []
    p = d.project()
    from .layers.base import LayerContext

    for path in files:
        ctx = LayerContext(
            cwd=p.cwd,
            root=p.root,
            profiles=p.profiles,
            environ=d.environ,
            options={**p.options, **d.mise_table()},
            missing_key="error",
        )
        not_mine = d._cache.get("not_mine", {}).get(path)
        if not_mine:  # the recipients check found it: the same exact step, not a second guess
            out.append(
                Result(
                    "decrypt",
                    FAIL,
                    f"{d.rel(path)}: cannot be opened with your key until a maintainer adds you",
                    not_mine,
                )
            )
            continue
        try:
            entries = team.read_file(path, ctx)
        except EnvshimError as exc:
            out.append(Result("decrypt", FAIL, f"{d.rel(path)}: {exc.message}", exc.hint or ""))
            continue
        out.append(
            Result(
                "decrypt",
                OK,
                f"{d.rel(path)}: {len(list(entries))} value(s), "
                + ("MAC verified" if _is_sops(path) else "authenticated"),
            )
        )
    return out


def mise_required(d: Doctor) -> dict[str, str]:
    """Keys marked ``{ required = … }`` in the project's mise config files → the file."""
    out: dict[str, str] = {}
    for path in d.mise_configs():
        data = _toml(path) or {}
        env = data.get("env")
        for table in env if isinstance(env, list) else [env]:
            if not isinstance(table, dict):
                continue
            for key, value in table.items():
                if isinstance(value, dict) and value.get("required") not in (None, False):
                    out.setdefault(key, d.rel(path))
    return out


def required_keys(d: Doctor) -> dict[str, str]:
    """Required key → where it is required."""
    out: dict[str, str] = {}
    p = d.project()
    options = {**p.options, **d.mise_table()}
    req = options.get("required") or []
    if isinstance(req, str):
        req = [req]
    for key in req if isinstance(req, list) else []:
        if isinstance(key, str):
            out.setdefault(key, "envshim.toml")
    for key, where in mise_required(d).items():
        out.setdefault(key, where)
    for name in EXAMPLE_NAMES:
        example = p.root / name
        if example.is_file():
            from .formats.dotenv import parse

            try:
                for b in parse(example.read_text(encoding="utf-8", errors="replace"), str(example)):
                    out.setdefault(b.key, name)
            except EnvshimError:
                pass
            break
    return out


def check_required(d: Doctor) -> list[Result]:
    wanted = required_keys(d)
    if not wanted:
        return [
            Result("required", SKIP, "no required keys (envshim.toml, mise.toml, .env.example)")
        ]
    res = d.resolution()
    if isinstance(res, EnvshimError):
        return [
            Result(
                "required", FAIL, f"cannot resolve the environment: {res.message}", res.hint or ""
            )
        ]
    present = set(res) | {k for k in d.environ if k not in res.vars}
    missing = sorted(k for k in wanted if k not in present)
    if not missing:
        return [Result("required", OK, f"all {len(wanted)} required key(s) present")]
    shown = ", ".join(f"{k} ({wanted[k]})" for k in missing)
    first = missing[0]
    return [
        Result(
            "required",
            FAIL,
            f"missing: {shown}",
            f"`envshim user set {first}` for your own value, or ask a maintainer "
            f"(`envshim secrets set {first}`) if it is a team secret",
        )
    ]


def check_user_store(d: Doctor) -> list[Result]:
    from .userstore import Store, open_project

    try:
        link = open_project(d.cwd, d.environ).link
    except EnvshimError as exc:
        return [Result("user store", FAIL, str(exc).split("; ")[0], exc.hint or "")]
    if link is None:
        return [Result("user store", SKIP, "none linked (optional: `envshim user init`)")]
    store = Store(link.id, d.environ)
    if not store.exists():
        return [
            Result(
                "user store",
                WARN,
                f"{link.describe()} names store {link.id}, not on this machine",
                "envshim user init (then `envshim user set KEY`)",
            )
        ]
    fixed = []
    try:
        store.check_permissions()
    except EnvshimError as exc:
        if not d.fix:
            return [Result("user store", FAIL, str(exc).split("; ")[0], exc.hint or "")]
        os.chmod(store.dir, 0o700)
        for path in (store.meta_path, store.values_path):
            if path.exists():
                os.chmod(path, 0o600)
        fixed.append(f"chmod 700/600 {store.dir}")
    try:
        values = store.read(warnings=[])
    except EnvshimError as exc:
        return [
            Result("user store", FAIL, str(exc).split("; ")[0], exc.hint or "", "; ".join(fixed))
        ]
    root = d.project().root
    if not store.belongs_to(root):
        return [
            Result(
                "user store",
                FAIL,
                f"store {link.id} is not linked to {root}",
                "envshim user link",
                "; ".join(fixed),
            )
        ]
    kind = "plaintext" if store.plaintext else "age-encrypted"
    return [
        Result(
            "user store",
            OK,
            f"{link.id}: {len(values)} value(s), {kind}, private",
            fixed="; ".join(fixed),
        )
    ]


def _ignored(top: Path, root: Path, name: str) -> bool:
    target = os.path.relpath(root / name, top)
    proc = subprocess.run(
        ["git", "-C", str(top), "check-ignore", "-q", "--no-index", target],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def check_gitignore(d: Doctor) -> list[Result]:
    top = d.git_top()
    if top is None:
        return [Result("gitignore", SKIP, "not a git repository")]
    root = d.project().root
    missing = [n for n in PLAINTEXT_IGNORES if not _ignored(top, root, n)]
    if not missing:
        return [Result("gitignore", OK, f"{', '.join(PLAINTEXT_IGNORES)} are ignored")]
    gitignore = root / ".gitignore"
    if d.fix:
        add_gitignore(gitignore, missing)
        return [
            Result(
                "gitignore",
                OK,
                f"{', '.join(PLAINTEXT_IGNORES)} are ignored",
                fixed=f"added {', '.join(missing)} to {d.rel(gitignore)}",
            )
        ]
    return [
        Result(
            "gitignore",
            FAIL,
            f"not ignored: {', '.join(missing)}",
            f"printf '%s\\n' {' '.join(missing)} >> {d.rel(gitignore)} (or envshim doctor --fix)",
        )
    ]


def add_gitignore(gitignore: Path, names: list[str]) -> list[str]:
    """Append the names not already listed; return those added."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    present = {ln.strip() for ln in text.splitlines()}
    new = [n for n in names if n not in present and "/" + n not in present]
    if not new:
        return []
    if text and not text.endswith("\n"):
        text += "\n"
    text += "".join(f"{n}\n" for n in new)
    from .atomic import replace_preserving_mode

    replace_preserving_mode(gitignore, text)  # no lock file left in the repository
    return new


def _plaintext_candidates(names: list[str]) -> list[str]:
    out = []
    for name in names:
        base = os.path.basename(name)
        if base in EXAMPLE_NAMES or not (base == ".env" or base.startswith(".env.")):
            continue
        if ".enc." in base or base.endswith((".age", ".enc")) or base == ".env.vault":
            continue
        out.append(name)
    return out


def check_tracked_plaintext(d: Doctor) -> list[Result]:
    top = d.git_top()
    if top is None:
        return [Result("tracked plaintext", SKIP, "not a git repository")]
    proc = subprocess.run(
        ["git", "-C", str(top), "ls-files", "-z"], capture_output=True, check=False
    )
    names = [n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    out = []
    for name in names:
        if os.path.basename(name) == ".env.keys":
            out.append(
                Result(
                    "tracked plaintext",
                    FAIL,
                    f"{name} (private dotenvx keys) is tracked by git",
                    f"git rm --cached {shlex.quote(name)}, then rotate those keys",
                )
            )
    candidates = _plaintext_candidates(names)
    res = d.resolution()
    from . import scan

    secrets = scan.secret_values(res) if not isinstance(res, EnvshimError) else {}
    needles, _ = scan.build_needles(secrets)
    for name in candidates:
        if os.path.basename(name) == ".env.keys":
            continue
        report = scan.Report()
        if needles and (top / name).is_file():
            scan.scan_file(top / name, name, needles, report)
        keys = sorted({k for f in report.findings for k in f.keys})
        if keys:
            out.append(
                Result(
                    "tracked plaintext",
                    FAIL,
                    f"{name} is tracked by git and holds the value of {', '.join(keys)}",
                    f"git rm --cached {shlex.quote(name)}, move the values to "
                    "`envshim secrets set`, and rotate them",
                )
            )
    if not out:
        note = f" ({len(candidates)} .env file(s) checked)" if candidates else ""
        out.append(Result("tracked plaintext", OK, f"no plaintext secret file is tracked{note}"))
    return out


CHECKS: list[Callable[[Doctor], list[Result]]] = [
    check_versions,
    check_shell,
    check_trust,
    check_mise,
    check_direnv,
    check_identity,
    check_recipients,
    check_decrypt,
    check_required,
    check_user_store,
    check_gitignore,
    check_tracked_plaintext,
]


def run_checks(d: Doctor) -> list[Result]:
    results: list[Result] = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_").replace("_", " ")
        try:
            results += check(d)
        except EnvshimError as exc:
            results.append(Result(name, FAIL, str(exc).split("; ")[0], exc.hint or ""))
    return results
