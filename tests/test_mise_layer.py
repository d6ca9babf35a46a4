"""The mise layer against the real mise: ``envshim export --format json`` == ``mise env --json``.

Every case builds a tree of mise configs in a temporary directory, runs the
real ``mise env --json`` there (isolated HOME/XDG dirs, the tree trusted with
``MISE_TRUSTED_CONFIG_PATHS``) and the real ``envshim export --format json``,
and compares them. ``PATH`` is compared by the entries added in front of the
base ``PATH`` (mise always prints ``PATH``; envshim only when it changes it).
The expected side is always what mise printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import VECTORS, need, need_vectors, run_envshim

# --- helpers -------------------------------------------------------------------------


def write_tree(base: Path, home: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative to ``base``; ``~/…`` relative to ``home``)."""
    for rel, text in files.items():
        path = home / rel[2:] if rel.startswith("~/") else base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _normalize(data: dict[str, str], base_path: str) -> dict[str, str]:
    """``PATH`` replaced by the entries added in front of the base ``PATH`` (``PATH+``).

    mise prints the base part without duplicate entries; envshim keeps it as it was.
    """
    data = dict(data)
    path = data.pop("PATH", None)
    if path is None:
        return data
    entries = path.split(os.pathsep)
    for tail in (base_path.split(os.pathsep), list(dict.fromkeys(base_path.split(os.pathsep)))):
        if entries[len(entries) - len(tail) :] == tail:
            entries = entries[: len(entries) - len(tail)]
            break
    if entries:
        data["PATH+"] = os.pathsep.join(entries)
    return data


