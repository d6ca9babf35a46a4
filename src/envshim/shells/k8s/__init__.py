"""Kubernetes: a ``Secret``, or with ``--split`` a ``ConfigMap`` and a ``Secret``, both
limited to an allowlist; ``--sops`` encrypts the Secret for GitOps (Flux, KSOPS),
``--kustomize`` writes a kustomization with generators instead of manifests.

Where each value goes (``--split``): committed defaults (non-secret values from the
mise layer, already in git as plain text) into the ConfigMap; team and user values,
and every value envshim marks secret, into the Secret. The encryption tool never
runs in the cluster: what envshim writes is either plain YAML or what ``sops``
itself writes, which Flux's kustomize-controller and KSOPS decrypt.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from ...errors import UsageError
from ..base import ExportContext, Renderer
from ..deploy import is_committed_default, pick, read_allowlist, write_out
from .manifest import Meta, config_map, default_name, secret, yaml_string

__all__ = ["K8sRenderer", "default_name", "read_allowlist", "split", "yaml_string"]


def split(
    data: Mapping[str, str], ctx: ExportContext, on: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """(ConfigMap values, Secret values); without ``--split`` everything is Secret."""
    if not on:
        return {}, dict(data)
    config = {k: v for k, v in data.items() if is_committed_default(ctx, k)}
    return config, {k: v for k, v in data.items() if k not in config}


def _remove_plain_secret(path: Path) -> None:
    """A plaintext ``secret.yaml`` that envshim wrote earlier beside the encrypted one
    would be committed with it: remove it (only a Secret with envshim's label)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    if text.startswith("apiVersion: v1\nkind: Secret\n") and _MANAGED in text:
        path.unlink()
        sys.stderr.write(f"envshim: removed the plaintext {path} written by an earlier export\n")


_MANAGED = '"app.kubernetes.io/managed-by": "envshim"'


class K8sRenderer(Renderer):
    name = "k8s"

    def export(self, key: str, value: str) -> str:
        return f"  {yaml_string(key)}: {yaml_string(value)}"

    def unset(self, key: str) -> str:  # pragma: no cover - a Secret holds only values
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        data = {k: v for k, v in changes.items() if v is not None}
        return secret(data, Meta(ExportContext(options={"name": "envshim"})))

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        opts = ctx.options
        out = opts.get("out")
        if (opts.get("sops") or opts.get("kustomize")) and not out:
            flag = "--sops" if opts.get("sops") else "--kustomize"
            raise UsageError(f"{flag} writes files: add --out DIR")
        meta = Meta(ctx)  # bad --name/--namespace before the allowlist is read
        data, _lines = pick(changes, ctx, "k8s", required=True)
        config, secrets = split(data, ctx, bool(opts.get("split") or opts.get("kustomize")))
        if opts.get("kustomize"):
            from .kustomize import write_kustomization

            write_kustomization(Path(out), config, secrets, meta, ctx)
            return ""
        docs = ([config_map(config, meta)] if opts.get("split") else []) + [secret(secrets, meta)]
        if not out:
            return "---\n".join(docs)
        directory = Path(out)
        if directory.exists() and not directory.is_dir():
            raise UsageError("--out names a file; give a directory", path=out)
        if opts.get("sops"):
            from .sops import encrypt_secret

            sealed = encrypt_secret(docs[-1], directory / "secret.enc.yaml", ctx)
        if opts.get("split"):
            write_out(str(directory / "configmap.yaml"), docs[0], private=False)
        if opts.get("sops"):
            write_out(str(directory / "secret.enc.yaml"), sealed, private=False)
            _remove_plain_secret(directory / "secret.yaml")
        else:
            write_out(str(directory / "secret.yaml"), docs[-1], private=True)
        return ""
