"""Kubernetes: a ``Secret`` manifest with ``stringData``, limited to an allowlist.

Every string is written as a YAML double-quoted scalar that is also a JSON
string: ``\\\\``, ``"`` and every character YAML 1.1 or 1.2 would not keep as
written (controls, DEL, C1, U+2028/2029, BOM, U+FFFE/FFFF) are ``\\\\uXXXX``
escapes, so no value can start a new key, a comment or a document, and
kubectl's YAML 1.1 reader and YAML 1.2 readers agree on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError, EnvshimError, UsageError
from .base import ExportContext, Renderer, is_valid_name

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    cp = ord(ch)
    if (
        cp < 0x20
        or 0x7F <= cp <= 0x9F
        or cp in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
        or 0xD800 <= cp <= 0xDFFF
    ):
        return f"\\u{cp:04x}"
    return ch


def yaml_string(text: str) -> str:
    return '"' + "".join(map(_escape, text)) + '"'


def read_allowlist(path: str) -> list[tuple[str, int]]:
    """Names, one per line, ``#`` comments and blank lines ignored; each with its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("the allowlist file does not exist", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the allowlist: {exc}", path=path) from None
    names: list[tuple[str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if not is_valid_name(name):
            raise ConfigError(
                f"{name!r} is not a variable name",
                path=path,
                line=number,
                hint="write one name per line; '#' starts a comment",
            )
        names.append((name, number))
    return names


def default_name(root: str | None) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", Path(root or "").name.lower()).strip("-")[:253]
    return base or "envshim"


class K8sRenderer(Renderer):
    name = "k8s"

    def export(self, key: str, value: str) -> str:
        return f"  {yaml_string(key)}: {yaml_string(value)}"

    def unset(self, key: str) -> str:  # pragma: no cover - a Secret holds only values
        return ""

    def manifest(self, data: Mapping[str, str], name: str, namespace: str | None = None) -> str:
        lines = ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {yaml_string(name)}"]
        if namespace:
            lines.append(f"  namespace: {yaml_string(namespace)}")
        lines.append("type: Opaque")
        if data:
            lines.append("stringData:")
            lines += [self.export(k, v) for k, v in sorted(data.items())]
        else:
            lines.append("stringData: {}")
        return "\n".join(lines) + "\n"

    def render(self, changes: Mapping[str, str | None]) -> str:
        return self.manifest({k: v for k, v in changes.items() if v is not None}, "envshim")

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        allowlist = ctx.options.get("allowlist")
        if not allowlist:
            raise UsageError(
                "--format k8s needs --allowlist FILE",
                hint="list the names the Secret may hold, one per line",
            )
        name = ctx.options.get("name") or default_name(ctx.root)
        namespace = ctx.options.get("namespace")
        if not _DNS_SUBDOMAIN.match(name):
            raise UsageError(f"--name {name!r} is not a valid Kubernetes object name",
                             hint="use lower-case letters, digits, '-' and '.'")  # fmt: skip
        if namespace and not _DNS_LABEL.match(namespace):
            raise UsageError(f"--namespace {namespace!r} is not a valid namespace",
                             hint="use lower-case letters, digits and '-'")  # fmt: skip
        data: dict[str, str] = {}
        for key, line in read_allowlist(allowlist):
            value = changes.get(key)
            if value is None:
                raise EnvshimError(
                    f"{key} is in the allowlist but envshim does not set it",
                    path=allowlist,
                    line=line,
                    hint="define it in a layer or remove it from the allowlist",
                )
            data[key] = value
        return self.manifest(data, name, namespace)
