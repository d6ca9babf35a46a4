"""``envshim redact [--env P] < log``: copy stdin to stdout with this project's secret values
(and their base64, hex, URL and JSON forms) replaced by ``[redacted NAME]``."""

from __future__ import annotations

import argparse

from .common import add_project_options, resolve_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-C", "--dir", default=".", metavar="DIR",
                        help="project directory whose secrets are redacted (default: the current one)")  # fmt: skip
    add_project_options(parser, directory=False)


def run(args: argparse.Namespace) -> int:
    from ..redact.child import redactor_for
    from ..redact.pump import pump

    redactor = redactor_for(resolve_from_args(args), "the output")
    pump(redactor, [(0, 1)])
    return 0
