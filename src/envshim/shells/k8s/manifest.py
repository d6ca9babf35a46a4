"""Kubernetes manifests: a ``Secret`` (``stringData``) and a ``ConfigMap`` (``data``).

Every string is written as a YAML double-quoted scalar that is also a JSON
string: ``\\\\``, ``"`` and every character YAML 1.1 or 1.2 would not keep as
written (controls, DEL, C1, U+2028/2029, BOM, U+FFFE/FFFF) are ``\\\\uXXXX``
escapes, so no value can start a new key, a comment or a document, and
kubectl's YAML 1.1 reader and YAML 1.2 readers agree on it.

Both objects carry the same metadata: the name, the namespace, the label
``app.kubernetes.io/managed-by: envshim`` (and ``app.kubernetes.io/name`` and
``envshim/profile`` when their values are valid label values), and the
annotations ``envshim/project`` and ``envshim/profile``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ...errors import ConfigError, UsageError
from ..base import ExportContext

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
MAX_DATA = 1024 * 1024  # the API server's limit on a Secret's or ConfigMap's data


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


def default_name(root: str | None) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", Path(root or "").name.lower()).strip("-")[:253]
    return base or "envshim"


class Meta:
    """Name, namespace, labels and annotations shared by every object of one export."""

    def __init__(self, ctx: ExportContext) -> None:
        self.name = ctx.options.get("name") or default_name(ctx.root)
        self.namespace = ctx.options.get("namespace")
        if not _DNS_SUBDOMAIN.match(self.name):
            raise UsageError(f"--name {self.name!r} is not a valid Kubernetes object name",
                             hint="use lower-case letters, digits, '-' and '.'")  # fmt: skip
        if self.namespace and not _DNS_LABEL.match(self.namespace):
            raise UsageError(f"--namespace {self.namespace!r} is not a valid namespace",
                             hint="use lower-case letters, digits and '-'")  # fmt: skip
        profile = ",".join(ctx.options.get("profile") or [])
        self.labels = {"app.kubernetes.io/managed-by": "envshim"}
        if _LABEL_VALUE.match(self.name) and len(self.name) <= 63:
            self.labels["app.kubernetes.io/name"] = self.name
        if profile and _LABEL_VALUE.match(profile):
            self.labels["envshim/profile"] = profile
        self.annotations = {
            "envshim/project": Path(ctx.root or "").name,
            "envshim/profile": profile,
        }

    def lines(self) -> list[str]:
        out = ["metadata:", f"  name: {yaml_string(self.name)}"]
        if self.namespace:
            out.append(f"  namespace: {yaml_string(self.namespace)}")
        for field, mapping in (("labels", self.labels), ("annotations", self.annotations)):
            out.append(f"  {field}:")
            out += [f"    {yaml_string(k)}: {yaml_string(v)}" for k, v in sorted(mapping.items())]
        return out


def check_size(kind: str, data: Mapping[str, str]) -> None:
    size = sum(len(k) + len(v.encode("utf-8", "surrogatepass")) for k, v in data.items())
    if size > MAX_DATA:
        raise ConfigError(
            f"the {kind} would hold {size} bytes; Kubernetes takes at most {MAX_DATA}",
            hint="narrow the allowlist, or mount large values from a volume",
        )


def _body(field: str, data: Mapping[str, str]) -> list[str]:
    if not data:
        return [f"{field}: {{}}"]
    return [f"{field}:"] + [
        f"  {yaml_string(k)}: {yaml_string(v)}" for k, v in sorted(data.items())
    ]


def secret(data: Mapping[str, str], meta: Meta) -> str:
    check_size("Secret", data)
    lines = ["apiVersion: v1", "kind: Secret", *meta.lines(), "type: Opaque"]
    return "\n".join(lines + _body("stringData", data)) + "\n"


def config_map(data: Mapping[str, str], meta: Meta) -> str:
    check_size("ConfigMap", data)
    lines = ["apiVersion: v1", "kind: ConfigMap", *meta.lines()]
    return "\n".join(lines + _body("data", data)) + "\n"
