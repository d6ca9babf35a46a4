"""The mise corpus, settings part: the settings that change which configs load and what
they produce, each beside the real ``mise env --json`` (envshim without mise on PATH)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_envshim
from mise_corpus import Corpus, run_case, trusted, without_mise


def _x(files: list[str]) -> dict[str, str]:
    """Each file appends its own name to X: the order of the result is the load order."""
    return {f: f'[env]\nX = "${{X:-}}|{f}"\n' for f in files}


CORPUS: Corpus = {
    "MISE_ENV_CONF_D: profile-named conf.d fragments load only for their profile": (
        _x(
            [
                ".mise/conf.d/a.toml",
                ".mise/conf.d/b.dev.toml",
                ".mise/conf.d/c.dev.local.toml",
                ".mise/conf.d/d.prod.toml",
                ".mise/conf.d/.hidden.toml",
                ".config/mise/conf.d/e.dev.toml",
                "mise/conf.d/f.dev.toml",
                "mise/conf.d/g.toml",
                "mise.dev.toml",
                ".mise/config.dev.toml",
                "mise.toml",
            ]
        ),
        ".",
        {"MISE_ENV_CONF_D": "1", "MISE_ENV": "dev"},
    ),
    "without env_conf_d every conf.d fragment loads, hidden ones never": (
        _x([".mise/conf.d/a.toml", ".mise/conf.d/b.dev.toml", ".mise/conf.d/.hidden.toml"]),
        ".",
        {"MISE_ENV": "prod"},
    ),
    "env_conf_d in .miserc.toml, global conf.d too": (
        {
            ".miserc.toml": "env_conf_d = true\n",
            **_x([".mise/conf.d/a.toml", ".mise/conf.d/b.ci.toml", ".mise/conf.d/c.dev.toml"]),
            **_x(["~/.config/mise/conf.d/g.toml", "~/.config/mise/conf.d/h.ci.toml"]),
        },
        ".",
        {"MISE_ENV": "ci"},
    ),
    "MISE_AUTO_ENV: platform configs below the explicit profiles": (
        _x(
            [
                "mise.toml",
                "mise.unix.toml",
                "mise.linux.toml",
                "mise.linux.local.toml",
                "mise.linux-x64.toml",
                "mise.linux-arm64.toml",
                "mise.macos.toml",
                "mise.dev.toml",
            ]
        ),
        ".",
        {"MISE_AUTO_ENV": "1", "MISE_ENV": "dev"},
    ),
    "auto_env and env = [...] in .miserc.toml": (
        {
            ".miserc.toml": 'auto_env = true\nenv = ["dev"]\nunknown_key = 1\n',
            **_x(["mise.toml", "mise.unix.toml", "mise.dev.toml", "mise.prod.toml"]),
        },
        ".",
        {},
    ),
    "MISE_ENV set but empty beats the miserc's env": (
        {".miserc.toml": 'env = ["dev"]\n', **_x(["mise.toml", "mise.dev.toml"])},
        ".",
        {"MISE_ENV": ""},
    ),
    "MISE_ENV beats the miserc's env, .config/miserc.toml read": (
        {
            ".config/miserc.toml": 'env = ["dev"]\n',
            **_x(["mise.toml", "mise.dev.toml", "mise.ci.toml"]),
        },
        ".",
        {"MISE_ENV": "ci"},
    ),
    "the closest miserc wins": (
        {
            ".miserc.toml": 'env = ["top"]\n',
            "sub/.miserc.toml": 'env = ["sub"]\n',
            **_x(["sub/mise.top.toml", "sub/mise.sub.toml", "sub/mise.toml"]),
        },
        "sub",
        {},
    ),
    "MISE_IGNORED_CONFIG_PATHS: a directory, a file and a glob": (
        _x(
            [
                "a/mise.toml",
                "a/b/mise.toml",
                "a/b/mise.local.toml",
                "a/b/c/mise.toml",
                "a/b/c/d/mise.toml",
            ]
        ),
        "a/b/c/d",
        {
            "MISE_IGNORED_CONFIG_PATHS": "{tree}/a/b/mise.local.toml:{tree}/a/b/c/d:{tree}/a/*/mise.toml"
        },
    ),
    "ignored_config_paths in .miserc.toml, relative to it": (
        {
            ".miserc.toml": 'ignored_config_paths = ["vendor"]\n',
            **_x(["mise.toml", "vendor/mise.toml"]),
        },
        "vendor",
        {},
    ),
    "MISE_OVERRIDE_CONFIG_FILENAMES": (
        _x(["mise.toml", "custom.toml", "other.toml", ".mise.toml", "mise.dev.toml"]),
        ".",
        {"MISE_OVERRIDE_CONFIG_FILENAMES": "custom.toml:other.toml", "MISE_ENV": "dev"},
    ),
    "override_config_filenames in .miserc.toml": (
        {
            ".miserc.toml": 'override_config_filenames = ["team.toml"]\n',
            **_x(["mise.toml", "team.toml"]),
        },
        ".",
        {},
    ),
    "ceiling_paths in .miserc.toml": (
        {
            ".miserc.toml": 'ceiling_paths = ["{tree}/top"]\n',
            **_x(["mise.toml", "top/mise.toml", "top/mid/mise.toml"]),
        },
        "top/mid",
        {},
    ),
    "MISE_ENV_FILE: every one from here up, the closest last": (
        {
            ".env": "E=top\nTOP=1\n",
            "sub/.env": "E=sub\n",
            "sub/mise.toml": '[env]\nE = "mise.toml"\nM = 1\nT = { value = "$E", tools = true }\n',
        },
        "sub",
        {"MISE_ENV_FILE": ".env"},
    ),
    "env_file in [settings], a bad line skipped": (
        {
            "mise.toml": '[settings]\nenv_file = ".env.local"\n[env]\nA = 1\n_.file = ".env.local"\n',
            ".env.local": "L=1\n",
            "sub/.env.local": "S=1\nBAD=a b\nS2=2\n",
        },
        "sub",
        {},
    ),
    "MISE_ENV_SHELL_EXPAND=false": (
        {
            "mise.toml": """
                [env]
                A = "a"
                B = "$A|${A}|{{ env.A }}"
                _.file = { path = "x.json", expand = true }
                """,
            "x.json": '{"J": "${A}"}',
        },
        ".",
        {"MISE_ENV_SHELL_EXPAND": "false"},
    ),
    "env_shell_expand = false in [settings]": (
        {"mise.toml": '[settings]\nenv_shell_expand = false\n[env]\nA = "a"\nB = "$A"\n'},
        ".",
        {},
    ),
    "MISE_CONFIG_DIR elsewhere: the default global directory is not read, even from below home": (
        {
            "cfg/config.toml": '[env]\nFROM_CONFIG_DIR = "yes"\n',
            "~/.config/mise/config.toml": '[env]\nFROM_XDG = "not read"\n',
            "~/.config/mise/conf.d/c.toml": '[env]\nFROM_XDG_CONF_D = "not read"\n',
            "~/proj/mise.toml": '[env]\nP = "1"\n',
        },
        "~/proj",
        {"MISE_CONFIG_DIR": "{tree}/cfg"},
    ),
    "MISE_GLOBAL_CONFIG_ROOT": (
        {
            "~/.config/mise/config.toml": '[env]\nG = "{{config_root}}"\n',
            "mise.toml": "[env]\nP = 1\n",
        },
        ".",
        {"MISE_GLOBAL_CONFIG_ROOT": "{tree}/groot"},
    ),
    "MISE_SAFE: project entries dropped, the global config kept": (
        {
            "~/.config/mise/config.toml": '[env]\nG = "global"\nGX = "$G"\n',
            "mise.toml": '[env]\nP = "project"\n_.source = "never.sh"\nE = "{{ exec(command=\'touch ran\') }}"\n',
        },
        ".",
        {"MISE_SAFE": "1"},
    ),
    "safe = true in a project config is ignored": (
        {"mise.toml": '[settings]\nsafe = true\n[env]\nP = "project"\n'},
        ".",
        {},
    ),
}

NOTHING: Corpus = {
    "MISE_NO_ENV": ({"mise.toml": "[env]\nA = 1\n_.path = 'bin'\n"}, ".", {"MISE_NO_ENV": "1"}),
    "no_env in [settings]": (
        {"mise.toml": "[settings]\nno_env = true\n[env]\nA = 1\n"},
        ".",
        {},
    ),
    "MISE_NO_ENV=yes beats no_env = false": (
        {"mise.toml": "[settings]\nno_env = false\n[env]\nA = 1\n"},
        ".",
        {"MISE_NO_ENV": "yes"},
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_settings_equal_mise_env(name: str, tmp_path: Path, home: Path, clean_env):
    result = run_case(CORPUS, name, tmp_path, home, trusted(clean_env, tmp_path))
    assert result, "the case must set something"


@pytest.mark.parametrize("name", list(NOTHING))
def test_settings_that_load_nothing(name: str, tmp_path: Path, home: Path, clean_env):
    assert run_case(NOTHING, name, tmp_path, home, trusted(clean_env, tmp_path)) == {}


def test_settings_cases_mean_what_they_say(tmp_path: Path, home: Path, clean_env):
    env = trusted(clean_env, tmp_path)
    r = run_case(
        CORPUS, "MISE_SAFE: project entries dropped, the global config kept", tmp_path, home, env
    )
    assert r == {"G": "global", "GX": "global"}
    assert not (tmp_path / "tree" / "ran").exists()


def test_safe_mode_read_file_in_a_global_config_is_an_error(tmp_path: Path, home: Path, clean_env):
    """mise refuses read_file() in safe mode; envshim names the line."""
    (home / ".config/mise").mkdir(parents=True, exist_ok=True)
    (home / ".config/mise/config.toml").write_text("[env]\nR = \"{{ read_file(path='x') }}\"\n")
    (home / ".config/mise/x").write_text("x\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    env = {**trusted(clean_env, tmp_path), "MISE_SAFE": "1"}
    from test_mise_layer import mise_env

    assert mise_env(proj, env).returncode != 0
    ours = run_envshim("export", "--format", "json", env=without_mise(env), cwd=proj)
    assert ours.returncode == 1 and ours.stdout == ""
    assert "config.toml:2" in ours.stderr and "safe mode" in ours.stderr


def test_new_inputs_are_watched(tmp_path: Path, home: Path, clean_env):
    """A .miserc.toml, a read_file() target and an env_file can each change the result:
    the hook's watch list names them, also where they do not exist yet."""
    from envshim.resolve import resolve

    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "mise.toml").write_text(
        '[settings]\nenv_file = ".env.local"\n[env]\nV = "{{ read_file(path=\'v.txt\') }}"\n'
    )
    (proj / "v.txt").write_text("1\n")
    resolution = resolve(proj / "sub", environ=clean_env)
    assert resolution.vars["V"].value == "1\n"
    watched = {str(p) for p in resolution.watch}
    for path in (
        proj / "sub" / ".miserc.toml",
        proj / ".miserc.toml",
        proj / ".config" / "miserc.toml",
        proj / "v.txt",
        proj / "sub" / ".env.local",
        proj / ".env.local",
    ):
        assert str(path) in watched, path
