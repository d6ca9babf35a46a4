"""GitHub Actions: append to ``$GITHUB_ENV``, mask every secret line on stdout.

Each value goes into the environment file as GitHub documents for multi-line
values (``NAME<<DELIMITER``, the value, ``DELIMITER``), with a random delimiter
per value that occurs nowhere in it, so no value can end its block early or
smuggle in another variable. The runner reads the file with ``\\n`` line ends
and keeps every other byte. On stdout go only ``::add-mask::`` workflow
commands, one per line of every secret value, so the log hides each line.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping

from ..errors import EnvshimError
from .base import ExportContext, Renderer

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def new_delimiter(*avoid: str) -> str:
    """``ghadelimiter_<random>`` as @actions/core writes it, absent from every ``avoid``."""
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if not any(delimiter in text for text in avoid):
            return delimiter


def env_file_text(changes: Mapping[str, str | None]) -> str:
    """The heredoc blocks for every variable set (``$GITHUB_ENV`` cannot unset)."""
    blocks = []
    for key, value in sorted(changes.items()):
        if value is None:
            continue
        delimiter = new_delimiter(key, value)
        blocks.append(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(blocks)


def escape_data(text: str) -> str:
    """Workflow-command data escaping (``%``, CR, LF), as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def mask_commands(changes: Mapping[str, str | None], secret: frozenset[str]) -> str:
    """``::add-mask::`` for each non-blank line of every secret value, each line once."""
    lines: dict[str, None] = {}
    for key in sorted(changes):
        value = changes[key]
        if value is None or key not in secret:
            continue
        for part in _LINE_BREAK.split(value):
            if part.strip():
                lines[part] = None
    return "".join(f"::add-mask::{escape_data(part)}\n" for part in lines)


def append(path: str, text: str) -> None:
    """One ``O_APPEND`` write; a file whose last line is unterminated gets a newline first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        raise EnvshimError(
            "$GITHUB_ENV names a file that does not exist",
            path=path,
            hint="the runner creates it for each step; outside GitHub Actions create it first",
        ) from None
    except OSError as exc:
        raise EnvshimError(f"cannot open $GITHUB_ENV: {exc.strerror}", path=path) from None
    try:
        if os.fstat(fd).st_size:
            with open(path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    text = "\n" + text
        data = text.encode("utf-8")
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except OSError as exc:
        raise EnvshimError(f"cannot write $GITHUB_ENV: {exc.strerror}", path=path) from None
    finally:
        os.close(fd)


class GithubRenderer(Renderer):
    name = "github"

    def export(self, key: str, value: str) -> str:  # pragma: no cover - emit() is used
        raise NotImplementedError("the github format is written with emit()")

    def unset(self, key: str) -> str:  # pragma: no cover - emit() is used
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        # the values go to the file, never to stdout (a CI log): only emit() is meaningful
        raise NotImplementedError("the github format is written with emit()")

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        path = ctx.environ.get("GITHUB_ENV")
        if not path:
            raise EnvshimError(
                "--format github needs $GITHUB_ENV, the file GitHub Actions reads variables from",
                hint="run it inside a workflow step, or set GITHUB_ENV to a file",
            )
        masks = mask_commands(changes, ctx.secret)
        append(path, env_file_text(changes))
        for key in sorted(k for k, v in changes.items() if v is None):
            sys.stderr.write(f"envshim: warning: $GITHUB_ENV cannot unset {key}; left as it is\n")
        return masks
