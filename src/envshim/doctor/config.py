"""The project's config: is it allowed, are the required keys there, and does the whole
export work in every supported shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..commands.common import plural
from ..errors import EnvshimError
from .core import FAIL, OK, SKIP, WARN, Doctor, Result, mise_required, quote_path

EXAMPLE_NAMES = (".env.example", ".env.sample", ".env.template", ".env.dist")
SHELLS = {"bash": "bash", "zsh": "zsh", "fish": "fish", "sh": "posix"}  # shell -> renderer


def check_trust(d: Doctor) -> list[Result]:
    from .. import trust

    root = d.project().root
    if not trust.is_project(root):
        return [Result("trust", SKIP, "no envshim or mise config here")]
    verdict = trust.check(root, d.environ)
    res = d.resolution()
    if verdict.allowed and not isinstance(res, EnvshimError):
        verdict = trust.check_resolution(verdict, res, d.environ)
    step = f"review the config, then `envshim allow {quote_path(root)}`"
    if verdict.allowed:
        added = trust.new_recipients(root, d.environ)
        if added:
            return [
                Result(
                    "trust",
                    WARN,
                    f".sops.yaml gained {plural(len(added), 'recipient')} since `allow`: "
                    + ", ".join(added),
                    f"check they are teammates, then `envshim allow {quote_path(root)}`",
                )
            ]
        return [Result("trust", OK, "this project's config is allowed")]
    if verdict.status == trust.CHANGED:
        what = "; ".join(verdict.changed)  # each item already says what changed
        return [Result("trust", WARN, f"changed since `envshim allow`: {what}", step)]
    return [
        Result(
            "trust", WARN, "not allowed yet: the hook, direnv and the plugin will not load it", step
        )
    ]


def enforced_required(d: Doctor) -> dict[str, str]:
    """The keys every load requires (not .env.example's): key → where it is required."""
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
    return out


def required_keys(d: Doctor) -> dict[str, str]:
    """Required key → where it is required (with the names .env.example lists)."""
    p = d.project()
    out = enforced_required(d)
    for name in EXAMPLE_NAMES:
        example = p.root / name
        if example.is_file():
            from ..formats.dotenv import parse

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
        return [Result("required", OK, f"all {plural(len(wanted), 'required key')} present")]
    shown = ", ".join(f"{k} ({wanted[k]})" for k in missing)
    first = quote_path(missing[0])
    step = f"`envshim user set {first}` for your own value"
    if not _has_user_store(d):
        step = f"`envshim user init`, then {step}"
    if (d.project().root / ".sops.yaml").is_file():
        step += f", or ask a maintainer to run `envshim secrets set {first}` for a team secret"
    return [Result("required", FAIL, f"missing: {shown}", step)]


def _has_user_store(d: Doctor) -> bool:
    from ..userstore import open_project

    try:
        return open_project(d.cwd, d.environ).link is not None
    except EnvshimError:
        return True  # a broken link: the user store check says so


# -- the whole export, for every shell --------------------------------------------------

Where = tuple[str | None, int | None]  # (file, line) a name was written at


def _bad_names(renderer: Any, names: dict[str, Where]) -> dict[str, str]:
    """name → why ``renderer`` cannot hold it (the export's own check, one name at a time),
    with the shell's name as ``{}`` so that the shells can be listed together."""
    from ..model import Origin
    from ..shells.base import check

    out = {}
    for key, (path, line) in names.items():
        try:
            check(renderer, {key: ""}, {key: Origin("team", path, line)})
        except EnvshimError as exc:
            out[key] = exc.message.replace(f"by {renderer.name}", "by {}")
    return out


def _sops_names(d: Doctor) -> dict[str, Where]:
    """Every name in the project's sops files, read without decrypting (sops keeps key
    names in plaintext): what each teammate who can open a file will export."""
    from ..formats.sops import key_names
    from .core import is_sops

    out: dict[str, Where] = {}
    for path in d.team_files():
        if not is_sops(path):
            continue
        try:
            for name, line in key_names(path):
                out.setdefault(name, (str(path), line))
        except EnvshimError:
            continue  # the decrypt check names a damaged file
    return out


def check_export(d: Doctor) -> list[Result]:
    """The export's checks for bash, zsh, fish and sh on everything a teammate would load:
    every name of every sops file (readable without a key), then the whole resolution
    this user gets, rendered for each shell."""
    from ..errors import MissingRequiredError
    from ..shells import get_renderer
    from ..shells.base import check

    names = _sops_names(d)
    res = d.resolution()
    if not isinstance(res, EnvshimError):
        for key, var in res.vars.items():
            names.setdefault(key, (var.origin.path, var.origin.line))
    problems: dict[str, dict[str, list[str]]] = {}  # key -> reason -> shells
    whole: list[Result] = []
    for shell, fmt in SHELLS.items():
        renderer = get_renderer(fmt)
        for key, reason in _bad_names(renderer, names).items():
            problems.setdefault(key, {}).setdefault(reason, []).append(shell)
        if isinstance(res, EnvshimError):
            continue
        changes = {k: v for k, v in res.changes().items() if k not in problems}
        try:  # values (a NUL byte) and the renderer itself
            check(renderer, changes, {k: v.origin for k, v in res.vars.items()})
            renderer.render(changes)
        except EnvshimError as exc:
            whole.append(Result("export", FAIL, f"{shell}: {str(exc).split('; ')[0]}"))
    out = [r for key in sorted(problems) for r in _name_results(d, key, names[key], problems[key])]
    if isinstance(res, EnvshimError) and not isinstance(res, MissingRequiredError):
        # the resolution stops at its first error; say it unless a line above names the spot
        spots = {(str(p), ln) for p, ln in names.values() if p}
        if (res.path, res.line) not in spots:
            out.append(Result("export", FAIL, str(res).split("; ")[0], res.hint or ""))
    out += whole
    if out:
        return out
    if isinstance(res, MissingRequiredError):
        return [Result("export", SKIP, "the required check says what is missing")]
    shells = ", ".join(SHELLS)
    return [Result("export", OK, f"{plural(len(names), 'variable')} export cleanly in {shells}")]


def _name_results(d: Doctor, key: str, where: Where, reasons: dict[str, list[str]]) -> list[Result]:
    path, line = where
    at = (d.rel(path) + (f":{line}" if line else "") + ": ") if path else ""
    who = "your" if path and _in_user_store(d, path) else "every teammate's"
    out = []
    for reason, shells in reasons.items():
        if "{}" in reason:
            text = reason.format("envshim" if key.startswith("ENVSHIM_") else ", ".join(shells))
        else:
            text = reason + (f" (in {', '.join(shells)})" if len(shells) < len(SHELLS) else "")
        if "not a valid variable name" in reason:  # left out with a warning (resolve.py)
            out.append(
                Result("export", WARN, f"{at}{text}: {who} export skips it", _rename_step(d, path))
            )
        else:
            out.append(
                Result("export", FAIL, f"{at}{text}: {who} export fails", _rename_step(d, path))
            )
    return out


def _rename_step(d: Doctor, path: str | None) -> str:
    if path is None:
        return "rename the variable"
    p = Path(path)
    if p in d.team_files():
        return f"rename it: `envshim secrets edit {d.here(p)}`"
    if _in_user_store(d, path):
        return "rename it: `envshim user edit`"
    return f"rename it in {d.rel(p)}"


def _in_user_store(d: Doctor, path: str) -> bool:
    import os

    from ..paths import data_dir

    return path.startswith(str(data_dir(d.environ)) + os.sep)
