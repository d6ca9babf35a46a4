"""More of the mise corpus: the forms mise accepts, ``[vars]``, ``read_file``, config_root
in ``mise`` directories, and dotenv files read as mise's dotenvy reads them.

Each case runs the real ``mise env --json`` and the real ``envshim export --format
json`` on the same tree (helpers in ``test_mise_layer``); envshim runs with a
``PATH`` that has no mise, so nothing can be handed to mise. The expected side is
always what mise printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_envshim
from mise_corpus import Corpus, run_case, trusted
from test_mise_layer import write_tree

# name -> (files, cwd relative to the tree, extra environment)
CORPUS: Corpus = {
    # --- forms ------------------------------------------------------------------------
    "deprecated mise.file and mise.path": (
        {
            "mise.toml": '[env]\nA0 = "first"\nmise.file = "a.env"\nmise.path = "p1"\n',
            "a.env": "A=1\n",
        },
        ".",
        {},
    ),
    "_.file = { value = … } and { values = [...] }": (
        {
            "mise.toml": """
                [[env]]
                _.file = { value = "a.env" }
                [[env]]
                _.file = { values = ["b.env", "c.env"] }
                """,
            "a.env": "A=1\n",
            "b.env": "B=2\n",
            "c.env": "C=3\nA=from-c\n",
        },
        ".",
        {},
    ),
    "_.file tables whose path is a list": (
        {
            "mise.toml": """
                [env]
                _.file = { path = ["a.env", "b.env"], redact = true }
                AFTER = "$A-$B"
                """,
            "a.env": "A=1\n",
            "b.env": "B=2\n",
        },
        ".",
        {},
    ),
    "_.file arrays of tables, paths, unknown options": (
        {
            "mise.toml": """
                [env]
                _.file = [{ path = "a.env" }, "b.env", { paths = ["c.env", "d.env"] }, { path = "e.env", note = "ignored" }]
                """,
            "a.env": "A=1\n",
            "b.env": "B=2\n",
            "c.env": "C=3\n",
            "d.env": "D=4\n",
            "e.env": "E=5\n",
        },
        ".",
        {},
    ),
    "expand = true: dotenv sees earlier entries and files": (
        {
            "mise.toml": """
                [env]
                BASE = "base"
                _.file = [".postgres", { path = [".local", ".child"], expand = true }]
                """,
            ".postgres": "PGHOST=postgres\n",
            ".local": 'PGTEST="${PGHOST}"\nPGTESTING=$PGHOST\nOWN=$OWN-x\n',
            ".child": 'CHILD="${BASE}/child"\nFROM_LOCAL=${PGTEST}\nPROC=${PROC}\n',
        },
        ".",
        {"PROC": "from the process", "OWN": "process own"},
    ),
    "expand = true across [[env]] blocks": (
        {
            "mise.toml": """
                [[env]]
                _.file = '.postgres'
                [[env]]
                _.file = { path = '.local', expand = true }
                """,
            ".postgres": "PGHOST=postgres\n",
            ".local": 'PGTEST="${PGHOST}"\n',
        },
        ".",
        {},
    ),
    "expand = true on json, yaml and toml": (
        {
            "mise.toml": """
                [env]
                FIRST = "one"
                _.file = [{ path = ["vals.json", "chain.yaml", "t.toml"], expand = true }, "plain.json"]
                """,
            "vals.json": '{"SECOND": "${FIRST}/two", "N": 3}',
            "chain.yaml": "BASE: /opt\nBIN: ${BASE}/bin\nUSE_SECOND: $SECOND!\n",
            "t.toml": 'T = "${BIN}:${NOPE:-d}"\n',
            "plain.json": '{"LITERAL": "${FIRST}"}',
        },
        ".",
        {},
    ),
    "without expand a dotenv file sees only the process and itself": (
        {
            "mise.toml": '[env]\nBASE = "base"\n_.file = ["a.env", "b.env"]\n',
            "a.env": "A=1\n",
            "b.env": "B=$A|${BASE}|$PROC|$B0\nB0=zero\nB1=$B0\n",
        },
        ".",
        {"PROC": "p"},
    ),
    "_.path as tables, paths and arrays of tables": (
        {
            "mise.toml": """
                [[env]]
                _.path = { path = "p1" }
                [[env]]
                _.path = { paths = ["p2", "p3"] }
                [[env]]
                _.path = [{ path = ["p4", "p5"] }, "p6", { value = "p7" }, { values = ["p8"] }]
                """,
        },
        ".",
        {},
    ),
    "${X:-$(echo })} and nested braces": (
        {
            "mise.toml": """
                [env]
                A = "a"
                X1 = "${NOPE:-$(echo })}"
                X2 = "${NOPE:-{}"
                X3 = "${NOPE:-${A}}"
                X4 = "${NOPE:-$(a (b) c)}|"
                X5 = "${NOPE:-{x}y}"
                X6 = "${A:-$(}"
                """,
        },
        ".",
        {},
    ),
    "deprecated top-level env_file, dotenv and env_path": (
        {
            "mise.toml": 'env_file = "a.env"\ndotenv = ["b.env"]\nenv_path = "p1"\n[env]\nQ = "$A$B"\n',
            "a.env": "A=1\n",
            "b.env": "B=2\n",
        },
        ".",
        {},
    ),
    # --- [vars] ---------------------------------------------------------------------
    "[vars] and {{ vars.X }}": (
        {
            "mise.toml": """
                [vars]
                A = "va"
                B = "{{ vars.A }}-b"
                C = "$HOME"
                D = 3
                E = true
                F = { value = "f" }
                G = "{{ env.PROC }}|${NOPE:-d}|$$x"
                [env]
                X = "{{ vars.A }}|{{vars.B}}|{{vars.C}}|{{ vars['D'] }}|{{ vars?.E }}|{{vars.F}}"
                Y = "{{ vars.G }}"
                Z = "{{ vars.NOPE | default(value='dflt') }}"
                """,
        },
        ".",
        {"PROC": "proc"},
    ),
    "[vars] defaults, process variables and _.file": (
        {
            "mise.toml": """
                [vars]
                F = { default = "f" }
                PROC = { default = "not used" }
                EMPTY = { default = "filled" }
                _.file = "v.env"
                LATER = { default = "not used either" }
                [env]
                X = "{{vars.F}}|{{vars.PROC}}|{{vars.EMPTY}}|{{vars.VA}}|{{vars.LATER}}"
                """,
            "v.env": "VA=fromfile\nLATER='from the file'\n",
        },
        ".",
        {"PROC": "proc", "EMPTY": ""},
    ),
    "[vars] after [env] in the file and across configs": (
        {
            "mise.toml": '[env]\nX = "{{vars.A}}|{{vars.B}}"\n[vars]\nA = "root"\nB = "root b"\n',
            "sub/mise.toml": '[vars]\nA = "sub {{ vars.A }}"\n[env]\nY = "{{vars.A}}"\n',
        },
        "sub",
        {},
    ),
    "[vars] in _.file and _.path, [vars] _.path ignored": (
        {
            "mise.toml": """
                [vars]
                NAME = "cfg"
                _.path = "not-on-path"
                [env]
                _.file = "{{ vars.NAME }}.env"
                _.path = "{{ vars.NAME }}/bin"
                """,
            "cfg.env": "FROM=cfg\n",
        },
        ".",
        {},
    ),
    "[vars] false, required and tools": (
        {
            "mise.toml": """
                [vars]
                HOME = false
                H = "${HOME:-no home in vars}"
                R = { required = true }
                T = { value = "tools", tools = true }
                [env]
                X = "{{ vars.H }}|{{ vars.R }}|{{ vars.T | default(value='skipped') }}|$HOME"
                """,
        },
        ".",
        {"R": "from the process"},
    ),
    # --- read_file --------------------------------------------------------------------
    "read_file, trim and replace": (
        {
            "mise.toml": """
                [vars]
                CONFIG_FILE = "config.txt"
                [env]
                VERSION = "{{ read_file(path='version.txt') | trim }}"
                RAW = "{{ read_file(path='version.txt') }}"
                MULTI = "{{ read_file(path='multi.txt') | replace(from='\\n', to=' ') | trim }}"
                FROM_VAR = "{{ read_file(path=vars.CONFIG_FILE) | trim }}"
                TEMPLATED = "{{ read_file(path='tpl.txt') | trim }}"
                SUB = "{{ read_file(path='subdir/info.txt') | trim_end }}"
                """,
            "version.txt": "1.2.3\n",
            "multi.txt": "line1\nline2\nline3\n",
            "config.txt": "production\n",
            "tpl.txt": "{{ env.USER }} $HOME\n",
            "subdir/info.txt": "  test-content \n",
        },
        ".",
        {},
    ),
    "read_file relative to the config file's directory": (
        {
            "mise.toml": "[env]\nPARENT = \"{{ read_file(path='version.txt') | trim }}\"\n",
            "version.txt": "1.0.0\n",
            "sub/mise.toml": "[env]\nSUB = \"{{ read_file(path='version.txt') | trim }}\"\n",
            "sub/version.txt": "2.0.0\n",
            "sub/.mise/config.toml": "[env]\nIN_DOT_MISE = \"{{ read_file(path='v.txt') | trim }}\"\n",
            "sub/.mise/v.txt": "3.0.0\n",
        },
        "sub",
        {},
    ),
    # --- config_root ------------------------------------------------------------------
    "config_root of a mise.toml in a directory named mise": (
        {
            "mise/mise.toml": '[env]\nR = "{{config_root}}"\n_.file = "here.env"\n',
            "mise/here.env": "HERE=yes\n",
            "mise/.mise/config.toml": '[env]\nR2 = "{{config_root}}"\n',
        },
        "mise",
        {},
    ),
    "config_root of .config/mise/mise.toml": (
        {
            ".config/mise/mise.toml": '[env]\nR = "{{config_root}}"\n_.file = "x.env"\n',
            ".config/mise/x.env": "X='in .config/mise'\n",
            ".config/mise/config.toml": '[env]\nR2 = "{{config_root}}"\n',
        },
        ".",
        {},
    ),
    # --- dotenv files as mise's dotenvy reads them ------------------------------------
    "dotenv: escapes, carriage return, dotted names, adjacent quotes": (
        {
            "mise.toml": '[env]\n_.file = ".env"\n',
            ".env": (
                "S6=s\\ ix\n"
                "CR=b\rc=d\n"
                "ADJ='a'\\''b'\n"
                "MIX=ab\"c d\"'e f'g\n"
                "export EXP=1\n"
                "  export   SPACED = 'x'\n"
                "export='as key'\n"
                "EMPTY=\n"
                "EMPTY2=   # only a comment\n"
                "HASH=1#2\n"
                "HASH2=1 #2\n"
                "TRAIL=x\\\n"
                'DQ="a\\nb \\"q\\" \\$HOME \\\\"\n'
                "SQ='$HOME \\n'\n"
                "# a comment\n"
                "   # an indented comment\n"
                'ML="multi\nline"\n'
                "LAST=end"
            ),
        },
        ".",
        {},
    ),
    "dotenv: substitution as dotenvy does it": (
        {
            "mise.toml": '[env]\n_.file = ".env"\n',
            ".env": (
                "A=a\n"
                "S1=$A_x|${A}_x|$Aé|${}|$|a$\n"
                "S2=$PROC\n"
                "PROC=file\n"
                "S3=${PROC}\n"
                'S4="${A}"\n'
                "S5=$A$A\n"
                "S6=${A}${NOPE}\n"
            ),
        },
        ".",
        {"PROC": "process wins"},
    ),
    "dotenv: byte order mark and CRLF": (
        {
            "mise.toml": '[env]\n_.file = ["bom.env", "crlf.env"]\n',
            "bom.env": "\ufeffBOM=1\n",
            "crlf.env": "C1=1\r\nC2='two'\r\n",
        },
        ".",
        {},
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_forms_equal_mise_env(name: str, tmp_path: Path, home: Path, clean_env):
    result = run_case(CORPUS, name, tmp_path, home, trusted(clean_env, tmp_path))
    assert result, "the case must set something"


def test_cases_mean_what_they_say(tmp_path: Path, home: Path, clean_env):
    """Spot checks on mise's own answers, so a broken oracle cannot pass silently."""
    r = run_case(
        CORPUS,
        "dotenv: escapes, carriage return, dotted names, adjacent quotes",
        tmp_path,
        home,
        trusted(clean_env, tmp_path),
    )
    assert r["S6"] == "s ix" and r["CR"] == "b\rc=d" and r["ADJ"] == "a'b"
    assert "c" not in r  # `a=b\rc=d` is one variable


