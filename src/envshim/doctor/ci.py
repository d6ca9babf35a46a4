"""Inside GitLab CI (``GITLAB_CI`` set): the job's age key, and which secrets GitLab could
not mask.

GitLab masks a CI/CD variable in the job log only when its settings say so and its
value passes GitLab's rule (``Ci::Maskable``): one line, no whitespace, at least 8
characters, and, unless the variable is *raw* ("Expand variable reference" off),
only ``A-Z a-z 0-9 _ + = / @ : . ~ -``. Values envshim decrypts in the job are not
CI/CD variables at all, so GitLab masks none of them: ``envshim run --redact`` does.
The check names the secrets GitLab could not mask even if someone pasted them into
the settings, so the team knows that ``--redact`` is their only cover.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..commands.common import plural
from ..errors import EnvshimError
from .core import FAIL, OK, SKIP, WARN, Doctor, Result

MASKABLE = re.compile(r"[a-zA-Z0-9_+=/@:.~-]{8,}\Z")  # Ci::Maskable::REGEX
MASKABLE_RAW = re.compile(r"[^ \t\r\n\f\v]{8,}\Z")  # MASK_AND_RAW_REGEX (\S is ASCII in Ruby)
KEY_FILES = ("ENVSHIM_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE", "MISE_SOPS_AGE_KEY_FILE")
KEY_TEXTS = ("ENVSHIM_AGE_KEY", "SOPS_AGE_KEY", "MISE_SOPS_AGE_KEY")
REDACT = "run commands that see secrets as `envshim run --redact -- CMD`"


def maskable(value: str) -> str:
    """``"yes"``, ``"raw"`` (only as a variable that is not expanded) or ``"no"``."""
    if MASKABLE.match(value):
        return "yes"
    return "raw" if MASKABLE_RAW.match(value) else "no"


def _key_file(d: Doctor, var: str) -> Result:
    value = d.environ[var]
    if "AGE-SECRET-KEY-" in value or "\n" in value:
        return Result("gitlab key", FAIL, f"${var} holds a key, not a path to one",
                      f"in Settings → CI/CD → Variables change the type of {var} to File")  # fmt: skip
    path = Path(value)
    if not path.is_file():
        return Result("gitlab key", FAIL, f"${var} names a file that does not exist",
                      f"make {var} a File-type CI/CD variable available to this job "
                      "(protected variables reach protected branches only)")  # fmt: skip
    if path.stat().st_mode & 0o077:
        return Result("gitlab key", FAIL,
                      f"${var} is readable by others (GitLab writes File variables 0644)",
                      f'add `chmod 600 "${var}"` to the job\'s script before envshim')  # fmt: skip
    return Result("gitlab key", OK, f"${var} is a File variable (0600)")


def check_gitlab_key(d: Doctor) -> list[Result]:
    for var in KEY_FILES:
        if d.environ.get(var):
            return [_key_file(d, var)]
    for var in KEY_TEXTS:
        if d.environ.get(var):
            return [Result("gitlab key", WARN, f"${var} holds the key in the environment of "
                           "every command of the job",
                           f"prefer a File-type variable SOPS_AGE_KEY_FILE over {var}")]  # fmt: skip
    return [Result("gitlab key", WARN, "no age key in this job",
                   "add a File-type CI/CD variable `SOPS_AGE_KEY_FILE` with the CI key, or run "
                   "jobs that need no secrets with `--missing-key skip`")]  # fmt: skip


def check_gitlab_masking(d: Doctor) -> list[Result]:
    resolution = d.resolution()
    if isinstance(resolution, EnvshimError):
        return [Result("gitlab masking", SKIP, "the secrets could not be read here")]
    never: list[str] = []
    raw_only: list[str] = []
    secret = sorted(resolution.secret_keys())
    for key in secret:
        value = resolution.vars[key].value
        if value is None:
            continue
        kind = maskable(value)
        if kind == "no":
            never.append(key)
        elif kind == "raw":
            raw_only.append(key)
    if not secret:
        return [Result("gitlab masking", SKIP, "no secret values here")]
    if not never and not raw_only:
        return [Result("gitlab masking", OK,
                       f"GitLab could mask all {plural(len(secret), 'secret')}; "
                       "decrypted in the job it masks none: use `envshim run --redact`")]  # fmt: skip
    parts = []
    if never:
        parts.append(f"GitLab could not mask {', '.join(never)} (multi-line, whitespace "
                     "or under 8 characters)")  # fmt: skip
    if raw_only:
        parts.append(f"only as raw variables: {', '.join(raw_only)}")
    return [Result("gitlab masking", WARN, "; ".join(parts), REDACT)]


def check_gitlab(d: Doctor) -> list[Result]:
    """Both GitLab checks; nothing at all outside GitLab CI."""
    if not d.environ.get("GITLAB_CI"):
        return []
    return check_gitlab_key(d) + check_gitlab_masking(d)
