"""``envshim export [FORMAT] [DIR]`` through the real CLI: formats, exit codes, all or nothing.

Values come from a real project: mise.toml defaults and the sops vector as the
team's secrets. The shell formats are evaluated by the real shells and must
give the same values as ``--format json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import need, need_vectors, run_envshim

TRICKY_TOML = r"""[env]
APP_ENV = "staging"
QUOTES = "it's \"quoted\" and `ticked`"
MULTI = "line one\nline two\r\n\tindented"
BANG = "wow!! !$ %s %% \\ back\\slash"
EMOJI = "👩‍👩‍👧 e\u0301 ✓"
EMPTY = ""
"""


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    vectors = need_vectors() / "generated"
    root = tmp_path / "my proj ✓"
    root.mkdir()
    (root / "mise.toml").write_text(TRICKY_TOML, encoding="utf-8")
    shutil.copy(vectors / "secrets.enc.env", root / "secrets.enc.env")
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    return root, {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}


def export_json(root: Path, env: dict[str, str]) -> dict[str, str]:
    out = run_envshim("export", "--format", "json", str(root), env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_json_holds_mise_defaults_and_team_secrets(project):
    root, env = project
    data = export_json(root, env)
    assert data["MULTI"] == "line one\nline two\r\n\tindented"
    assert data["QUOTES"] == 'it\'s "quoted" and `ticked`'
    assert data["DOLLAR"] == "$HOME ${NOPE} `id` $(whoami)"  # team values are literal
    assert data["WITH_SPACES"] == "  leading and trailing  "
    assert list(data) == sorted(data)


SHELLS = {
    "bash": ["bash", "--norc", "--noprofile", "-c"],
    "zsh": ["zsh", "-f", "-c"],
    "fish": ["fish", "--no-config", "-c"],
    "posix": ["dash", "-c"],
    "sh": ["dash", "-c"],
}
EVAL = {
    "fish": 'envshim export fish | source; and /usr/bin/env -0',
    "default": 'eval "$(envshim export {fmt})" && /usr/bin/env -0',
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(SHELLS))
def test_shell_output_evaluates_to_the_json_values(project, fmt):
    root, env = project
    argv = SHELLS[fmt]
    need(argv[0])
    want = export_json(root, env)
    script = EVAL["fish"] if fmt == "fish" else EVAL["default"].format(fmt=fmt)
    proc = subprocess.run([*argv, script], cwd=root, env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    got = dict(item.split(b"=", 1) for item in proc.stdout.split(b"\0") if b"=" in item)
    for key, value in want.items():
        assert got.get(key.encode()) == value.encode(), key


def test_output_is_sorted_and_positional_forms_agree(project):
    root, env = project
    a = run_envshim("export", "zsh", str(root), env=env)
    b = run_envshim("export", "--format", "zsh", env=env, cwd=root)
    c = run_envshim("export", str(root), "--format=zsh", env=env)
    assert a.returncode == b.returncode == c.returncode == 0
    assert a.stdout == b.stdout == c.stdout
    keys = [line.split("=", 1)[0].removeprefix("export ") for line in a.stdout.splitlines()
            if line.startswith("export ")]  # fmt: skip
    assert keys == sorted(keys) and "APP_ENV" in keys
    default = run_envshim("export", env=env, cwd=root)
    assert default.stdout == run_envshim("export", "bash", env=env, cwd=root).stdout


@pytest.mark.parametrize(
    "args",
    [
        ["export", "nosuchformat"],
        ["export", "--format", "nosuchformat"],
        ["export", "bash", ".", "extra"],
        ["export", "--format", "json", "zsh"],
        ["export", "--no-such-flag"],
        ["export", "bash", "--allowlist", "x"],
    ],
)
def test_usage_errors_exit_2_with_nothing_on_stdout(project, args):
    root, env = project
    out = run_envshim(*args, env=env, cwd=root)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""


BAD_PROJECTS = {
    # file text, format, expected "file:line: message" start
    "reserved": (
        '[env]\nA = "1"\nLINENO = "2"\nZ = "3"\n',
        "bash",
        ":3: LINENO is reserved by bash",
    ),
    "fish reserved": ('[env]\nA = "1"\nstatus = "x"\n', "fish", ":3: status is reserved by fish"),
    "nul": ('[env]\nA = "1"\n\nB = "a\\u0000b"\n', "bash", ":4: the value of B contains a NUL"),
}
# A name no shell can hold ('MY-VAR') is left out with a warning instead:
# tests/test_mise_layer_errors.py::test_a_name_no_shell_can_hold_is_skipped_with_a_warning


@pytest.mark.parametrize("case", sorted(BAD_PROJECTS))
def test_bad_name_or_value_names_the_line_and_prints_nothing(tmp_path, clean_env, case):
    text, fmt, message = BAD_PROJECTS[case]
    root = tmp_path / "p"
    root.mkdir()
    (root / "mise.toml").write_text(text)
    out = run_envshim("export", fmt, env=clean_env, cwd=root)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith(f"envshim: {root / 'mise.toml'}{message}"), out.stderr
    assert len(out.stderr.splitlines()) == 1


def test_reserved_in_one_shell_is_fine_in_another(tmp_path, clean_env):
    root = tmp_path / "p"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nstatus = "ok"\n')
    out = run_envshim("export", "bash", env=clean_env, cwd=root)
    assert out.returncode == 0 and out.stdout == "export status=ok\n"


def test_broken_toml_and_missing_key_exit_1_with_nothing_on_stdout(project, tmp_path):
    root, env = project
    no_key = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY_FILE"}
    out = run_envshim("export", "bash", env=no_key, cwd=root)
    assert out.returncode == 1 and out.stdout == ""
    assert "secrets.enc.env" in out.stderr and "hunter2" not in out.stderr
    (root / "mise.toml").write_text('[env]\nA = "1"\nB = \n')
    out = run_envshim("export", "bash", env=env, cwd=root)
    assert out.returncode == 1 and out.stdout == ""
    assert str(root / "mise.toml") + ":3" in out.stderr


def test_dotenv_output_parses_back_to_the_json_values(project):
    from envshim.formats.dotenv import parse

    root, env = project
    out = run_envshim("export", "dotenv", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert {b.key: b.value for b in parse(out.stdout)} == export_json(root, env)


@pytest.mark.parametrize(
    ("dotenv", "line", "message"),
    [
        # a line without '=' may be a bare token: not even its first word is shown
        ("A=1\nB=2\nJUST_A_NAME\n", 3, "mise cannot read this dotenv line (no '='"),
        ('A=1\n\nB="never closed\nC=3\n', 3, "mise cannot read this dotenv line (a quote"),
    ],
)
def test_bad_dotenv_file_names_its_line(tmp_path, clean_env, dotenv, line, message):
    root = tmp_path / "p"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\n_.file = ".env"\n')
    (root / ".env").write_text(dotenv)
    out = run_envshim("export", "bash", env=clean_env, cwd=root)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"envshim: {root / '.env'}:{line}: {message}"), out.stderr
