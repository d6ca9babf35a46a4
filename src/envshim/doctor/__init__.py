"""``envshim doctor``: the onboarding chain, one small check per link, each with its next step.

Every check is a function ``check_x(d) -> list[Result]``, grouped by concern:
``shell`` (the hook, direnv), ``mise`` (the plugin), ``config`` (trust, required keys,
the export in every shell), ``identity`` (your key, recipients, decryption), ``store``
(your own values), ``git`` (ignored and tracked plaintext). A check whose external
tool (mise, direnv, git) is missing says so instead of failing.

Statuses: ``ok`` ✓; ``fail`` ✗ (needed: doctor exits 1); ``warn`` ! (worth
doing, not needed: `envshim run` works without a shell hook, trust is a
deliberate act); ``skip`` · (not used here, or not available).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..errors import EnvshimError
from .ci import check_gitlab
from .config import EXAMPLE_NAMES, check_export, check_required, check_trust, required_keys
from .core import FAIL, MARKS, OK, SKIP, WARN, Doctor, Result, file_recipients, mise_required
from .git import PLAINTEXT_IGNORES, add_gitignore, check_gitignore, check_tracked_plaintext
from .identity import check_decrypt, check_identity, check_recipients
from .mise import check_mise
from .shell import check_direnv, check_loads, check_shell, detect_shell, hook_line, rc_files
from .store import check_edits, check_user_store


def check_versions(d: Doctor) -> list[Result]:
    from ..cli import version

    py = ".".join(map(str, sys.version_info[:3]))
    return [Result("versions", OK, f"python {py}, envshim {version()}")]


CHECKS: list[Callable[[Doctor], list[Result]]] = [
    check_versions,
    check_shell,
    check_trust,
    check_mise,
    check_direnv,
    check_loads,
    check_identity,
    check_recipients,
    check_decrypt,
    check_required,
    check_user_store,
    check_edits,
    check_export,  # after the fixes above, on the environment they give
    check_gitlab,  # GitLab CI only: the job's key, what GitLab could not mask
    check_gitignore,
    check_tracked_plaintext,
]


def run_checks(d: Doctor) -> list[Result]:
    results: list[Result] = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_").replace("_", " ")
        try:
            results += check(d)
        except EnvshimError as exc:
            results.append(Result(name, FAIL, str(exc).split("; ")[0], exc.hint or ""))
    return results


__all__ = [
    "CHECKS",
    "EXAMPLE_NAMES",
    "FAIL",
    "MARKS",
    "OK",
    "PLAINTEXT_IGNORES",
    "SKIP",
    "WARN",
    "Doctor",
    "Result",
    "add_gitignore",
    "check_decrypt",
    "check_direnv",
    "check_export",
    "check_gitignore",
    "check_gitlab",
    "check_identity",
    "check_loads",
    "check_mise",
    "check_recipients",
    "check_required",
    "check_shell",
    "check_tracked_plaintext",
    "check_trust",
    "check_user_store",
    "check_versions",
    "detect_shell",
    "file_recipients",
    "hook_line",
    "mise_required",
    "rc_files",
    "required_keys",
    "run_checks",
]
