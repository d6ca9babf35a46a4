"""Bad mise configs: one line on stderr naming the file and line, exit 1, nothing on stdout.

Where mise itself rejects the same input, the real mise is run too, so a case
cannot drift into something mise accepts. The one documented difference: mise
skips a missing ``_.file`` silently; envshim reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need, run_envshim

# name -> (files, the file:line the error must name, words the message must hold, mise also fails)
CASES: dict[str, tuple[dict[str, str], str, list[str], bool]] = {
    "malformed TOML": (
        {"mise.toml": '[env]\nA = "ok"\nB = "unterminated\n'},
        "mise.toml:3:",
        ["invalid TOML"],
        True,
    ),
    "float": (
        {"mise.toml": '[env]\nA = "ok"\nRATIO = 1.5\n'},
        "mise.toml:3",
        ["RATIO", "float"],
        True,
    ),
    "float in value": (
        {"mise.toml": "[env]\nR = { value = 1.5 }\n"},
        "mise.toml:2",
        ["R", "no value"],
        True,
    ),
    "array": ({"mise.toml": "[env]\n\nLIST = [1, 2]\n"}, "mise.toml:3", ["LIST", "array"], True),
    "undefined env.X": (
        {"mise.toml": '[env]\nA = "x"\nURL = "postgres://{{ env.DB_PASSWORD }}@db"\n'},
        "mise.toml:3",
        ["DB_PASSWORD", "not defined"],
        True,
    ),
    "undefined env?.X": (
        {"mise.toml": '[env]\nA = "{{ env?.NOPE }}"\n'},
        "mise.toml:2",
        ["NOPE"],
        True,
    ),
    "get_env without default": (
        {"mise.toml": "[env]\nA = \"{{ get_env(name='NOPE') }}\"\n"},
        "mise.toml:2",
        ["NOPE", "not defined"],
        True,
    ),
    "default cannot be a boolean": (
        {"mise.toml": "[env]\nD = { default = true }\n"},
        "mise.toml:2",
        ["D", "boolean"],
        True,
    ),
    "required and value": (
        {"mise.toml": '[env]\nR = { required = true, value = "x" }\n'},
        "mise.toml:2",
        ["R", "required"],
        True,
    ),
    "no value": (
        {"mise.toml": "[env]\nR = { redact = true }\n"},
        "mise.toml:2",
        ["R", "no value"],
        True,
    ),
    "required, all missing listed with help": (
        {
            "mise.toml": (
                '[env]\nOK = 1\nAPI_TOKEN = { required = "ask the team for the staging token" }\n'
                "OTHER = { required = true }\n"
            )
        },
        "mise.toml:3",
        ["API_TOKEN", "ask the team for the staging token", "OTHER", "mise.toml:4"],
        True,
    ),
    "missing _.file": (
        {"mise.toml": '[env]\nA = 1\n_.file = ".env.missing"\n'},
        "mise.toml:3",
        [".env.missing", "does not exist"],
        False,  # mise skips it silently
    ),
    "dotenv line without =": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": "GOOD=1\n\nBROKEN LINE\n"},
        ".env:3",
        ["no '='"],  # the line itself (it may be a bare token) is never quoted
        True,
    ),
    "null in a json _.file": (
        {"mise.toml": '[env]\n_.file = "vars.json"\n', "vars.json": '{"A": "x", "NOTHING": null}'},
        "vars.json",
        ["NOTHING", "null"],
        True,
    ),
    "value and default together": (
        {"mise.toml": '[env]\nA = 1\nX = { value = "v", default = "d" }\n'},
        "mise.toml:3",
        ["X", "'default'", "'value'"],
        True,
    ),
    "age and default together": (
        {"mise.toml": '[env]\nX = { age = "YWdl", default = "d" }\n'},
        "mise.toml:2",
        ["X", "'default'", "'age'"],
        True,
    ),
    "_.file table without a path": (
        {"mise.toml": "[env]\n_.file = { redact = true }\n"},
        "mise.toml:2",
        ["_.file", "path"],
        True,
    ),
    "_.file table with both path and value": (
        {"mise.toml": '[env]\n_.file = { path = "a.env", value = "b.env" }\n', "a.env": "A=1\n"},
        "mise.toml:2",
        ["_.file"],
        True,
    ),
    "dotenv: unquoted value with a space": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": "OK=1\nSPACED=a b\n"},
        ".env:2",
        ["SPACED", "space"],
        True,
    ),
    "dotenv: unquoted value with a tab": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": "TABBED=a\tb\n"},
        ".env:1",
        ["TABBED", "tab"],
        True,
    ),
    "dotenv: last line ends in a space": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": "OK=1\nLAST=ab "},
        ".env:2",
        ["space"],
        True,
    ),
    "dotenv: $NAME before a closing quote": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": 'Q="$HOME"\n'},
        ".env:1",
        ["Q", "not closed"],
        True,
    ),
    "dotenv: an escape dotenvy does not know": (
        {"mise.toml": '[env]\n_.file = ".env"\n', ".env": 'A=1\nT="a\\tb"\n'},
        ".env:2",
        ["T", "escape"],
        True,
    ),
    "undefined vars.X": (
        {"mise.toml": '[vars]\nA = "x"\n[env]\nX = "{{ vars.B }}"\n'},
        "mise.toml:4",
        ["vars.B", "not defined", "[vars]"],
        True,
    ),
    "vars.mise": (
        {"mise.toml": '[vars]\nmise.file = ".env"\n', ".env": "A=1\n"},
        "mise.toml:2",
        ["vars.mise"],
        True,
    ),
    "required var missing": (
        {"mise.toml": '[vars]\nB = { required = true }\n[env]\nX = "{{ vars.B }}"\n'},
        "mise.toml:2",
        ["B", "required"],
        True,
    ),
    "read_file of a missing file": (
        {"mise.toml": "[env]\nA = 1\nV = \"{{ read_file(path='nope.txt') }}\"\n"},
        "mise.toml:3",
        ["read_file", "nope.txt", "does not exist"],
        True,
    ),
    "invalid .miserc.toml": (
        {".miserc.toml": "env = [\n", "mise.toml": "[env]\nA = 1\n"},
        ".miserc.toml:",
        ["invalid TOML"],
        True,
    ),
    "miserc env that is not a list": (
        {".miserc.toml": 'auto_env = false\nenv = "dev"\n', "mise.toml": "[env]\nA = 1\n"},
        ".miserc.toml:2",
        ["env", "wrong type"],
        True,
    ),
    "NUL in a value": (
        {"mise.toml": '[env]\n\nNUL = "a\\u0000b"\n'},
        "mise.toml:3",
        ["NUL"],
        False,
    ),
}


def _bad(tmp_path: Path, files: dict[str, str]) -> Path:
    proj = tmp_path / "proj dir ü"
    for rel, text in files.items():
        path = proj / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return proj


def _assert_one_line_error(
    proc: subprocess.CompletedProcess[str], where: str, words: list[str]
) -> None:
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert where in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_one_line_error(name: str, tmp_path: Path, clean_env: dict[str, str]):
    files, where, words, mise_fails = CASES[name]
    proj = _bad(tmp_path, files)
    for fmt in ("json", "bash"):
        proc = run_envshim("export", "--format", fmt, env=clean_env, cwd=proj)
        _assert_one_line_error(proc, f"{proj}/{where}", words)
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp_path)}
    theirs = subprocess.run(
        [need("mise"), "env", "--json"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (theirs.returncode != 0) == mise_fails, theirs.stderr


@pytest.mark.parametrize(
    "files,where,name",
    [
        ({"mise.toml": '[env]\nGOOD = "x"\n"1BAD" = "y"\n'}, "mise.toml:3", "1BAD"),
        (
            {"mise.toml": '[env]\n_.file = ".env"\n', ".env": "GOOD=x\nKEY.Value=1\n"},
            ".env:2",
            "KEY.Value",
        ),
    ],
)
def test_a_name_no_shell_can_hold_is_skipped_with_a_warning(
    files: dict[str, str], where: str, name: str, tmp_path: Path, clean_env: dict[str, str]
):
    """One policy for every format (mise exports such a name; no shell can hold it): the
    name is left out with one warning naming its file and line, every other name loads."""
    proj = _bad(tmp_path, files)
    proc = run_envshim("export", "--format", "json", env=clean_env, cwd=proj)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"GOOD": "x"}
    assert proc.stderr.count("\n") == 1
    assert f"{proj}/{where}: skipped {name!r}: no shell can hold that name" in proc.stderr


def test_unsupported_construct_without_mise_names_it(tmp_path: Path, clean_env: dict[str, str]):
    proj = _bad(
        tmp_path,
        {"mise.toml": '[env]\nA = "a"\nGIT_SHA = "{{ exec(command=\'git rev-parse HEAD\') }}"\n'},
    )
    python_dir = os.path.dirname(os.path.realpath(need("python3")))
    env = {**clean_env, "PATH": f"{python_dir}:/usr/bin:/bin"}
    assert (
        subprocess.run(["sh", "-c", "command -v mise"], env=env, capture_output=True).returncode
        != 0
    )
    proc = run_envshim("export", "--format", "json", env=env, cwd=proj)
    _assert_one_line_error(proc, f"{proj}/mise.toml:3", ["exec(", "not supported", "install mise"])


@pytest.mark.parametrize(
    ("files", "construct"),
    [
        ({"mise.toml": '[env]\n_.source = "env.sh"\n', "env.sh": "export X=1\n"}, "_.source"),
        ({"mise.toml": '[env]\n_.python.venv = ".venv"\n'}, "_.python"),
        ({"mise.toml": '[env]\nA = "{% if true %}x{% endif %}"\n'}, "{% if true %}"),
        ({"mise.toml": "[env]\nA = \"{{ 'x' | upper }}\"\n"}, "upper"),
    ],
)
def test_other_constructs_without_mise(
    files: dict[str, str], construct: str, tmp_path: Path, clean_env
):
    proj = _bad(tmp_path, files)
    marker = proj / "ran"
    python_dir = os.path.dirname(os.path.realpath(need("python3")))
    env = {**clean_env, "PATH": f"{python_dir}:/usr/bin:/bin"}
    proc = run_envshim("export", "--format", "json", env=env, cwd=proj)
    _assert_one_line_error(proc, f"{proj}/mise.toml:2", [construct, "not supported"])
    assert not marker.exists()


def test_secret_value_never_in_an_error(tmp_path: Path, clean_env: dict[str, str]):
    """A derived value of a secret that breaks (NUL) is reported by name, never by value."""
    proj = _bad(
        tmp_path, {"mise.toml": '[env]\nTOKEN = { value = "s3cr3t-\\u0000-x", redact = true }\n'}
    )
    proc = run_envshim("export", "--format", "json", env=clean_env, cwd=proj)
    _assert_one_line_error(proc, f"{proj}/mise.toml:2", ["TOKEN"])
    assert "s3cr3t" not in proc.stderr


def test_delegation_failure_names_the_construct(tmp_path: Path, clean_env: dict[str, str]):
    """mise fails on the delegated construct: envshim names the line that needed mise, not mise's text."""
    need("mise")
    proj = _bad(tmp_path, {"mise.toml": "[env]\nA = 1\nB = \"{{ exec(command='exit 3') }}\"\n"})
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp_path)}
    proc = run_envshim("export", "--format", "json", env=env, cwd=proj)
    _assert_one_line_error(proc, f"{proj}/mise.toml:3", ["exec(", "mise env --json", "failed"])


