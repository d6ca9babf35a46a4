"""GitLab CI: a ``dotenv`` report (``artifacts:reports:dotenv``) of committed defaults only.

A dotenv report is stored with the job, downloadable by anyone who can read the
pipeline, and becomes a variable of every later job: no team or user value, and
no value envshim marks secret, ever goes into it. GitLab reads the file with its
own rules (``Ci::ParseDotenvArtifactService``, GitLab's documentation of the
report), and a value the file cannot carry exactly is refused, naming the key:

- every line is ``KEY=VALUE``: no comments, no blank lines, no quotes processing;
  the value is the rest of the line, so no line break (or carriage return) in it;
- key and value are stripped of leading and trailing whitespace (Ruby's ``strip``:
  space, ``\\t \\n \\v \\f \\r`` and NUL), so such a value would change;
- the variables are created *expanded*: a ``$`` would be read as a reference to
  another variable in the jobs that inherit it;
- the file is smaller than 5 KiB and holds at most 20 variables (GitLab's
  default limits; narrow the output with ``--allowlist``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from ..errors import ConfigError
from .base import ExportContext, Renderer
from .deploy import is_committed_default, layer_of, pick, refuse, write_out

MAX_BYTES = 5 * 1024  # the file must be smaller than this
MAX_VARIABLES = 20
_RUBY_STRIP = " \t\n\v\f\r\0"


def check_value(ctx: ExportContext, key: str, value: str) -> None:
    """Raise when GitLab would read ``value`` as something else."""
    hint = "keep it in a secret file and read it with `envshim run` in the job that needs it"
    if "\n" in value or "\r" in value:
        raise refuse(ctx, key, "a dotenv report cannot hold a line break", hint)
    if value != value.strip(_RUBY_STRIP):
        raise refuse(ctx, key, "GitLab strips leading and trailing whitespace", hint)
    if "$" in value:
        raise refuse(ctx, key, "GitLab would expand the '$' in a dotenv report value", hint)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse(ctx, key, "the value is not valid text (a lone surrogate)", hint) from None


def report(changes: Mapping[str, str | None], ctx: ExportContext) -> str:
    """The report's text; raises before anything is written."""
    data, lines = pick(changes, ctx, "gitlab")
    allowlist = ctx.options.get("allowlist")
    chosen: dict[str, str] = {}
    left_out = 0
    for key in sorted(data):
        if not is_committed_default(ctx, key):
            if key in lines:  # asked for by name: say why it cannot be
                raise ConfigError(
                    f"{key} is a {layer_of(ctx, key)} value or a secret, and a dotenv report "
                    "is readable by every later job and by anyone who can download artifacts",
                    path=allowlist,
                    line=lines[key],
                    hint="remove it from the allowlist; jobs that need it run `envshim run`",
                )
            left_out += 1
            continue
        check_value(ctx, key, data[key])
        chosen[key] = data[key]
    if len(chosen) > MAX_VARIABLES:
        raise ConfigError(
            f"{len(chosen)} variables; GitLab takes at most {MAX_VARIABLES} from a dotenv report",
            hint="list the ones later jobs need with --allowlist FILE",
        )
    text = "".join(f"{k}={v}\n" for k, v in chosen.items())
    if len(text.encode("utf-8")) >= MAX_BYTES:
        raise ConfigError(
            f"the report would be {len(text.encode())} bytes; GitLab takes less than {MAX_BYTES}",
            hint="list the ones later jobs need with --allowlist FILE",
        )
    if left_out:
        from ..commands.common import plural

        sys.stderr.write(
            f"envshim: left out {plural(left_out, 'secret or team/user value')}: a dotenv report "
            "holds committed defaults only (`envshim run` gives a job the rest)\n"
        )
    unset = sorted(k for k, v in changes.items() if v is None and k not in chosen)
    if unset:
        sys.stderr.write(f"envshim: warning: a dotenv report cannot unset {', '.join(unset)}\n")
    return text


class GitlabRenderer(Renderer):
    name = "gitlab"

    def export(self, key: str, value: str) -> str:  # pragma: no cover - emit() is used
        raise NotImplementedError("the gitlab format is written with emit()")

    def unset(self, key: str) -> str:  # pragma: no cover - emit() is used
        return ""

    def render(self, changes: Mapping[str, str | None]) -> str:
        # without the layers it cannot tell a committed default from a secret
        raise NotImplementedError("the gitlab format is written with emit()")

    def emit(self, changes: Mapping[str, str | None], ctx: ExportContext) -> str:
        text = report(changes, ctx)
        out = ctx.options.get("out")
        if out:
            write_out(out, text, private=False)
            return ""
        return text
