"""``--kustomize --out DIR``: a kustomization with a ``configMapGenerator`` for committed
defaults and a ``secretGenerator`` for the rest (``kustomize build DIR``, or
``kubectl kustomize DIR``, makes the objects; Flux builds it in the cluster).

Each value is one file (``files: [KEY=config/KEY]``) holding exactly its bytes: an
``envs:`` file would be read line by line (no line breaks, whitespace trimmed,
kubernetes/kubectl#1610), while a file source carries every value, multi-line and
binary-looking ones included. What a generator still cannot carry is refused:
text that is not valid UTF-8 (a lone surrogate) and an object over the API's 1 MiB.
Two names that differ only in case are refused too, since a case-insensitive file
system (macOS, Windows) would make one file of them.

Without ``--sops`` the Secret's files are plaintext on disk: ``secret/`` is 0700 with
0600 files, and ``DIR/.gitignore`` keeps it out of git. With ``--sops`` there are no
such files: the Secret is a sops-encrypted manifest listed under ``resources:``,
which Flux's kustomize-controller decrypts (plain ``kustomize build`` leaves it
encrypted).

envshim rewrites only a directory it wrote: ``kustomization.yaml`` starts with a
marker line, and files of names no longer exported are removed from ``config/`` and
``secret/`` so no stale plaintext stays behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ...errors import UsageError
from ..base import ExportContext, is_valid_name
from ..deploy import refuse, write_out
from .manifest import Meta, check_size, secret, yaml_string

MARKER = "# Written by `envshim export k8s --kustomize`; envshim rewrites this directory."


def _check(ctx: ExportContext, kind: str, data: Mapping[str, str]) -> None:
    seen: dict[str, str] = {}
    for key in sorted(data):
        try:
            data[key].encode("utf-8")
        except UnicodeEncodeError:
            raise refuse(ctx, key, "the value is not valid text (a lone surrogate)",
                         "fix the value where it is written") from None  # fmt: skip
        other = seen.setdefault(key.lower(), key)
        if other != key:
            raise refuse(ctx, key, f"differs from {other} only in case; a case-insensitive "
                         "file system would make one file of them", "rename one")  # fmt: skip
    check_size(kind, data)


def _generator(kind: str, meta: Meta, sources: list[str], secret_type: bool) -> list[str]:
    lines = [f"{kind}:", f"- name: {yaml_string(meta.name)}"]
    if meta.namespace:
        lines.append(f"  namespace: {yaml_string(meta.namespace)}")
    if secret_type:
        lines.append("  type: Opaque")
    lines.append("  files:" if sources else "  literals: []")
    lines += [f"  - {yaml_string(s)}" for s in sources]
    lines.append("  options:")
    for field, mapping in (("labels", meta.labels), ("annotations", meta.annotations)):
        lines.append(f"    {field}:")
        lines += [f"      {yaml_string(k)}: {yaml_string(v)}" for k, v in sorted(mapping.items())]
    return lines


def _prepare(directory: Path) -> None:
    """Refuse a directory envshim did not write (it would mix with someone's files)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError("--out names a file; give a directory", path=directory)
    kustomization = directory / "kustomization.yaml"
    if kustomization.exists():
        with open(kustomization, encoding="utf-8", errors="replace") as fh:
            ours = fh.readline().rstrip("\n") == MARKER
        if not ours:
            raise UsageError("this kustomization.yaml was not written by envshim",
                             path=kustomization,
                             hint="give --out an empty or new directory")  # fmt: skip
        return
    for sub in ("config", "secret"):
        if (directory / sub).exists():
            raise UsageError(f"{sub}/ exists and envshim did not write it",
                             path=directory / sub,
                             hint="give --out an empty or new directory")  # fmt: skip


def _prune(folder: Path, keep: set[str]) -> None:
    """Remove files of names no longer exported (envshim's own: variable names only)."""
    if not folder.is_dir():
        return
    for entry in os.scandir(folder):
        if (
            entry.name not in keep
            and is_valid_name(entry.name)
            and entry.is_file(follow_symlinks=False)
        ):
            os.unlink(entry.path)


def write_kustomization(
    directory: Path,
    config: Mapping[str, str],
    secrets: Mapping[str, str],
    meta: Meta,
    ctx: ExportContext,
) -> None:
    _check(ctx, "ConfigMap", config)
    _check(ctx, "Secret", secrets)
    _prepare(directory)
    sealed = None
    if ctx.options.get("sops"):
        from .sops import encrypt_secret

        sealed = encrypt_secret(secret(secrets, meta), directory / "secret.enc.yaml", ctx)
    # every check is done: from here on, files are written
    for key, value in config.items():
        write_out(str(directory / "config" / key), value, private=False)
    _prune(directory / "config", set(config))
    lines = [MARKER, "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization"]
    lines += _generator("configMapGenerator", meta, [f"{k}=config/{k}" for k in sorted(config)],
                        secret_type=False)  # fmt: skip
    if sealed is not None:
        write_out(str(directory / "secret.enc.yaml"), sealed, private=False)
        _prune(directory / "secret", set())
        lines += ["resources:", '- "secret.enc.yaml"']
    else:
        for key, value in secrets.items():
            write_out(str(directory / "secret" / key), value, private=True)
        _prune(directory / "secret", set(secrets))
        write_out(str(directory / ".gitignore"), "/secret/\n", private=False)
        lines += _generator("secretGenerator", meta,
                            [f"{k}=secret/{k}" for k in sorted(secrets)], secret_type=True)  # fmt: skip
    write_out(str(directory / "kustomization.yaml"), "\n".join(lines) + "\n", private=False)
