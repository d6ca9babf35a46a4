"""Reading TOML with errors that name file:line:col (tomllib, never tomlkit: it is fast)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

_AT = re.compile(r"^(?P<msg>.*?) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def decode_utf8(path: Path | str, raw: bytes) -> str:
    """A config file's text; one located line when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path, hint="save the file as UTF-8") from None


def load_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    """Parse ``path`` (or ``text`` read from it); a syntax error becomes one located line."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _AT.match(str(exc))
        if m is None and str(exc).endswith("(at end of document)"):
            last = text.count("\n") + (0 if text.endswith("\n") else 1)
            message = str(exc).removesuffix(" (at end of document)")
            raise ConfigError(
                f"invalid TOML: {message} at end of file",
                path=path,
                line=max(last, 1),
                hint="fix the syntax",
            ) from None
        if m:
            raise ConfigError(
                f"invalid TOML: {m['msg']}",
                path=path,
                line=int(m["line"]),
                col=int(m["col"]),
                hint="fix the syntax",
            ) from None
        raise ConfigError(f"invalid TOML: {exc}", path=path, hint="fix the syntax") from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path, hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None