def test_vars_and_read_file_never_hand_off(tmp_path: Path, home: Path, clean_env):
    """With mise on PATH too, a vars/read_file config is evaluated by envshim itself."""
    files = CORPUS["read_file, trim and replace"][0]
    tree = tmp_path / "tree"
    tree.mkdir()
    write_tree(tree, home, files)
    shown = run_envshim("explain", "VERSION", env=trusted(clean_env, tmp_path), cwd=tree)
    assert shown.returncode == 0, shown.stderr
    assert "mise env --json" not in shown.stdout


# --- globs through directory symlinks ------------------------------------------------


def _linked_tree(tmp_path: Path) -> Path:
    """`_.file = ".env*"` over a tree with two directory symlinks to `..` (a walk that
    follows them is exponential), one to a sibling directory, and one out of the project."""
    proj = tmp_path / "tree" / "p"
    (proj / "sub").mkdir(parents=True)
    (proj / "other").mkdir()
    (proj / "deep").mkdir()
    (proj / "mise.toml").write_text('[env]\n_.file = ".env*"\n')
    (proj / ".env").write_text("A=1\n")
    (proj / "sub" / ".env.b").write_text("B=2\n")
    (proj / "other" / ".env.c").write_text("C=3\n")
    (proj / "sub" / "up1").symlink_to("..", target_is_directory=True)
    (proj / "sub" / "up2").symlink_to("..", target_is_directory=True)
    (proj / "deep" / "link").symlink_to("../other", target_is_directory=True)
    return proj


