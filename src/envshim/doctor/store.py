"""Your own values: the user store this project links to."""

from __future__ import annotations

import os

from ..commands.common import plural
from ..errors import EnvshimError
from .core import FAIL, OK, SKIP, WARN, Doctor, Result


def check_user_store(d: Doctor) -> list[Result]:
    from ..userstore import Store, open_project

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
                "`envshim user init` creates it here",
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
        d.forget_resolution()
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
                "`envshim user link`",
                "; ".join(fixed),
            )
        ]
    kind = "plaintext" if store.plaintext else "age-encrypted"
    return [
        Result(
            "user store",
            OK,
            f"{link.id}: {plural(len(values), 'value')}, {kind}, private",
            fixed="; ".join(fixed),
        )
    ]


def check_edits(d: Doctor) -> list[Result]:
    """A decrypted copy left on tmpfs by a `secrets edit`/`user edit` that was killed
    (SIGKILL cannot be caught): named here, removed by the next edit or by --fix."""
    from ..editing import remove_stale_edit_dirs, stale_edit_dirs

    stale = stale_edit_dirs(d.environ)
    if not stale:
        return [Result("edits", OK, "no decrypted copy left by a killed edit")]
    if d.fix:
        removed = remove_stale_edit_dirs(d.environ)
        if len(removed) == len(stale):
            message = f"{plural(len(stale), 'copy', 'copies')} removed"
            return [Result("edits", OK, message, fixed="removed what a killed edit left")]
    where = ", ".join(str(p) for p in stale)
    return [
        Result(
            "edits",
            FAIL,
            f"a killed edit left decrypted plaintext in {where}",
            "`envshim doctor --fix` removes it (so does the next `secrets edit`)",
        )
    ]
