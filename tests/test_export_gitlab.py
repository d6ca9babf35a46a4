"""GitLab CI: ``envshim export gitlab`` (a dotenv report of committed defaults only),
``envshim doctor`` inside a job, and a real pipeline run by ``gitlab-ci-local`` with
the shell executor.

GitLab's reader of a dotenv report is written here from ``Ci::ParseDotenvArtifactService``:
each line must match ``^(.*?)=(.*)$`` (no blank lines, no comments), key and value are
stripped of whitespace, the file is under 5 KiB with at most 20 variables.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import age_keygen, git, need, run_envshim
from envshim.errors import ConfigError
from envshim.model import Origin
from envshim.shells import get_renderer
from envshim.shells.base import ExportContext

DEFAULTS = {"APP_ENV": "staging", "REGION": "eu-west-1", "URL": "https://x.example/a?b=c#d"}
SECRETS = {  # team secrets: at least 6 characters each, as `run --redact` needs
    "DB_PASSWORD": "hunter2-db-pass",
    "API_TOKEN": "tok_9f8e7d6c5b4a",
    "PEM": "-----BEGIN KEY-----\nMIIBsecretline\n-----END KEY-----",
    "SPACED": "correct horse battery",
}


REASONS = {
    "a dotenv report cannot hold a line break",
    "GitLab strips leading and trailing whitespace",
    "GitLab would expand the '$' in a dotenv report value",
}


def read_report(text: str) -> dict[str, str]:
    """GitLab's parser: every line KEY=VALUE, both stripped (Ruby's strip)."""
    out = {}
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        found = re.findall(r"^(.*?)=(.*)$", line)
        assert found, f"GitLab would refuse the line {line!r} (Invalid Format)"
        key, value = (part.strip(" \t\n\v\f\r\0") for part in found[-1])
        out[key] = value
    return out


def ctx_for(secret: set[str] = frozenset(), **options) -> ExportContext:
    origins = {k: Origin("mise", "/p/mise.toml", 3) for k in ("K", "A", "B")}
    return ExportContext(secret=frozenset(secret), options={"origins": origins, **options})


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0")))
def test_every_value_written_reads_back_exactly_and_the_rest_is_refused(value):
    try:
        text = get_renderer("gitlab").emit({"K": value}, ctx_for())
    except ConfigError as err:
        message = str(err)
        assert message.startswith("/p/mise.toml:3: K: ")
        reason = message.removeprefix("/p/mise.toml:3: K: ").split(";")[0]
        assert reason in REASONS  # a fixed sentence: the value is never in it
        # refused only what GitLab changes: a line break, outer whitespace, or a '$'
        assert (
            "\n" in value
            or "\r" in value
            or value != value.strip(" \t\n\v\f\r\0")
            or ("$" in value)
        )
        return
    assert read_report(text) == {"K": value}


def test_secrets_and_team_values_never_enter_the_report():
    origins = {
        "A": Origin("mise", "/p/mise.toml", 1),
        "B": Origin("team", "/p/secrets.enc.env", 1),
        "C": Origin("user", "/store", None),
        "D": Origin("mise", "/p/mise.toml", 2),  # redact = true
    }
    ctx = ExportContext(secret=frozenset({"B", "C", "D"}), options={"origins": origins})
    text = get_renderer("gitlab").emit({"A": "1", "B": "s3", "C": "s4", "D": "s5"}, ctx)
    assert text == "A=1\n"


def test_limits_of_a_dotenv_report():
    many = {f"V{i}": "x" for i in range(21)}
    origins = {k: Origin("mise", "/p/mise.toml", 1) for k in many}
    ctx = ExportContext(options={"origins": origins})
    with pytest.raises(ConfigError, match="at most 20"):
        get_renderer("gitlab").emit(many, ctx)
    big = {f"V{i}": "x" * 300 for i in range(17)}
    with pytest.raises(ConfigError, match="less than 5120"):
        get_renderer("gitlab").emit(big, ExportContext(options={"origins": origins}))


@pytest.fixture
def proj(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str], Path]:
    """mise defaults and team secrets the real sops encrypted; returns (root, env, key)."""
    sops = need("sops")
    key = tmp_path / "ci.key"
    public = age_keygen(key)
    root = tmp_path / "proj"
    root.mkdir()
    lines = [f"{k} = {json.dumps(v)}" for k, v in DEFAULTS.items()]
    lines.append('HIDDEN = { value = "mise-redacted-value", redact = true }')
    (root / "mise.toml").write_text("[env]\n" + "\n".join(lines) + "\n")
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in SECRETS.items()))
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}
    enc = subprocess.run([sops, "encrypt", "--filename-override", "secrets.enc.yaml", str(plain)],
                         cwd=root, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    (root / "secrets.enc.yaml").write_text(enc.stdout)
    plain.unlink()
    return root, env, key


def test_cli_report_and_out_file(proj):
    root, env, _ = proj
    out = run_envshim("export", "gitlab", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert read_report(out.stdout) == DEFAULTS
    assert "left out 5" in out.stderr  # 4 team secrets and the redacted default
    for value in [*SECRETS.values(), "mise-redacted-value"]:
        assert value not in out.stdout and value not in out.stderr
    written = run_envshim("export", "gitlab", "--out", "build.env", env=env, cwd=root)
    assert written.returncode == 0 and written.stdout == ""
    assert (root / "build.env").read_text() == out.stdout
    assert stat.S_IMODE((root / "build.env").stat().st_mode) == 0o644


def test_cli_allowlist_naming_a_secret_is_refused(proj):
    root, env, _ = proj
    (root / "allow").write_text("APP_ENV\n# the token\nAPI_TOKEN\n")
    out = run_envshim("export", "gitlab", "--allowlist", "allow", "--out", "b.env", env=env,
                      cwd=root)  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("envshim: allow:3: API_TOKEN is a team value")
    assert not (root / "b.env").exists()
    assert SECRETS["API_TOKEN"] not in out.stderr


def test_cli_without_a_key_reports_the_defaults(proj):
    """A job with no key: `--missing-key skip` still gives later jobs the defaults."""
    root, env, _ = proj
    nokey = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY_FILE"}
    out = run_envshim("export", "gitlab", "--missing-key", "skip", env=nokey, cwd=root)
    assert out.returncode == 0, out.stderr
    assert read_report(out.stdout) == DEFAULTS


# --- doctor inside GitLab CI ----------------------------------------------------------


def doctor(root: Path, env: dict[str, str]) -> dict[str, dict]:
    out = run_envshim("doctor", "--json", env=env, cwd=root)
    checks = json.loads(out.stdout)["checks"]
    return {c["check"]: c for c in checks if c["check"].startswith("gitlab")}


def test_doctor_says_nothing_about_gitlab_outside_it(proj):
    root, env, _ = proj
    assert doctor(root, env) == {}


def test_doctor_checks_the_key_variable(proj, tmp_path):
    root, env, key = proj
    ci = {**env, "GITLAB_CI": "true"}
    assert doctor(root, ci)["gitlab key"]["status"] == "ok"
    key.chmod(0o644)  # what GitLab's runner writes
    found = doctor(root, ci)["gitlab key"]
    assert found["status"] == "fail" and 'chmod 600 "$SOPS_AGE_KEY_FILE"' in found["next"]
    key.chmod(0o600)
    as_variable = {**ci, "SOPS_AGE_KEY_FILE": key.read_text()}  # the type is Variable, not File
    found = doctor(root, as_variable)["gitlab key"]
    assert found["status"] == "fail" and "type of SOPS_AGE_KEY_FILE to File" in found["next"]
    assert "AGE-SECRET-KEY" not in json.dumps(found)
    nokey = {k: v for k, v in ci.items() if k != "SOPS_AGE_KEY_FILE"}
    found = doctor(root, nokey)["gitlab key"]
    assert found["status"] == "warn" and "--missing-key skip" in found["next"]


def test_doctor_names_the_secrets_gitlab_could_not_mask(proj):
    root, env, _ = proj
    found = doctor(root, {**env, "GITLAB_CI": "true"})["gitlab masking"]
    assert found["status"] == "warn"
    assert "could not mask PEM, SPACED (" in found["message"]  # the others pass GitLab's rule
    assert "envshim run --redact" in found["next"]
    for value in [*SECRETS.values(), "mise-redacted-value"]:
        assert value not in json.dumps(found)


def test_maskable_follows_gitlabs_rule():
    from envshim.doctor.ci import maskable

    assert maskable("Abcdefgh") == "yes"
    assert maskable("a_+=/@:.~-12345") == "yes"
    assert maskable("abc!defgh") == "raw"  # '!' only when the variable is not expanded
    assert maskable("short") == "no"
    assert maskable("two words here") == "no"
    assert maskable("line1234\nline5678") == "no"


# --- a real pipeline: gitlab-ci-local, shell executor ---------------------------------

PIPELINE = """\
stages: [build, use]