def test_glob_through_symlinks_to_parents_equals_mise(tmp_path: Path, home: Path, clean_env):
    from mise_corpus import compare_native

    proj = _linked_tree(tmp_path)
    result = compare_native(proj, trusted(clean_env, tmp_path))
    assert result == {"A": "1", "B": "2", "C": "3"}


def test_glob_does_not_leave_the_project(tmp_path: Path, home: Path, clean_env):
    """Documented difference: mise follows a directory symlink out of the project; envshim
    does not, and warns naming it. Either way the walk ends at once."""
    import time

    from mise_corpus import without_mise
    from test_mise_layer import mise_env

    proj = _linked_tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env.o").write_text("O=outside\n")
    (proj / "deep" / "out").symlink_to(elsewhere, target_is_directory=True)
    env = trusted(clean_env, tmp_path)
    assert json.loads(mise_env(proj, env).stdout)["O"] == "outside"
    started = time.monotonic()
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj)
    assert time.monotonic() - started < 10
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == {"A": "1", "B": "2", "C": "3"}
    assert "deep/out" in ours.stderr and "symlink out of the project" in ours.stderr


# --- dotenv values, property-checked against the real mise --------------------------------

_DOTENV_PIECES = st.sampled_from(
    ["a", "B_1", "$", "$A", "${A}", "${", "}", "{", "'", '"', "\\", "\\n", "\\ ", "\\$", " ",
     "\t", "#", "=", ".", "é", "$é", "\r", "x y", "'q q'", '"d d"', "$A_B", "${NOPE}"]
)  # fmt: skip
_DOTENV_VALUES = st.lists(
    st.lists(_DOTENV_PIECES, min_size=1, max_size=6).map("".join), min_size=3, max_size=8
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_DOTENV_VALUES)
def test_dotenv_values_match_mise(
    values: list[str], tmp_path_factory: pytest.TempPathFactory, clean_env
):
    """Random dotenv values through `_.file`: envshim fails exactly where mise does, and
    otherwise reads every value as mise does."""
    from mise_corpus import without_mise
    from test_mise_layer import mise_env

    tmp = tmp_path_factory.mktemp("dotenv")
    (tmp / "mise.toml").write_text('[env]\n_.file = ".env"\n')
    (tmp / ".env").write_text(
        "A=a\n" + "".join(f"V{i}={v}\n" for i, v in enumerate(values)), encoding="utf-8"
    )
    env = {**clean_env, "MISE_TRUSTED_CONFIG_PATHS": str(tmp)}
    theirs = mise_env(tmp, env)
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=tmp)
    assert (ours.returncode == 0) == (theirs.returncode == 0), (ours.stderr, theirs.stderr)
    if theirs.returncode == 0:
        expected, got = json.loads(theirs.stdout), json.loads(ours.stdout)
        expected.pop("PATH", None)
        assert got == expected


def test_glob_through_fanning_links_is_bounded(tmp_path: Path, clean_env):
    """Links that fan out (each level links twice to the next) make 2**20 paths without a
    loop: the walk stops at a bound with one line naming the config line."""
    import time

    proj = tmp_path / "fan"
    for i in range(21):
        (proj / f"d{i}").mkdir(parents=True)
    for i in range(20):
        for name in ("x", "y"):
            (proj / f"d{i}" / name).symlink_to(f"../d{i + 1}", target_is_directory=True)
    (proj / "d20" / ".env.z").write_text("Z=1\n")
    (proj / "mise.toml").write_text('[env]\n_.file = "d0/**/.env*"\n')
    started = time.monotonic()
    ours = run_envshim("export", "--format", "json", env=clean_env, cwd=proj)
    assert time.monotonic() - started < 20
    assert ours.returncode == 1 and ours.stdout == ""
    lines = ours.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{proj}/mise.toml:2" in lines[0] and "symlinks" in lines[0]
