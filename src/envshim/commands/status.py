"""``envshim status``: project, profile, trust, what the hook loaded, keys per layer, files.

Committed defaults are shown as written; every other value shows its length only
(``keyless.shown``). Without the key to a secret file, the rest still shows and the
file is named with the step that opens it. In a shell with the hook, the resolution
is computed against the environment as it was before the hook loaded anything (from
``ENVSHIM_STATE``), so it shows what the next prompt would load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .common import add_project_options, plural, write_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_project_options(parser)


def _hook_view(environ: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """What the hook loaded in this shell, and the environment before it."""
    from ..hook import STATE_VAR, State, StateError, hash_key, place_environ, revert

    try:
        state = State.decode(environ.get(STATE_VAR))
    except StateError:
        state = None
    if state is None:
        return None, environ
    key = hash_key(place_environ(environ, state))
    base = revert(environ, state, key)
    base.pop(STATE_VAR, None)
    view = {
        "root": state.root,
        "profile": state.profile,
        "keys": sorted(state.prev),
        "changed_by_hand": sorted(set(state.prev) - state.unchanged(environ, key)),
        "direnv_manages": state.aside,
        "not_allowed_seen": state.noticed,
    }
    return view, base


def run(args: argparse.Namespace) -> int:
    from .. import trust
    from ..errors import EnvshimError
    from ..keys import JOIN_HINT
    from ..project import find_root
    from .keyless import resolve_what_opens, shown

    environ = dict(os.environ)
    hooked, base = _hook_view(environ)
    here = Path(os.path.abspath(args.dir))
    root = find_root(here)
    verdict = trust.check(root)
    resolution, error, locked = None, None, []
    try:
        # without a key: what opens is shown, and what does not is named (keyless.py)
        resolution, locked = resolve_what_opens(here, args.env, args.missing_key, base)
        verdict = trust.check_resolution(verdict, resolution)
    except EnvshimError as exc:
        error = str(exc)
    trust_text = {
        trust.ALLOWED: "allowed",
        trust.UNTRUSTED: "not allowed (run `envshim allow`)",
        trust.CHANGED: "changed since `envshim allow`: "
        + "; ".join(verdict.changed)
        + " (run `envshim allow`)",
    }[verdict.status]
    if not trust.is_project(root):
        trust_text = "no project here"
    from ..hook.who import who_manages  # who loads this directory in this shell, and why

    manager = who_manages(str(here), str(root), environ)
    recipients = trust.new_recipients(root)
    layers: dict[str, dict[str, str]] = {}
    withheld: dict[str, str] = {}
    if resolution is not None:
        from ..exposure import withheld_in_shell

        withheld = withheld_in_shell(resolution, base, args.env)
        for key, var in sorted(resolution.vars.items()):
            layers.setdefault(var.origin.layer, {})[key] = shown(var)
    for lk in locked:  # sops names are plaintext: a teammate with the key loads them
        for key in lk.names:
            layers.setdefault("team", {}).setdefault(key, "(cannot decrypt)")
    if args.json:
        data = {
            "root": str(root),
            "profile": resolution.profile if resolution else [],
            "trust": verdict.status if trust.is_project(root) else None,
            "trust_changed": verdict.changed,
            "new_recipients": recipients,
            "hook": hooked,
            "hooked": hooked is not None,
            "manager": {"who": manager.who, "reason": manager.reason},
            "keys": {layer: sorted(keys) for layer, keys in layers.items()},
            "files": [str(p) for p in resolution.files] if resolution else [],
            "watch": [str(p) for p in resolution.watch] if resolution else [],
            "error": error,
            "cannot_decrypt": [str(lk.path) for lk in locked],
            "withheld_from_shells": withheld,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0 if error is None else 1
    out = [
        f"project  {root}",
        f"profile  {','.join(resolution.profile) if resolution and resolution.profile else '(none)'}",
        f"trust    {trust_text}",
        f"shell    {_shell_line(hooked, root)}",
        f"loads    {manager.line()}",
    ]
    if recipients:
        out.append(
            "warning  .sops.yaml names recipients added since `envshim allow`: "
            + ", ".join(recipients)
            + " (check them before re-encrypting; `envshim allow` accepts them)"
        )
    if error:
        out.append(f"error    {error}")
    if locked:
        out.append(
            "warning  cannot decrypt "
            + ", ".join(lk.describe(root) for lk in locked)
            + f"; {JOIN_HINT}"
        )
    by_hand = set(hooked["changed_by_hand"]) if hooked else set()
    for layer in ("mise", "team", "user"):
        keys = dict(sorted(layers.get(layer, {}).items()))
        if keys:
            out.append(f"{layer} ({plural(len(keys), 'key')}):")
            width = max(len(k) for k in keys)
            for key, shown in keys.items():
                note = "  (changed by hand in this shell)" if key in by_hand else ""
                if key in withheld:
                    from ..exposure import describe

                    note += f"  ({describe(withheld[key])})"
                out.append(f"  {key:<{width}}  {shown}{note}")
    if resolution is not None:
        out.append("files read:")
        out.extend(f"  {p}" for p in resolution.files)
    write_lines(out)
    return 0 if error is None else 1


def _shell_line(hooked: dict[str, Any] | None, root: Path) -> str:
    if hooked is None:
        return "not loaded by the envshim hook"
    if not hooked["root"]:
        return "hook active; nothing loaded"
    where = "this project" if hooked["root"] == str(root) else hooked["root"]
    profile = ",".join(hooked["profile"])
    keys = plural(len(hooked["keys"]), "key")
    return f"loaded by the hook: {where}{f' ({profile})' if profile else ''}, {keys}"