def mise_env(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("mise"), "env", "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def compare(cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run both; assert they agree; return mise's (normalized) answer."""
    theirs = mise_env(cwd, env)
    assert theirs.returncode == 0, f"mise failed: {theirs.stderr}"
    ours = run_envshim("export", "--format", "json", env=env, cwd=cwd)
    assert ours.returncode == 0, f"envshim failed: {ours.stderr}"
    expected = _normalize(json.loads(theirs.stdout), env["PATH"])
    assert _normalize(json.loads(ours.stdout), env["PATH"]) == expected
    return expected


@pytest.fixture
def mise_env_vars(clean_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(clean_env)
    env["MISE_TRUSTED_CONFIG_PATHS"] = str(tmp_path)
    return env


# --- the corpus --------------------------------------------------------------------------

# name -> (files, cwd relative to the tree, extra environment)
CORPUS: dict[str, tuple[dict[str, str], str, dict[str, str]]] = {
    "hierarchy": (
        {
            "mise.toml": """
                [env]
                A = "root"
                B = 2
                ROOT_DATA = "{{config_root}}/data"
                WHERE = "{{cwd}}"
                """,
            "app/mise.toml": """
                [env]
                A = "app"
                FROM_PARENT = "{{env.B}}-$A"
                APP_DATA = "{{config_root}}/data"
                """,
            "app/sub/.keep": "",
        },
        "app/sub",
        {},
    ),
    "every file name in one directory": (
        {
            name: f'[env]\nX = "${{X:-}}|{name}"\nV_{i} = "{name}"\n'
            for i, name in enumerate(
                [
                    "mise.toml",
                    ".mise.toml",
                    "mise.local.toml",
                    ".mise.local.toml",
                    ".config/mise.toml",
                    ".config/mise/config.toml",
                    ".config/mise/mise.toml",
                    ".config/mise/config.local.toml",
                    ".config/mise/mise.local.toml",
                    ".config/mise.local.toml",
                    "mise/config.toml",
                    "mise/config.local.toml",
                    ".mise/config.toml",
                    ".mise/config.local.toml",
                    ".config/mise/conf.d/b.toml",
                    ".config/mise/conf.d/a.toml",
                    ".mise/conf.d/a.toml",
                    "mise/conf.d/a.toml",
                    "mise/conf.d/skip.txt",
                    "conf.d/not-read.toml",
                    "mise.dev.toml",
                ]
            )
        },
        ".",
        {},
    ),
    "profiles, last one wins": (
        {
            "mise.toml": '[env]\nX = "${X:-}|base"\nP = "base"\n',
            "mise.local.toml": '[env]\nX = "${X:-}|local"\n',
            "mise.dev.toml": '[env]\nX = "${X:-}|dev"\nP = "dev"\nDEV = 1\n',
            "mise.dev.local.toml": '[env]\nX = "${X:-}|dev.local"\n',
            ".config/mise.dev.toml": '[env]\nX = "${X:-}|.config dev"\n',
            "mise/config.prod.toml": '[env]\nX = "${X:-}|mise/ prod"\nP = "prod"\n',
            "mise.prod.toml": '[env]\nX = "${X:-}|prod"\n',
            ".mise.prod.local.toml": '[env]\nX = "${X:-}|.prod.local"\n',
            "mise.staging.toml": '[env]\nSTAGING = "not selected"\n',
            "sub/mise.dev.toml": '[env]\nX = "${X:-}|sub dev"\n',
        },
        "sub",
        {"MISE_ENV": "dev,prod"},
    ),
    "global config, conf.d and profiles below the project": (
        {
            "~/.config/mise/config.toml": '[env]\nX = "${X:-}|global"\nG = "{{config_root}}"\n',
            "~/.config/mise/conf.d/10.toml": '[env]\nX = "${X:-}|global conf.d"\n',
            "~/.config/mise/config.ci.toml": '[env]\nX = "${X:-}|global ci"\n',
            "~/.config/mise/config.local.toml": '[env]\nX = "${X:-}|global local"\n',
            "mise.toml": '[env]\nX = "${X:-}|project"\n',
        },
        ".",
        {"MISE_ENV": "ci"},
    ),
    "MISE_CONFIG_DIR moves the global config": (
        {
            "cfg/config.toml": '[env]\nFROM_CONFIG_DIR = "yes"\n',
            "~/.config/mise/config.toml": '[env]\nFROM_XDG = "not read"\n',
            "proj/mise.toml": '[env]\nP = "1"\n',
        },
        "proj",
        {"MISE_CONFIG_DIR": "{tree}/cfg"},
    ),
    "MISE_GLOBAL_CONFIG_FILE is the only global file": (
        {
            "g/global.toml": '[env]\nONLY = "{{config_root}}"\n',
            "~/.config/mise/conf.d/x.toml": '[env]\nCONF_D = "not read"\n',
            "proj/mise.toml": '[env]\nP = "1"\n',
        },
        "proj",
        {"MISE_GLOBAL_CONFIG_FILE": "{tree}/g/global.toml"},
    ),
    "system config directory below the global one": (
        {
            "sys/conf.d/a.toml": '[env]\nX = "${X:-}|system conf.d"\n',
            "sys/config.toml": '[env]\nX = "${X:-}|system"\nSYS_ROOT = "{{config_root}}"\n',
            "sys/config.dev.toml": '[env]\nX = "${X:-}|system dev"\n',
            "sys/config.local.toml": '[env]\nX = "${X:-}|system local"\n',
            "~/.config/mise/config.toml": '[env]\nX = "${X:-}|global"\n',
            "proj/mise.toml": '[env]\nX = "${X:-}|project"\n',
        },
        "proj",
        {"MISE_SYSTEM_CONFIG_DIR": "{tree}/sys", "MISE_ENV": "dev"},
    ),
    "ceiling excluded": (
        {
            "mise.toml": '[env]\nABOVE = "not read"\n',
            "top/mise.toml": '[env]\nTOP = "not read: the ceiling itself"\n',
            "top/mid/mise.toml": '[env]\nMID = "read"\n',
            "top/mid/leaf/mise.local.toml": '[env]\nLEAF = "read"\n',
        },
        "top/mid/leaf",
        {"MISE_CEILING_PATHS": "{tree}/top"},
    ),
    "scalar values, false, value, default": (
        {
            "mise.toml": """
                [env]
                STR = "text"
                INT = -42
                BIG = 123456789012345
                HEX = 0x1F
                YES = true
                UNSET_ME = false
                VALUE = { value = "v" }
                VALUE_INT = { value = 3 }
                VALUE_TRUE = { value = true }
                VALUE_FALSE = { value = false }
                REDACTED = { value = "hidden", redact = true }
                DEFAULT_UNSET = { default = "d" }
                DEFAULT_SET = { default = "not used" }
                DEFAULT_EMPTY = { default = "filled" }
                DEFAULT_TEMPLATED = { default = "{{config_root}}/d" }
                EMPTY = ""
                DATE = 1979-05-27
                DATETIME = 1979-05-27T07:32:00Z
                LOCAL_TIME = 07:32:00
                MULTI = '''
                line one
                line two'''
                """,
        },
        ".",
        {
            "UNSET_ME": "was set",
            "VALUE_FALSE": "was set",
            "DEFAULT_SET": "kept",
            "DEFAULT_EMPTY": "",
        },
    ),
    "templates": (
        {
            "mise.toml": """
                [env]
                A = "a"
                T1 = "{{ env.A }}|{{env.HOME}}|{{ env['A'] }}|{{ env?.A }}"
                T2 = "{{ get_env(name='FROM_PROCESS') }}|{{ get_env(name='NOPE', default='gd') }}"
                T3 = "{{ get_env(name='A', default='get_env does not see [env]') }}"
                T4 = "{{ env.NOPE | default(value='fd') }}|{{ env?.NOPE | default(value=\\"q\\") }}"
                T5 = "{{ config_root }}|{{cwd}}|{# a comment #}|{{ '{{' }}|{{ \\"lit\\" }}"
                T6 = "{{ env.EMPTY | default(value='not used: defined') }}"
                T7 = { value = "{{ env.A }}-v" }
                T8 = "a{b}c { x }"
                """,
        },
        ".",
        {"FROM_PROCESS": "fp", "EMPTY": ""},
    ),
    "$VAR expansion": (
        {
            "mise.toml": """
                [env]
                A = "a"
                E1 = "$A|${A}|${A}_x|$A_x|$$|$$A|$$$A|$|a$"
                E2 = "${NOPE:-d}|${EMPTY:-e}|${EMPTY-f}|${NOPE-g}|${A:-h}|${NOPE:-}"
                E3 = "${NOPE:-$A}|${NOPE:-x${A}y}|${NOPE:-{braces}}|${NOPE:-$$}"
                E4 = "${A:=x}|${A:+x}|${ A}|$1|$9x|${9x}|$é|${A"
                E5 = "{{ env.TEMPLATED }}"
                E6 = "\\\\$A"
                E7 = "${NOPE:-a}b}"
                PREV = "before"
                PREV2 = "$PREV-after"
                """,
        },
        ".",
        {"EMPTY": "", "TEMPLATED": "$A and $$"},
    ),
    "[[env]] tables and the order of _ directives": (
        {
            "mise.toml": """
                [[env]]
                A = "1:${F:-unset}"
                _.file = "f.env"
                B = "2:${F:-unset}"
                _.path = "bin1"
                C = "3:$PATH"
                [[env]]
                _.path = ["bin2", "bin3"]
                D = "{{ env.PATH }}"
                """,
            "f.env": "F='from file'\n",
        },
        ".",
        {},
    ),
    "_.file formats": (
        {
            "mise.toml": """
                [env]
                PRE = "pre"
                _.file = [".env", "cfg/a.json", { path = "cfg/b.yaml" }, "cfg/c.toml", "cfg/d.yml", "cfg/e.env.json"]
                AFTER = "$D1|$J1|$Y1|$T1"
                """,
            ".env": """
                # a comment
                D1=one
                export D2="two ${D1}"
                D3='three $D1 \\n'
                D4=${D1}x$D1 y
                D5=five # trailing comment
                D6="multi
                line"
                D7="esc\\n\\"q\\" \\$D1"
                D8=a=b
                D9=${PRE}|$HOME|$PROCESS_VAR
                D10=
                D11=un\\nquoted
                D12=é$D1é
                """,
            "cfg/a.json": '{"J1": "j", "J2": 2, "J3": true, "J4": false, "J5": 1.5, "J6": "$HOME {{x}}"}',
            "cfg/b.yaml": "Y1: y\nY2: 2\nY3: on\nY4: true\nY5: 'q'\nY6: |\n  block\n  text\n",
            "cfg/c.toml": 'T1 = "t"\nT2 = 2\nT3 = false\n',
            "cfg/d.yml": "YML=read_as_dotenv\n",
            "cfg/e.env.json": '{"EJ": "json by the last extension"}',
        },
        ".",
        {"PROCESS_VAR": "pv", "D1": ""},
    ),
    "_.file yaml scalars as serde_yaml reads them": (
        {
            "mise.toml": '[env]\n_.file = "vars.yaml"\n',
            "vars.yaml": (
                "Y1: y\nY2: 2\nY3: on\nY4: 0755\nY5: true\nY6: 0x10\nY7: 1_000\nY8: '0x10'\n"
                "Y9: 1e3\nY10: 0o17\nY11: .inf\nY12: 2001-12-14\nY13: 007\nY14: -5\nY15: 1.5\n"
                "Y16: |\n  block\n"
            ),
        },
        ".",
        {},
    ),
    "_.file json numbers as serde_json prints them": (
        {
            "mise.toml": '[env]\n_.file = "n.json"\n',
            "n.json": (
                '{"A": 1e3, "B": 1.0, "C": 10000000000000000000000, "D": 1e21, "E": -0.0, "F": 0.1,'
                ' "G": 18446744073709551615, "H": -9223372036854775808, "I": 1e16, "J": 123456789.123}'
            ),
        },
        ".",
        {},
    ),
    "_.file globs and templates": (
        {
            "mise.toml": """
                [env]
                _.file = ["envs/*.env", "{{config_root}}/tpl.env", "none/*.env", "deep/**/*.env"]
                """,
            "envs/a.env": "GA=a\n",
            "envs/b.env": "GB=b\n",
            "envs/sub/c.env": "GC='in a subdirectory: a pattern without / matches at any depth'\n",
            "envs/notes.txt": "NOT=read\n",
            "tpl.env": 'TPL="templated path"\n',
            "deep/x/y/z.env": "DEEP=z\n",
        },
        ".",
        {},
    ),
    "_.path": (
        {
            "mise.toml": """
                [env]
                _.path = ["bin", "./tools/bin", "~/hb", "/opt/abs", "{{config_root}}/tb", "p1:p2"]
                """,
            "sub/mise.toml": '[env]\n_.path = "subbin"\n',
            "sub/.mise.toml": '[env]\n_.path = ["dot1", "dot2"]\n',
        },
        "sub",
        {},
    ),
    "required satisfied": (
        {
            "mise.toml": """
                [env]
                FROM_ENV = { required = true }
                EMPTY_OK = { required = "an empty value counts" }
                LATER = { required = "set in a later file" }
                """,
            "sub/mise.toml": '[env]\nLATER = "given"\n',
        },
        "sub",
        {"FROM_ENV": "x", "EMPTY_OK": ""},
    ),
    "home directory in the chain": (
        {
            "~/.config/mise/config.toml": '[env]\nX = "${X:-}|home .config/mise/config.toml"\n',
            "~/.config/mise/mise.dev.toml": '[env]\nX = "${X:-}|global only"\n',
            "~/mise.toml": '[env]\nX = "${X:-}|~/mise.toml"\n',
            "~/proj/mise.toml": '[env]\nX = "${X:-}|proj"\n',
        },
        "~/proj",
        {"MISE_ENV": "dev"},
    ),
    "tools = true entries come after all others": (
        {
            "mise.toml": """
                [env]
                A = { value = "a", tools = true }
                B = "${A:-not yet}"
                C = "c"
                D = { value = "{{env.C}}-{{env.B}}-${A:-x}", tools = true }
                _.path = [{ path = "late", tools = true }, "early"]
                """,
            "sub/mise.toml": '[env]\nE = "${A:-not yet either}"\n',
        },
        "sub",
        {},
    ),
    "$VAR in _.path and _.file, and PATH = … in [env]": (
        {
            "mise.toml": """
                [env]
                X = "xdir"
                PATH = "/custom:$PATH"
                SEES_PATH = "$PATH"
                _.path = ["$HOME/hb", "{{env.X}}/bin", "${X}/b2"]
                _.file = ["${X}.env", "$HOME/g.env"]
                """,
            "xdir.env": "F=1\n",
            "~/g.env": "G=2\n",
        },
        ".",
        {},
    ),
    "false and default across parent and child": (
        {
            "mise.toml": '[env]\nA = "parent"\nB = "parent"\nC = ""\nD = "parent"\n',
            "child/mise.toml": """
                [env]
                A = false
                B = { default = "child: not used" }
                C = { default = "child: parent left it empty" }
                E = "${A:-A is gone}|$B|$C"
                D = { value = false }
                """,
        },
        "child",
        {"A": "from the shell"},
    ),
    "spaces and unicode in paths": (
        {
            "dir with spaces/ünï ✓/mise.toml": """
                [env]
                ROOT = "{{config_root}}"
                _.file = "my file.env"
                _.path = "bin dir"
                """,
            "dir with spaces/ünï ✓/my file.env": "SPACED='value with spaces'\n",
        },
        "dir with spaces/ünï ✓",
        {},
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_export_equals_mise_env(
    name: str, tmp_path: Path, home: Path, mise_env_vars: dict[str, str]
):
    files, cwd, extra = CORPUS[name]
    tree = tmp_path / "tree"
    tree.mkdir()
    write_tree(tree, home, files)
    env = dict(mise_env_vars)
    env.update({k: v.replace("{tree}", str(tree)) for k, v in extra.items()})
    where = home / cwd[2:] if cwd.startswith("~/") else tree / cwd
    where.mkdir(parents=True, exist_ok=True)
    result = compare(where, env)
    assert result, "the case must set something"


def test_corpus_cases_mean_what_they_say(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    """Spot checks on mise's own answers, so a broken oracle cannot pass silently."""
    files, cwd, extra = CORPUS["profiles, last one wins"]
    tree = tmp_path / "tree"
    write_tree(tree, home, files)
    env = {**mise_env_vars, **extra}
    result = compare(tree / cwd, env)
    assert result["P"] == "prod" and "STAGING" not in result
    assert result["X"].endswith("|sub dev")


def test_mise_no_config_loads_nothing(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    write_tree(tmp_path / "p", home, {"mise.toml": '[env]\nA = "1"\n'})
    assert compare(tmp_path / "p", {**mise_env_vars, "MISE_NO_CONFIG": "1"}) == {}


def test_symlinked_directory(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    real = tmp_path / "real"
    write_tree(real, home, {"mise.toml": '[env]\nROOT = "{{config_root}}"\nCWD = "{{cwd}}"\n'})
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    (real / "linked.env").write_text("VIA=link\n")
    (tmp_path / "shared.env").write_text("SHARED=1\n")
    env = dict(mise_env_vars)
    compare(link, env)
    compare(real, env)


def test_symlinked_config_file(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    shared = tmp_path / "shared"
    write_tree(shared, home, {"team.toml": '[env]\nTEAM = "{{config_root}}"\n'})
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mise.toml").symlink_to(shared / "team.toml")
    result = compare(proj, mise_env_vars)
    assert result["TEAM"] == str(proj)


def test_inline_age_value(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    vectors = need_vectors()
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(VECTORS / "generated/mise-inline-age/mise.toml", proj / "mise.toml")
    key = home / ".config/mise/age.txt"
    key.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(vectors / "generated/alice.key", key)
    key.chmod(0o600)
    env = {**mise_env_vars, "MISE_EXPERIMENTAL": "1"}
    result = compare(proj, env)
    assert result["INLINE_SECRET"] == "inline s3cret ✓"
    shown = run_envshim("explain", "INLINE_SECRET", env=env, cwd=proj)
    assert "inline s3cret" not in shown.stdout + shown.stderr


def test_exec_is_delegated_to_mise(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    proj = tmp_path / "proj"
    write_tree(
        proj,
        home,
        {
            "mise.toml": """
                [env]
                PLAIN = "p"
                FROM_EXEC = "{{ exec(command='echo run-by-mise') }}"
                GONE = false
                """,
        },
    )
    env = {**mise_env_vars, "GONE": "set before"}
    result = compare(proj, env)
    assert result["FROM_EXEC"] == "run-by-mise"


def test_source_is_delegated_to_mise(tmp_path: Path, home: Path, mise_env_vars: dict[str, str]):
    proj = tmp_path / "proj"
    write_tree(
        proj,
        home,
        {
            "mise.toml": '[env]\nBEFORE = "b"\n_.source = "env.sh"\n',
            "env.sh": "export SOURCED=from-script\n",
        },
    )
    result = compare(proj, mise_env_vars)
    assert result["SOURCED"] == "from-script"
