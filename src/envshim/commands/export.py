"""``envshim export [FORMAT] [DIR]``: the merged environment, all or nothing on stdout.

Everything is resolved, checked and rendered before the first byte is printed,
so ``eval "$(envshim export bash)"`` applies all or nothing. Exit codes: 0 ok,
1 runtime error (a bad file, a missing value), 2 usage error.
"""

from __future__ import annotations

import os
import sys

from ..shells import FORMATS
from .common import add_project_options, resolve_from_args

TYPE_CHECKING = False  # argparse only when the command line needs it (envshim.cli)
if TYPE_CHECKING:
    import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import argparse

    parser.add_argument(
        "target",
        nargs="*",
        metavar="[FORMAT] [DIR]",
        help=f"output format ({', '.join(FORMATS)}; default bash) and/or directory",
    )
    parser.add_argument(
        "--format", "-f", dest="format", help="output format (same as the positional)"
    )
    parser.add_argument("--hook", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--direnv", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--include-exec-only",
        action="store_true",
        help="also print values marked exec_only (kept out of shells; `envshim run` gets them)",
    )
    parser.add_argument(
        "--from-mise",
        action="store_true",
        help="leave out the mise layer (used by the mise plugin)",
    )
    k8s = parser.add_argument_group("--format k8s, gitlab, docker")
    k8s.add_argument("--allowlist", metavar="FILE",
                     help="the names the output may hold, one per line (required for k8s)")  # fmt: skip
    k8s.add_argument("--name", help="the objects' name (default: the project directory's)")
    k8s.add_argument("--namespace", help="the objects' namespace")
    # New options are absent unless given (SUPPRESS), so the fast path in envshim.cli,
    # which never sees them, still reads the usual lines exactly as argparse does.
    quiet = argparse.SUPPRESS
    k8s.add_argument("--split", action="store_true", default=quiet,
                     help="k8s: a ConfigMap for committed non-secret values and a Secret for "
                     "the rest")  # fmt: skip
    k8s.add_argument("--sops", action="store_true", default=quiet,
                     help="k8s: encrypt the Secret with sops to the .sops.yaml creation rule's "
                     "recipients (only data/stringData); needs --out")  # fmt: skip
    k8s.add_argument("--kustomize", action="store_true", default=quiet,
                     help="k8s: a kustomization.yaml with configMapGenerator/secretGenerator "
                     "and their files; needs --out")  # fmt: skip
    k8s.add_argument("--out", metavar="PATH", default=quiet,
                     help="write here instead of stdout (k8s: a directory; gitlab, docker: a "
                     "file)")  # fmt: skip
    add_project_options(parser, directory=False)


# Which options each deployment format takes (checked before anything is resolved).
_FORMAT_OPTIONS = (
    (("k8s",), ("name", "namespace", "split", "sops", "kustomize")),
    (("k8s", "gitlab", "docker"), ("allowlist", "out")),
)
_EXTRA_FORMATS = frozenset({"k8s", "gitlab", "docker"})


def _split_target(args: argparse.Namespace) -> None:
    from ..errors import UsageError

    fmt, directory = args.format, "."
    target = list(args.target)
    if len(target) > 2:
        raise UsageError("at most a format and a directory")
    if target and target[0] in FORMATS and (fmt is None or len(target) == 2):
        if fmt is not None:
            raise UsageError("the format is given twice")
        fmt = target.pop(0)
    if len(target) == 1 and not os.path.isdir(target[0]):
        # one word that is neither: most likely a mistyped format
        raise UsageError(f"{target[0]!r} is neither a format nor a directory",
                         hint=f"formats are {', '.join(FORMATS)}")  # fmt: skip
    if target:
        directory = target.pop(0)
    if target:
        raise UsageError(f"{target[0]!r}: at most one directory",
                         hint=f"formats are {', '.join(FORMATS)}")  # fmt: skip
    args.format, args.dir = fmt or "bash", directory
    if args.format not in FORMATS:
        raise UsageError(
            f"unknown format {args.format!r}", hint=f"choose one of {', '.join(FORMATS)}"
        )
    for formats, options in _FORMAT_OPTIONS:
        given = [f"--{o}" for o in options if getattr(args, o, None)]
        if given and args.format not in formats:
            raise UsageError(f"{given[0]} applies only to --format {' or '.join(formats)}")


def run(args: argparse.Namespace) -> int:
    _split_target(args)
    if args.hook:
        from ..hook import hook_export

        return hook_export(args)
    if args.direnv:
        from ..direnv import direnv_export

        return direnv_export(args)
    text = render(args)
    sys.stdout.write(text)
    return 0


def render(args: argparse.Namespace) -> str:
    """Resolve, check and render completely (any side effect included) before printing."""
    from ..shells import get_renderer
    from ..shells.base import ExportContext, check

    renderer = get_renderer(args.format)
    include = getattr(args, "include_exec_only", False)
    withhold = None if include else "exec-only"
    resolution = resolve_from_args(args, from_mise=args.from_mise, withhold=withhold)
    if resolution.withheld:
        names = ", ".join(sorted(resolution.withheld))
        sys.stderr.write(
            f"envshim: exec-only, not exported: {names} (`envshim run -- CMD` gets them; "
            "--include-exec-only prints them)\n"
        )
    changes = resolution.changes()
    check(renderer, changes, {k: v.origin for k, v in resolution.vars.items()})
    options = {o: getattr(args, o, None) for o in ("allowlist", "name", "namespace")}
    if args.format in _EXTRA_FORMATS:
        # which layer each value came from decides where it may go (ConfigMap or Secret,
        # a CI report or not); its origin names the file and line of a refused value
        options.update({o: getattr(args, o, None) for o in ("split", "sops", "kustomize", "out")})
        options["origins"] = {k: v.origin for k, v in resolution.vars.items()}
        options["profile"] = list(resolution.profile)
    ctx = ExportContext(
        secret=frozenset(resolution.secret_keys()),
        options=options,
        environ=os.environ,
        root=str(resolution.root),
    )
    return renderer.emit(changes, ctx)
