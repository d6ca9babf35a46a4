"""Docker and Compose: ``KEY=value`` lines for ``docker run --env-file`` and ``env_file:``.

``docker run --env-file`` (docker/cli ``opts/envfile.go``) takes the rest of the line
after the first ``=`` literally: no quotes, no escapes, no comments after a value,
no line breaks. Compose reads ``env_file`` with a dotenv parser instead (python-dotenv
in docker-compose 1.x, compose-go in Compose 2): it strips whitespace around an
unquoted value, ends it at `` #``, unquotes a value that starts with a quote, and
expands ``${VAR}`` (1.x) or ``$VAR``, ``${VAR}`` and ``$$`` (2.x).

So one file is written literally, and every value that either reader would read as
something else is refused, naming the key (never the value):

- a line break or a carriage return (docker drops a trailing CR; Compose ends the
  value at any CR);
- leading or trailing whitespace, a leading quote, or a ``#`` after whitespace
  (Compose; compose-go before 2.x's current parser cut at any ``#``);
- ``$`` followed by ``$``, ``{``, a letter or ``_`` (Compose's interpolation);
- a line longer than 65,535 bytes (docker reads lines with Go's ``bufio.Scanner``).

Spaces inside a value, quotes after its first character, ``=``, ``#`` after a
non-space, backslashes and any other ``$`` come back exactly from both (tested with
the docker CLI and docker-compose 1.29; the ``$NAME`` and ``$$`` refusals follow
compose-go's interpolation, which docker-compose 1.x does not do).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from ..errors import ConfigError
from .base import ExportContext, Renderer
from .deploy import pick, refuse, write_out

MAX_LINE = 65535  # bufio.Scanner's default token limit, less the newline
_HINT = (
    "pass it with `envshim run -- docker compose up` and `${VAR}` in compose.yaml, "
    "or as a file (`docker build --secret`) instead"
)


def problem(value: str) -> str | None:
    """Why ``value`` cannot go into an env file exactly, or None."""
    if "\n" in value or "\r" in value:
        return "an env file cannot hold a line break"
    if value and (value[0].isspace() or value[-1].isspace()):  # isspace() ⊇ Go's IsSpace
        return "Compose strips the whitespace around a value"
    if value[:1] in ("'", '"'):
        return "Compose would read a value that starts with a quote as quoted"
    if any(value[i] == "#" and value[i - 1].isspace() for i in range(1, len(value))):
        return "Compose reads ' #' as the start of a comment"
    for i, ch in enumerate(value[:-1]):
        if ch == "$" and (value[i + 1] in "${_" or value[i + 1].isalpha()):
            return "Compose would expand the '$' (write it in compose.yaml as '$$')"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "the value is not valid text (a lone surrogate)"
    return None


def env_file(changes: Mapping[str, str | None], ctx: ExportContext) -> tuple[str, bool]:
    """The file's text, and whether it holds a secret; raises before anything is written."""
    data, _lines = pick(changes, ctx, "docker")
    lines = []
    for key in sorted(data):
        value = data[key]
        why = problem(value)
        if why:
            raise refuse(ctx, key, why, _HINT)
        line = f"{key}={value}"
        if len(line.encode("utf-8")) > MAX_LINE:
            raise refuse(ctx, key, f"docker reads lines of at most {MAX_LINE} bytes", _HINT)
        lines.append(line + "\n")
    unset = sorted(k for k, v in changes.items() if v is None)
    if unset:
        sys.stderr.write(f"envshim: warning: an env file cannot unset {', '.join(unset)}\n")
    return "".join(lines), bool(ctx.secret & data.keys())


class DockerRenderer(Renderer):
    name = "docker"

    def export(self, key: str, value: str) -> str:
        why = problem(value)
        if why:
            raise ConfigError(f"{key}: {why}", hint=_HINT)
        return f"{key}={value}"

    def unset(self, key: str) -> str:  # pragma: no cover - render() skips unsets
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        return "".join(
            self.export(k, v) + "\n" for k, v in sorted(changes.items()) if v is not None
        )

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        text, private = env_file(changes, ctx)
        out = ctx.options.get("out")
        if out:
            write_out(out, text, private=private)
            return ""
        return text