build:
  stage: build
  environment: production  # the key variable's environment scope: only this job gets it
  script:
    - chmod 600 "$SOPS_AGE_KEY_FILE"
    - envshim doctor || true
    - envshim export gitlab --out build.env
    - envshim run --redact -- sh -c 'for v in "$DB_PASSWORD" "$API_TOKEN" "$PEM" "$SPACED"; do printf "%s\\n" "$v"; done; printf "%s\\n" "$DB_PASSWORD" >&2'
  artifacts:
    reports:
      dotenv: build.env

use:
  stage: use
  needs: [build]
  script:
    - echo "inherited APP_ENV=$APP_ENV REGION=$REGION"
    - echo "key=[${SOPS_AGE_KEY_FILE:-none}]"
    - envshim run --missing-key skip -- sh -c 'echo "no-key APP_ENV=$APP_ENV"'
"""


VARIABLES = ".gitlab-ci-local-variables.yml"  # gitlab-ci-local reads it from the project


def start_repo(root: Path) -> None:
    """gitlab-ci-local runs the committed files of a git repository."""
    (root / ".gitignore").write_text(f".gitlab-ci-local/\n{VARIABLES}\nbuild.env\n")
    git(root, "init", "-q", ".")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")


def test_gitlab_pipeline_never_logs_a_secret(proj, tmp_path):
    gcl = need("gitlab-ci-local")
    need("rsync")  # gitlab-ci-local copies the tracked files with it
    root, env, key = proj
    (root / ".gitlab-ci.yml").write_text(PIPELINE)
    start_repo(root)
    variables = root / VARIABLES  # the age key: a File-type variable scoped to production
    variables.write_text("SOPS_AGE_KEY_FILE:\n  type: file\n  values:\n    'production': |\n"
                         + "".join(f"      {line}\n" for line in key.read_text().splitlines()))  # fmt: skip
    bindir = str(Path(sys.executable).parent)  # envshim, sops
    job_env = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY_FILE"}
    job_env["PATH"] = bindir + ":" + job_env["PATH"]
    out = subprocess.run(
        [gcl, "--shell-executor-no-image", "--home", str(tmp_path / "gcl-home"), "--no-color"],
        cwd=root, env=job_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    log = out.stdout + out.stderr
    logs = root / ".gitlab-ci-local" / "output"
    for path in sorted(logs.glob("*.log")):
        log += path.read_text(errors="replace")
    assert out.returncode == 0, log[-3000:]
    # the command printed every secret; the job log holds none of them, line by line
    assert log.count("[redacted DB_PASSWORD]") >= 2, log[-3000:]
    for value in SECRETS.values():
        for part in value.split("\n"):
            assert part not in log, f"{part[:4]}… reached the job log"
    assert "gitlab key: $SOPS_AGE_KEY_FILE is a File variable (0600)" in log
    assert "could not mask" in log
    # the dotenv artifact: committed defaults only; the next job inherits them
    report = root / ".gitlab-ci-local" / "artifacts" / "build" / ".gitlab-ci-reports" / "dotenv"
    text = (report / "build.env").read_text()
    assert read_report(text) == DEFAULTS
    for value in [*SECRETS.values(), "mise-redacted-value"]:
        assert value not in text
    assert "inherited APP_ENV=staging REGION=eu-west-1" in log
    assert "no-key APP_ENV=staging" in log
    assert "key=[none]" in log  # the second job really had no key


def test_the_pipeline_log_would_show_a_secret_without_redact(proj, tmp_path):
    """The control: the same job without --redact leaks, so the test above can fail."""
    gcl = need("gitlab-ci-local")
    root, env, key = proj
    (root / ".gitlab-ci.yml").write_text(
        'leak:\n  script:\n    - chmod 600 "$SOPS_AGE_KEY_FILE"\n'
        "    - envshim run -- sh -c 'echo \"$DB_PASSWORD\"'\n"
    )
    start_repo(root)
    variables = root / VARIABLES
    variables.write_text("SOPS_AGE_KEY_FILE:\n  type: file\n  values:\n    '*': |\n"
                         + "".join(f"      {line}\n" for line in key.read_text().splitlines()))  # fmt: skip
    job_env = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY_FILE"}
    job_env["PATH"] = str(Path(sys.executable).parent) + ":" + job_env["PATH"]
    out = subprocess.run([gcl, "--shell-executor-no-image", "--home", str(tmp_path / "h"),
                          "--no-color"], cwd=root, env=job_env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:]
    assert SECRETS["DB_PASSWORD"] in out.stdout
    shutil.rmtree(root / ".gitlab-ci-local", ignore_errors=True)