# --- $VAR expansion, property-checked against the real mise -----------------------------

_PIECES = st.sampled_from(
    ["$", "$$", "}", "$A", "${A}", "$EMPTY", "${NOPE:-", "${NOPE-", "${EMPTY:-", "${EMPTY-", "${A:-",
     ":-", "-", "_", "x", "é", " ", "${", "$_", "$9", "A", "\\", "${A:=", "${A:+", "$A_B", "${A_B}",
     "$(", "(", ")", "{"]
)  # fmt: skip
_VALUES = st.lists(st.lists(_PIECES, min_size=1, max_size=8).map("".join), min_size=4, max_size=12)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_VALUES)
def test_expansion_matches_mise(
    values: list[str], tmp_path_factory: pytest.TempPathFactory, clean_env
):
    """Random mixtures of $-syntax expand exactly as mise expands them."""
    tmp = tmp_path_factory.mktemp("expand")
    body = "".join(f'V{i} = "{v.replace(chr(92), chr(92) * 2)}"\n' for i, v in enumerate(values))
    (tmp / "mise.toml").write_text(f'[env]\nA = "a"\nA_B = "ab"\n{body}', encoding="utf-8")
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp), "EMPTY": ""}
    theirs = subprocess.run(
        [need("mise"), "env", "--json"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ours = run_envshim("export", "--format", "json", env=env, cwd=tmp)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    if theirs.returncode == 0:
        import json

        expected = json.loads(theirs.stdout)
        got = json.loads(ours.stdout)
        expected.pop("PATH", None)
        got.pop("PATH", None)
        assert got == expected


def test_multiline_string_does_not_confuse_line_numbers(tmp_path: Path, clean_env: dict[str, str]):
    text = textwrap.dedent(
        '''\
        [env]
        DOC = """
        FLOAT = 1
        """
        FLOAT = 2.5
        '''
    )
    proj = _bad(tmp_path, {"mise.toml": text})
    proc = run_envshim("export", "--format", "json", env=clean_env, cwd=proj)
    _assert_one_line_error(proc, f"{proj}/mise.toml:5", ["FLOAT", "float"])


_TEMPLATE_PIECES = st.sampled_from(
    ["{{ env.A }}", "{{env.A}}", "{{ env?.A }}", "{{ env.NOPE | default(value='d') }}",
     "{{ get_env(name='HOME') }}", "{{ get_env(name='NOPE', default='g') }}", "{{ config_root }}",
     "{{cwd}}", "{# c #}", "{{ 'lit' }}", "{{ env['A'] }}", "$A", "${A}", "$$", "x", " ", "-",
     "é", "}", "${NOPE:-n}"]
)  # fmt: skip
_TEMPLATED = st.lists(
    st.lists(_TEMPLATE_PIECES, min_size=1, max_size=6).map("".join), min_size=4, max_size=12
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_TEMPLATED)
def test_templates_match_mise(
    values: list[str], tmp_path_factory: pytest.TempPathFactory, clean_env
):
    """Random mixtures of the supported Tera forms and $-syntax render exactly as in mise."""
    tmp = tmp_path_factory.mktemp("tera")
    body = "".join(f'V{i} = "{v}"\n' for i, v in enumerate(values))
    (tmp / "mise.toml").write_text(f'[env]\nA = "a$$"\n{body}', encoding="utf-8")
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp)}
    theirs = subprocess.run(
        [need("mise"), "env", "--json"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert theirs.returncode == 0, theirs.stderr
    ours = run_envshim("export", "--format", "json", env=env, cwd=tmp)
    assert ours.returncode == 0, ours.stderr
    import json

    expected, got = json.loads(theirs.stdout), json.loads(ours.stdout)
    expected.pop("PATH", None)
    got.pop("PATH", None)
    assert got == expected
