"""``envshim init``: set envshim up in an existing repository, idempotently.

Each step looks before it writes and reports one line: what it created or
changed, or that it found the thing already in place. Running init twice
therefore changes nothing the second time. Existing files are edited, never
replaced: ``mise.toml`` through tomlkit (comments and order survive),
``.sops.yaml`` through the sops config module (ruamel round-trip),
``.gitignore`` by appending. Secret values only ever reach disk encrypted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .commands.common import plural
from .errors import ConfigError, UsageError
from .gitcmd import git_argv

SECRETS_FILE = "secrets.enc.env"
IGNORED = (".env", ".env.keys")

OPTIONS_TEXT = """\
# envshim project options (committed with the repository).
# Secret files: without `files`, the conventional names at the root are read:
#   secrets.enc.env, secrets.enc.yaml, secrets.enc.json, secrets.env.age,
#   and per profile secrets.<profile>.enc.env, ...
# files = ["secrets.enc.env"]
# Keys that must be present (`envshim doctor` checks them):
required = []
"""


@dataclass
class Init:
    root: Path
    environ: Mapping[str, str]
    mise: bool = False
    pre_commit: bool = False
    from_dotenv: Path | None = None
    from_dotenvx: bool = False
    force: bool = False
    keep: bool = False
    direnv: bool = False  # --direnv: write an .envrc with `use envshim`
    done: list[tuple[bool, str]] = field(default_factory=list)  # (changed, message)
    also_commit: list[str] = field(default_factory=list)  # beyond the files every init makes
    next_steps: list[str] = field(default_factory=list)

    def changed(self, message: str) -> None:
        self.done.append((True, message))

    def kept(self, message: str) -> None:
        self.done.append((False, message))

    @property
    def any_change(self) -> bool:
        return any(changed for changed, _ in self.done)


# -- helpers ------------------------------------------------------------------------------


def repository_root(directory: Path) -> Path:
    """``directory`` itself, which must be inside a git work tree."""
    if not directory.is_dir():
        raise UsageError(f"not a directory: {directory}")
    if shutil.which("git") is None:
        raise UsageError("git is not installed", hint="envshim init sets up a git repository")
    proc = subprocess.run(
        git_argv("rev-parse", "--is-inside-work-tree", cwd=directory),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or proc.stdout.strip() != "true":
        raise UsageError(
            "not a git repository",
            path=directory,
            hint="run `git init` first (or cd into the repository)",
        )
    return directory.resolve()


def create_file(path: Path, text: str) -> None:
    """Write a new (non-secret) project file; never replaces one that exists."""
    from .atomic import write_atomic

    write_atomic(path, text, mode=0o644, overwrite=False, lock=False)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# -- steps ---------------------------------------------------------------------------------


def step_identity(it: Init) -> str:
    """Your age public key; a new identity when you have none."""
    from .commands.join import own_recipient

    recipient, source, created = own_recipient(dict(it.environ), create=True)
    if created:
        it.changed(f"created your age identity {source} (0600; back it up, never commit it)")
    else:
        it.kept(f"using your age identity {recipient} from {source}")
    return recipient


def step_options(it: Init) -> None:
    path = it.root / "envshim.toml"
    if path.exists():
        it.kept("envshim.toml exists; kept as it is")
        return
    create_file(path, OPTIONS_TEXT)
    it.changed("created envshim.toml")


def _mise_path(root: Path) -> Path:
    from .project import MISE_FILES

    for name in MISE_FILES:
        if (root / name).is_file():
            return root / name
    return root / "mise.toml"


def has_directive(doc: Any) -> bool:
    env = doc.get("env")
    tables = env if isinstance(env, list) else [env]
    for table in tables:
        under = table.get("_") if isinstance(table, dict) else None
        if isinstance(under, dict) and "envshim" in under:
            return True
    return False


def add_directive(text: str, path: Path) -> str | None:
    """``text`` with ``_.envshim = {}`` at the end of ``[env]``; None when it is there already."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        raise ConfigError(
            f"invalid TOML: {exc}",
            path=path,
            line=line,
            hint="fix the syntax, then run `envshim init --mise` again",
        ) from None
    if has_directive(doc.unwrap()):
        return None
    env = doc.get("env")
    if env is None:
        table = tomlkit.table()
        table.add(tomlkit.key(["_", "envshim"]), tomlkit.inline_table())
        doc.add("env", table)
    elif type(env) is tomlkit.items.Table:
        # at the end: the team and user layers enter where they would without a directive
        env.add(tomlkit.key(["_", "envshim"]), tomlkit.inline_table())
    else:  # inline, [[env]] arrays, dotted `env.X =` keys, a table split in several places
        raise ConfigError(
            "env is written in a form envshim does not edit (inline, dotted, array or split)",
            path=path,
            hint="add `_.envshim = {}` as the last entry of your env table yourself",
        )
    out = tomlkit.dumps(doc)
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        out = out.replace("\r\n", "\n").replace("\n", "\r\n")  # keep a CRLF file CRLF
    return out


