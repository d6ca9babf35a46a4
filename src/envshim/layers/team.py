"""The team layer: committed encrypted files, decrypted in memory (issue 3).

Which files: the project's ``files`` option (``envshim.toml``, or the
``_.envshim`` table of ``mise.toml``), else the conventional names at the root.
``files`` takes either form:

* a list: ``files = ["secrets.enc.env", "secrets.{profile}.enc.env"]``. An
  entry with ``{profile}`` stands for one file per active profile, in profile
  order, and may be missing (not every profile has secrets); any other entry
  must exist.
* a table: ``files = { default = ["secrets.enc.env"], staging = ["staging.env.age"] }``.
  ``default`` always applies, then the list of each active profile in order.
  Every file named must exist.

Later files win key by key. Values are literal: never expanded, never executed.

How each file is read is decided by its content: a sops file (sops metadata),
an age file (``*.age`` or an age header), a dotenvx file (``encrypted:`` values
and a ``DOTENV_PUBLIC_KEY``). Anything else is refused: a plaintext secret file
in the repository is what envshim exists to prevent.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, DecryptError
from ..model import TEAM, Origin
from .base import Entry, LayerContext

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

CONVENTIONAL = ("secrets.enc.env", "secrets.enc.yaml", "secrets.enc.json", "secrets.env.age")
PROFILE_CONVENTIONAL = (
    "secrets.{profile}.enc.env",
    "secrets.{profile}.enc.yaml",
    "secrets.{profile}.enc.json",
    "secrets.{profile}.env.age",
)
PLACEHOLDER = "{profile}"


def _option_error(message: str, ctx: LayerContext) -> ConfigError:
    return ConfigError(
        message,
        path=_options_file(ctx),
        hint='write files = ["a.enc.env", "secrets.{profile}.enc.env"] '
        "or files = { default = [...], staging = [...] }",
    )


def _names(value: Any, ctx: LayerContext, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _option_error(f"{what} must be a list of file names", ctx)
    return value


def candidate_files(ctx: LayerContext) -> list[tuple[Path, bool]]:
    """Every secret file that could apply, present or not, as ``(path, required)`` in
    reading order: the conventional names (and their profile variants), or those the
    ``files`` option names (``required``: a missing one is an error for the layer)."""
    option = ctx.options.get("files")
    if option is None:
        names = [(n, False) for n in CONVENTIONAL]
        for profile in ctx.profiles:
            names += [(n.replace(PLACEHOLDER, profile), False) for n in PROFILE_CONVENTIONAL]
        return [(ctx.root / n, req) for n, req in names]
    out: list[tuple[str, bool]] = []
    if isinstance(option, dict):
        # lists of profiles that are not active are not read
        out += [(n, True) for n in _names(option.get("default", []), ctx, "files.default")]
        for profile in ctx.profiles:
            out += [(n, True) for n in _names(option.get(profile, []), ctx, f"files.{profile}")]
    else:
        for name in _names(option, ctx, "files"):
            if PLACEHOLDER in name:
                out += [(name.replace(PLACEHOLDER, p), False) for p in ctx.profiles]
            else:
                out.append((name, True))
    return [(ctx.root / name, required) for name, required in out]


def secret_files(ctx: LayerContext) -> list[Path]:
    """The secret files that apply, in reading order (later wins).

    Every candidate, present or not, is added to ``ctx.watch`` so that creating
    one reloads the hook. A file named explicitly in ``files`` that is missing
    is an error.
    """
    found: list[Path] = []
    for path, required in candidate_files(ctx):
        ctx.watch.append(path)
        if path.is_file():
            found.append(path)
        elif required:
            rel = _rel(path, ctx)
            raise ConfigError(
                f"the files option names {rel}, which does not exist",
                path=_options_file(ctx),
                hint=f"create it (`envshim secrets set KEY` writes {rel}) or remove it from files",
            )
    return list(dict.fromkeys(found))


def _options_file(ctx: LayerContext) -> Path:
    path = ctx.root / "envshim.toml"
    return path if path.is_file() else ctx.root / "mise.toml"


def _rel(path: Path, ctx: LayerContext) -> str:
    try:
        return str(path.relative_to(ctx.root))
    except ValueError:
        return str(path)


def _kind(path: Path) -> str:
    """``age`` | ``sops`` | ``dotenvx`` | ``plain``, from the content (the name only hints)."""
    from ..formats.age import is_age
    from ..safeio import read_regular

    data = read_regular(path)
    if is_age(data[:4096]) or path.suffix == ".age":
        return "age"  # a .age file without an age header: the age reader says so
    from ..formats.sops import is_sops_file

    if is_sops_file(path):
        return "sops"
    from ..formats.dotenvx import looks_like_dotenvx

    if looks_like_dotenvx(data.decode("utf-8", "replace")):
        return "dotenvx"
    return "plain"


def read_file(path: Path, ctx: LayerContext) -> list[tuple[str, str, int | None]]:
    """One secret file's ``(key, value, line)`` bindings, decrypted with the keys ``ctx``
    finds; the format is told from the content. A plaintext file is a ConfigError,
    a key that does not open it :class:`~envshim.formats.age.NoMatchingKey`."""
    kind = _kind(path)
    if kind == "age":
        from ..formats.age import read_file as read_age

        return [(b.key, b.value, b.line) for b in read_age(path, ctx)]
    if kind == "sops":
        return _read_sops(path, ctx)
    if kind == "dotenvx":
        from ..formats.dotenvx import read_file as read_dotenvx

        return list(read_dotenvx(path, ctx))
    raise ConfigError(
        "not encrypted: a secret file must be a sops, age or dotenvx file",
        path=path,
        hint=f"encrypt it with `envshim secrets encrypt {_rel(path, ctx)}`, then purge the "
        "plaintext from git history and rotate its values",
    )


def _read_sops(path: Path, ctx: LayerContext) -> list[tuple[str, str, int | None]]:
    from ..formats import sops
    from ..formats.age import NoMatchingKey, describe_identities, identities_for
    from ..keys import JOIN_HINT, normalize_recipient

    identities = identities_for(ctx)
    recipients = [normalize_recipient(r) for r in sops.file_recipients(path)]
    mine = {normalize_recipient(i.recipient) for i in identities}
    if recipients and not mine & set(recipients):
        who = (
            f"{describe_identities(identities)} is a recipient of {path.name}"
            if identities
            else f"you have no age identity, so {path.name} cannot be decrypted"
        )
        raise NoMatchingKey(
            f"{who}; recipients are: {', '.join(recipients)}",
            path=path,
            hint=JOIN_HINT,
        )
    return sops.decrypt_file(path, identities)


def load_team(ctx: LayerContext) -> list[Entry]:
    """Entries from the project's secret files, in file order (later files win).

    A file that none of the user's identities can open follows
    ``ctx.missing_key``: ``error`` raises, ``warn`` adds one warning and skips
    the file, ``skip`` skips it silently (values CI injected into the
    environment then stay as they are). A damaged file is always an error.
    """
    files = secret_files(ctx)
    if not files:
        return []
    from ..formats.age import NoMatchingKey

    entries: list[Entry] = []
    for path in files:
        ctx.open_source(path)  # the gate: this file, at this real path, was allowed
        try:
            bindings = read_file(path, ctx)
        except NoMatchingKey as exc:
            ctx.set_names(path, None)  # not opened: its names stay unknown
            if ctx.missing_key == "error":
                raise
            if ctx.missing_key == "warn":
                ctx.warnings.append(f"{exc} (skipped: --missing-key=warn)")
            continue
        except OSError as exc:
            raise DecryptError(f"cannot read: {exc.strerror}", path=path) from None
        # before anything is applied: a name the allow record lacks stops the load
        ctx.set_names(path, [key for key, _, _ in bindings])
        origin_path = str(path)
        entries += [
            Entry(key, value, Origin(TEAM, origin_path, line), secret=True)
            for key, value, line in bindings
        ]
    return entries
