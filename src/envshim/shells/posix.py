"""POSIX sh (dash): ``K='v'; export K`` works in every Bourne shell."""

from __future__ import annotations

from .base import Renderer, single_quote_posix

POSIX_RESERVED = frozenset({"LINENO", "PPID", "OPTIND", "IFS", "PS4"})


class PosixRenderer(Renderer):
    name = "posix"
    reserved = POSIX_RESERVED

    def export(self, key: str, value: str) -> str:
        return f"{key}={single_quote_posix(value)}; export {key}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
