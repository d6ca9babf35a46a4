"""``--sops``: the Secret encrypted as ``sops`` itself would encrypt it for GitOps.

The recipients (key groups, Shamir threshold, ``mac_only_encrypted``) come from the
``.sops.yaml`` creation rule that matches the file written, as ``sops encrypt`` would
choose it; the encryption rule is always ``encrypted_regex: ^(data|stringData)$``
(what Flux and KSOPS document), so ``apiVersion``, ``kind`` and ``metadata`` stay
readable and only the values are encrypted. The writer is envshim's sops writer
(``envshim secrets set`` uses it); the result is read back by ``sops decrypt``.

A creation rule can name a recipient this user never confirmed (a pulled
``.sops.yaml`` that gained one): the Secret is then refused, as every write of
team secrets is, because that recipient could read every value in it.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError
from ..base import ExportContext

ENCRYPTED_REGEX = "^(data|stringData)$"


def _confirmed(ctx: ExportContext) -> set[str]:
    """Recipients this user confirmed for the project (``envshim allow`` or their own
    ``recipients add``); with no record, only their own keys."""
    from ...errors import EnvshimError
    from ...keys import load_identities, normalize_recipient
    from ...trust import load_record

    record = load_record(Path(ctx.root or "."), ctx.environ) if ctx.root else None
    if record is not None:
        return {normalize_recipient(r) for r in record.recipients}
    try:
        identities = load_identities(ctx.environ, [])
    except EnvshimError:
        identities = []
    return {normalize_recipient(i.recipient) for i in identities}


def encrypt_secret(manifest: str, path: Path, ctx: ExportContext) -> str:
    """The encrypted text of ``manifest`` for the file ``path`` (nothing is written here)."""
    from ...formats.sops import load_plain_branches, new_document
    from ...keys import normalize_recipient
    from ...sopsconfig import creation_rule, find_config
    from ...trust.recipients import short

    path = path.absolute()
    start = path.parent
    while not start.exists() and start != start.parent:  # --out DIR may not exist yet
        start = start.parent
    config = find_config(start)
    if config is None:
        raise ConfigError(
            "no .sops.yaml above the --out directory names the recipients",
            path=path.parent,
            hint="add a creation rule whose path_regex matches secret.enc.yaml",
        )
    rule = creation_rule(path, config)
    confirmed = _confirmed(ctx)
    unconfirmed = [
        r for group in rule.groups for r in group if normalize_recipient(r) not in confirmed
    ]
    if unconfirmed:
        shown = ", ".join(short(r) for r in dict.fromkeys(unconfirmed))
        raise ConfigError(
            f"the creation rule names recipients you have not confirmed: {shown}; "
            "nothing was written",
            path=config,
            hint="check who they are, then run `envshim allow` in the project",
        )
    rule.rule = ("encrypted_regex", ENCRYPTED_REGEX)
    branches = load_plain_branches("yaml", manifest, path)
    return new_document(path, "yaml", branches, rule).render()