def step_mise(it: Init) -> None:
    path = _mise_path(it.root)
    if not it.mise:
        if path.is_file():
            import tomllib

            try:
                in_use = has_directive(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                in_use = False
            if in_use:
                it.kept(f"{_rel(path, it.root)} already has `_.envshim`")
                _link_plugin(it)
                return
            if not (shutil.which("mise") and "envshim" in mise_plugins(it.environ)):
                return  # mise.toml stays as it is: the directive breaks mise without the plugin
            it.kept("the envshim mise plugin is in use here: adding the directive (as --mise)")
        else:
            return
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = add_directive(text, path)
    if new is None:
        it.kept(f"{_rel(path, it.root)} already has `_.envshim`")
    else:
        from .atomic import replace_preserving_mode

        replace_preserving_mode(path, new)
        verb = "added `_.envshim = {}` to the end of [env] in" if text else "created"
        it.changed(f"{verb} {_rel(path, it.root)}")
        # mise reads no [env] from a config it does not trust, and teammates need the
        # directive too
        rel = _rel(path, it.root)
        it.next_steps.append(f"mise trust {rel}   (mise's own trust, for mise env)")
        it.next_steps.append(f"commit {rel} too: teammates' mise needs the directive")
    _link_plugin(it)


def _link_plugin(it: Init) -> None:
    """The directive makes every `mise env` fail until the plugin is installed: link it."""
    if shutil.which("mise") is None:
        it.next_steps.append(
            "install mise and run `mise plugins link envshim <envshim>/mise-plugin` "
            "(the `_.envshim` directive needs the plugin)"
        )
        return
    if "envshim" in mise_plugins(it.environ):
        it.kept("the envshim mise plugin is installed")
        return
    try:
        from .resources import mise_plugin_dir

        plugin = mise_plugin_dir()
    except (ImportError, FileNotFoundError):
        it.next_steps.append("install the envshim mise plugin (`mise plugins link envshim <dir>`)")
        return
    proc = run_mise(it.environ, "plugins", "link", "envshim", str(plugin))
    if proc.returncode == 0:
        it.changed(f"linked the envshim mise plugin ({plugin})")
    else:
        errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln and "--verbose" not in ln]
        it.next_steps.append(
            f"mise plugins link envshim {plugin}  (init could not: {(errors or ['failed'])[0].strip()})"
        )


