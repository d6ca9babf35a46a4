"""POSIX sh: ``K='v'; export K`` works in every Bourne shell."""

from __future__ import annotations

from .base import Renderer, single_quote_posix
from .bash import BASH_RESERVED

# /bin/sh is dash or bash in POSIX mode; measured in both (tests/test_shells_reserved.py),
# dash breaks only OPTIND, which bash breaks too.
POSIX_RESERVED = BASH_RESERVED


class PosixRenderer(Renderer):
    name = "posix"
    reserved = POSIX_RESERVED

    def quote(self, value: str) -> str:
        return single_quote_posix(value)

    def export(self, key: str, value: str) -> str:
        return f"{key}={self.quote(value)}; export {key}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
