"""Keys: do you hold an identity, are the secret files encrypted to it, do they open."""

from __future__ import annotations

from pathlib import Path

from ..commands.common import plural
from ..errors import EnvshimError
from .core import FAIL, OK, SKIP, Doctor, Result, file_recipients, is_sops


def check_identity(d: Doctor) -> list[Result]:
    from ..keys import default_key_file, identity_files, load_identities, write_new_identity

    fixed = []
    if d.fix:
        for path in identity_files(d.environ):
            if path.is_file() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
                fixed.append(f"chmod 600 {path}")
    d.forget_resolution()
    d._cache.pop("ids", None)
    d._cache.pop("ids_error", None)
    try:
        identities = load_identities(d.environ, warnings=[])
    except EnvshimError as exc:
        d._cache["ids"], d._cache["ids_error"] = [], exc
        return [Result("identity", FAIL, str(exc).split(";")[0], exc.hint or "", "; ".join(fixed))]
    d._cache["ids"] = identities
    if not identities:
        path = default_key_file(d.environ)
        if d.fix:
            public = write_new_identity(path)
            d._cache["ids"] = load_identities(d.environ, warnings=[])
            fixed.append(f"created {path}")
            d.forget_resolution()
            return [
                Result(
                    "identity", OK, f"{public} in {d.tilde(path)} (0600)", fixed="; ".join(fixed)
                )
            ]
        return [
            Result(
                "identity",
                FAIL,
                "no age identity found",
                f"`envshim join` (creates {d.tilde(path)} and prints the line for a maintainer)",
            )
        ]
    first = identities[0]
    where = first.source if first.source.startswith("$") else d.tilde(Path(first.source))
    more = f" (+{len(identities) - 1} more)" if len(identities) > 1 else ""
    mode = ""
    if not first.source.startswith("$"):
        mode = f", {Path(first.source).stat().st_mode & 0o777:o}"
    return [
        Result("identity", OK, f"{first.recipient} in {where}{mode}{more}", fixed="; ".join(fixed))
    ]


def _no_identity(d: Doctor, check: str) -> Result:
    """Why a check that needs your key cannot run: the refused key file's own fix, else join."""
    error = d.identity_error()
    if error is not None:
        return Result(check, FAIL, f"cannot check: {error.message}", error.hint or "")
    return Result(check, FAIL, "cannot check: you have no age identity", "`envshim join`")


def check_recipients(d: Doctor) -> list[Result]:
    files = d.team_files()
    if not files:
        return [Result("recipients", SKIP, "no team secret files in this project")]
    from ..keys import normalize_recipient

    mine = {normalize_recipient(i.recipient) for i in d.identities()}
    if not mine:
        return [_no_identity(d, "recipients")]
    from ..commands.join import recipient_command

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
    from ..layers import team

    if not d.identities() and d.identity_error() is not None:
        return [_no_identity(d, "decrypt")]
    out = []
    for path in files:  # one line per file, each naming its file
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
            entries = team.read_file(path, d.layer_context(missing_key="error"))
        except EnvshimError as exc:
            out.append(Result("decrypt", FAIL, f"{d.rel(path)}: {exc.message}", exc.hint or ""))
            continue
        how = "MAC verified" if is_sops(path) else "authenticated"
        out.append(
            Result("decrypt", OK, f"{d.rel(path)}: {plural(len(list(entries)), 'value')}, {how}")
        )
    return out