def run_mise(environ: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """mise, run away from the project: with `_.envshim` and no plugin, mise fails on every
    command inside it (even `plugins link`)."""
    return subprocess.run(
        ["mise", *args],
        capture_output=True,
        text=True,
        env=dict(environ),
        cwd=os.path.abspath(os.sep),
        check=False,
        timeout=120,
    )


def mise_plugins(environ: Mapping[str, str]) -> set[str]:
    proc = run_mise(environ, "plugins", "ls")
    return {ln.split()[0] for ln in proc.stdout.splitlines() if ln.strip()}


_USE_ENVSHIM = re.compile(r"^\s*use\s+envshim\b", re.M)


def step_envrc(it: Init) -> None:
    """An ``.envrc`` only when direnv will run it: asked for (``--direnv``), or direnv's hook
    is active in the calling shell. Otherwise the envshim hook loads the project, and an
    ``.envrc`` nobody runs would only mislead."""
    path = it.root / ".envrc"
    if path.exists():
        text = path.read_text(encoding="utf-8", errors="replace")
        if _USE_ENVSHIM.search(text):
            it.kept(".envrc already has `use envshim`")
            it.also_commit.append(".envrc")
            _direnv_lib(it)
        elif it.direnv or _direnv_active(it):
            it.kept(".envrc exists without `use envshim`; not edited")
            it.next_steps.append("add `use envshim` to .envrc, then `direnv allow`")
        return
    if shutil.which("direnv") is None:
        if it.direnv:
            raise UsageError("--direnv: direnv is not installed", hint="install direnv first")
        return
    if not it.direnv and not _direnv_active(it):
        return
    why = "--direnv" if it.direnv else "direnv's hook is active in your shell"
    create_file(path, "use envshim\n")
    it.changed(f"created .envrc with `use envshim` ({why})")
    it.also_commit.append(".envrc")
    _direnv_lib(it)
    it.next_steps.append("direnv allow")


def _direnv_active(it: Init) -> bool:
    from .hook.who import direnv_hook_active

    return shutil.which("direnv") is not None and direnv_hook_active(it.environ)


def _direnv_lib(it: Init) -> None:
    """`use envshim` needs the use_envshim function in direnv's lib directory."""
    from .commands.direnv import lib_path
    from .commands.hook import hook_text

    path, wanted = lib_path(it.environ), hook_text("direnv")
    try:
        if path.read_text(encoding="utf-8") == wanted:
            return
    except (OSError, UnicodeDecodeError):
        pass
    from .atomic import write_atomic

    write_atomic(path, wanted, mode=0o644, dir_mode=0o755)  # not a secret, like direnv's own lib
    it.changed(f"installed use_envshim for direnv ({path})")


def step_gitignore(it: Init, extra: list[str]) -> None:
    from .doctor import add_gitignore

    names = [*IGNORED, *extra]
    added = add_gitignore(it.root / ".gitignore", names)
    if added:
        it.changed(f"added {', '.join(added)} to .gitignore")
    else:
        it.kept(f".gitignore already lists {', '.join(names)}")


def step_pre_commit(it: Init) -> None:
    if not it.pre_commit:
        return
    from .scan import install_hook

    message = install_hook(it.root)
    if "nothing changed" in message:
        it.kept(message)
    else:
        it.changed(message)


# -- sops: .sops.yaml and the secrets file ----------------------------------------------------


def sops_config_path(root: Path) -> Path:
    """The `.sops.yaml` sops would use here, if it is inside this repository; else a new one at root.

    A config above the repository (a `~/.sops.yaml`, say) is not the project's to edit.
    """
    from .scan import git_toplevel
    from .sopsconfig import find_config

    found = find_config(root)
    top = git_toplevel(root) or root
    if found is not None and found.resolve().is_relative_to(top.resolve()):
        return found
    return root / ".sops.yaml"


def step_sops_config(it: Init, recipient: str) -> None:
    """`.sops.yaml` (sops' own config, edited through envshim.sopsconfig) encrypts secret files to you."""
    from . import sopsconfig
    from .keys import normalize_recipient

    config = sops_config_path(it.root)
    target = it.root / SECRETS_FILE
    name = _rel(config, it.root)
    if not config.exists():
        sopsconfig.edit_recipients(config, [target], add=recipient)
        it.changed(f"created {name}: secret files are encrypted to {recipient}")
        return
    rule = sopsconfig.creation_rule(target, config)  # no rule for the file: a clear error
    mine = normalize_recipient(recipient)
    if any(normalize_recipient(r) == mine for group in rule.groups for r in group):
        it.kept(f"{name} already encrypts {SECRETS_FILE} to your key")
        return
    if len(rule.groups) > 1:
        it.kept(f"{name} uses key_groups; not edited")
        it.next_steps.append(f"envshim recipients add {recipient}")
        return
    sopsconfig.edit_recipients(config, [target], add=recipient)
    it.changed(f"added your key {recipient} to the {name} rule for {SECRETS_FILE}")


def creation_rule(it: Init, path: Path):
    from .sopsconfig import creation_rule as rule_for

    return rule_for(path, sops_config_path(it.root))


def _identities(environ: Mapping[str, str]) -> list[Any]:
    from .keys import load_identities

    return load_identities(environ, warnings=[])


def write_secrets(path: Path, values: list[tuple[str, str]], rule: Any) -> None:
    """A new sops dotenv file holding ``values``, encrypted by ``rule`` (nothing in plaintext)."""
    from .formats import sops

    doc = sops.empty_document(path, rule)
    for key, value in values:
        doc.set(key, value)
    from .atomic import write_atomic

    write_atomic(path, doc.render(), mode=0o644, overwrite=False, lock=False)


def read_pairs(path: Path, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    from .formats import sops

    return [(k, v) for k, v, _line in sops.decrypt_file(path, _identities(environ))]


def set_values(path: Path, values: list[tuple[str, str]], environ: Mapping[str, str]) -> None:
    from .formats import sops

    doc = sops.open_document(path, _identities(environ))
    for key, value in values:
        doc.set(key, value)
    doc.save()


def step_secrets_file(it: Init, path: Path, values: list[tuple[str, str]], origin: str) -> None:
    name = _rel(path, it.root)
    if not path.exists():
        rule = creation_rule(it, path)
        write_secrets(path, values, rule)
        recipients = {r for group in rule.groups for r in group}
        what = f"with {plural(len(values), 'value')} from {origin}" if values else "(empty)"
        to = plural(len(recipients), "recipient")
        it.changed(f"created {name} {what}, encrypted with sops to {to}")
        return
    if not values:
        it.kept(f"{name} exists; kept as it is")
        return
    current = dict(read_pairs(path, it.environ))
    clash = sorted(k for k, v in values if k in current and current[k] != v)
    if clash and not it.force:
        raise ConfigError(
            f"already holds different values for {', '.join(clash)}; nothing imported",
            path=path,
            hint="rerun with --force to replace them with the imported ones",
        )
    new = [(k, v) for k, v in values if current.get(k) != v]
    if not new:
        it.kept(f"{name} already holds every value from {origin}")
        return
    set_values(path, new, it.environ)
    it.changed(f"wrote {plural(len(new), 'value')} from {origin} into {name}")


def dotenvx_files(root: Path) -> list[tuple[Path, Path]]:
    """(dotenvx file, the sops file it moves to): ``.env`` → secrets.enc.env, ``.env.NAME`` → secrets.NAME.enc.env."""
    from .formats.dotenvx import looks_like_dotenvx

    out = []
    for path in sorted(root.glob(".env*")):
        name = path.name
        if (
            not path.is_file()
            or name in (".env.keys", ".env.vault")
            or name.startswith(".env.example")
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not looks_like_dotenvx(text):
            continue
        profile = name[len(".env.") :] if name.startswith(".env.") else ""
        target = root / (f"secrets.{profile}.enc.env" if profile else SECRETS_FILE)
        out.append((path, target))
    return out


def read_dotenvx(path: Path, it: Init) -> list[tuple[str, str]]:
    from .formats.dotenvx import read_file
    from .layers.base import LayerContext

    ctx = LayerContext(cwd=it.root, root=it.root, profiles=[], environ=it.environ, options={})
    return [(k, v) for k, v, _line in read_file(path, ctx)]


def read_dotenv(path: Path) -> list[tuple[str, str]]:
    from .formats.dotenv import parse

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path, hint="a dotenv file is text") from None
    return [(b.key, b.value) for b in parse(text, str(path))]


def run_init(it: Init) -> Init:
    from .names import check_all

    if it.from_dotenv is not None:  # a name no shell can hold stops init before any write
        check_all([k for k, _v in read_dotenv(it.from_dotenv)], path=it.from_dotenv)
    recipient = step_identity(it)
    step_options(it)
    step_mise(it)
    step_envrc(it)
    extra_ignores: list[str] = []
    values: list[tuple[str, str]] = []
    origin = ""
    if it.from_dotenv is not None:
        values = read_dotenv(it.from_dotenv)
        origin = _rel(it.from_dotenv.resolve(), it.root)
        if it.from_dotenv.resolve().parent == it.root:
            extra_ignores.append(it.from_dotenv.name)
    step_sops_config(it, recipient)
    if it.from_dotenvx:
        moves = dotenvx_files(it.root)
        if not moves:
            raise UsageError(
                "no dotenvx-encrypted .env files here",
                path=it.root,
                hint="--from-dotenvx reads .env and .env.NAME files with `encrypted:` values",
            )
        # decrypt everything first: a missing private key stops before anything is written
        loaded = [(src, dst, read_dotenvx(src, it)) for src, dst in moves]
        for src, _dst, vals in loaded:
            check_all([k for k, _v in vals], path=src)
        if not any(dst == it.root / SECRETS_FILE for _s, dst, _v in loaded):
            step_secrets_file(it, it.root / SECRETS_FILE, [], "")
        for src, dst, vals in loaded:
            step_secrets_file(it, dst, vals, src.name)
        names = " ".join(src.name for src, _d, _v in loaded)
        it.next_steps.append(
            f"once `envshim export` shows the same values: git rm {names}, and delete "
            ".env.keys (the dotenvx private keys) everywhere"
        )
    else:
        step_secrets_file(it, it.root / SECRETS_FILE, values, origin)
    step_gitignore(it, extra_ignores)
    step_pre_commit(it)
    if it.from_dotenv is not None and values:
        _finish_move(it, it.from_dotenv)
    _trust_hint(it)
    return it


def _trust_hint(it: Init) -> None:
    from . import trust

    if not trust.check(it.root, it.environ).allowed:
        it.next_steps.append(
            "envshim allow   (trust the config, so the hook, direnv and mise load it)"
        )


def _finish_move(it: Init, source: Path) -> None:
    """The plaintext is now encrypted: remove it (unless --keep) after reading the values back."""
    back = dict(read_pairs(it.root / SECRETS_FILE, it.environ))
    if any(back.get(k) != v for k, v in read_dotenv(source)):
        raise ConfigError(
            f"{SECRETS_FILE} does not read back the values of {source.name}; kept both",
            path=it.root / SECRETS_FILE,
            hint="report this; nothing was deleted",
        )
    if it.keep:
        it.next_steps.append(
            f"delete the plaintext {source} once you have checked `envshim export`"
        )
        return
    source.unlink()
    it.changed(
        f"removed the plaintext {_rel(source.resolve(), it.root)} (its values are in {SECRETS_FILE})"
    )
    tracked = subprocess.run(
        git_argv("ls-files", "--error-unmatch", str(source), cwd=it.root),
        capture_output=True,
        check=False,
    )
    if tracked.returncode == 0:
        it.next_steps.append(
            f"it was committed: `git rm --cached {source.name}` and rotate its values"
        )
