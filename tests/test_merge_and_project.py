"""Precedence, provenance and project discovery (no external tools needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envshim.errors import ConfigError
from envshim.merge import Merger, Resolution
from envshim.model import Origin
from envshim.project import find_project, find_root, profiles_from

MISE = Origin("mise", "/p/mise.toml", 3)
TEAM = Origin("team", "/p/secrets.enc.env", 1)
USER = Origin("user", detail="user store abc")


def test_higher_layer_wins_and_remembers_what_it_shadowed():
    m = Merger({"API_URL": "from-shell"})
    m.set("API_URL", "mise-default", MISE)
    m.set("API_URL", "team-value", TEAM, secret=True)
    m.set("API_URL", "mine", USER, secret=True)
    var = m.finish()["API_URL"]
    assert var.value == "mine"
    assert var.origin is USER and var.secret
    assert [o.layer for o in var.shadowed] == ["base", "mise", "team"]


def test_lookup_sees_assignments_in_written_order():
    m = Merger({"HOME": "/home/u"})
    assert m.lookup("HOME") == "/home/u"
    m.set("HOME", "/elsewhere", MISE)
    assert m.lookup("HOME") == "/elsewhere"
    m.unset("HOME", MISE)
    assert m.lookup("HOME") is None


def test_unset_of_an_absent_key_is_dropped_but_of_a_present_key_kept():
    m = Merger({"PRESENT": "1"})
    m.unset("PRESENT", MISE)
    m.unset("ABSENT", MISE)
    res = Resolution(Path("/p"), [], m.finish())
    assert res.changes() == {"PRESENT": None}
    assert "PRESENT" not in res and res.unset == ["PRESENT"]


def test_path_entries_are_prepended_latest_first():
    m = Merger({"PATH": "/usr/bin"})
    m.prepend_path(["/p/a"], MISE)
    m.prepend_path(["/p/b", "/p/c"], MISE)
    assert m.lookup("PATH") == "/p/b:/p/c:/p/a:/usr/bin"
    assert m.finish()["PATH"].value == "/p/b:/p/c:/p/a:/usr/bin"


def test_resolution_is_a_mapping_of_what_is_set():
    m = Merger({})
    m.set("B", "2", MISE)
    m.set("A", "1", TEAM, secret=True)
    res = Resolution(Path("/p"), ["dev"], m.finish())
    assert dict(res) == {"A": "1", "B": "2"}
    assert list(res.changes()) == ["A", "B"]
    assert res.secret_keys() == {"A"}


@pytest.mark.parametrize(
    ("arg", "environ", "expected"),
    [
        (None, {}, []),
        ("staging", {"MISE_ENV": "dev"}, ["staging"]),
        (None, {"ENVSHIM_ENV": "a,b", "MISE_ENV": "dev"}, ["a", "b"]),
        (None, {"MISE_ENV": " dev , staging "}, ["dev", "staging"]),
    ],
)
def test_profiles(arg, environ, expected):
    assert profiles_from(arg, environ) == expected


def test_root_prefers_envshim_toml_over_a_nearer_mise_toml(tmp_path: Path):
    (tmp_path / "envshim.toml").write_text("")
    sub = tmp_path / "pkg" / "deep"
    sub.mkdir(parents=True)
    (tmp_path / "pkg" / "mise.toml").write_text("[env]\n")
    assert find_root(sub) == tmp_path


def test_root_falls_back_to_the_nearest_mise_config(tmp_path: Path):
    sub = tmp_path / "a b" / "ü"
    sub.mkdir(parents=True)
    (tmp_path / "a b" / ".mise.toml").write_text("[env]\n")
    assert find_root(sub) == tmp_path / "a b"


def test_malformed_envshim_toml_names_the_file(tmp_path: Path):
    (tmp_path / "envshim.toml").write_text('files = ["a"\n')
    with pytest.raises(ConfigError) as err:
        find_project(tmp_path, environ={})
    assert str(err.value).startswith(f"{tmp_path / 'envshim.toml'}:1: invalid TOML: Unclosed array")


def test_toml_syntax_error_names_line_and_column(tmp_path: Path):
    (tmp_path / "envshim.toml").write_text('required = ["A"]\nfiles = = 1\n')
    with pytest.raises(ConfigError) as err:
        find_project(tmp_path, environ={})
    assert str(err.value).startswith(f"{tmp_path / 'envshim.toml'}:2:9: invalid TOML")


def test_unknown_option_is_refused(tmp_path: Path):
    (tmp_path / "envshim.toml").write_text('flies = ["a"]\n')
    with pytest.raises(ConfigError, match="unknown option 'flies'"):
        find_project(tmp_path, environ={})


def test_envshim_toml_parse_cache_follows_every_edit(tmp_path: Path):
    """The export path keeps a parsed copy of envshim.toml; an edit of the same size is seen."""
    environ = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    options = tmp_path / "proj" / "envshim.toml"
    options.parent.mkdir()
    options.write_text('required = ["AAA"]\n')
    assert find_project(options.parent, environ=environ, cache=True).options["required"] == ["AAA"]
    cached = list((tmp_path / "cache" / "envshim").rglob("*envshim.toml"))
    assert len(cached) == 1 and oct(cached[0].stat().st_mode & 0o777) == "0o600"
    options.write_text('required = ["BBB"]\n')
    assert find_project(options.parent, environ=environ, cache=True).options["required"] == ["BBB"]
    # without cache=True nothing is written anywhere
    other = tmp_path / "other"
    other.mkdir()
    (other / "envshim.toml").write_text("required = []\n")
    before = sorted((tmp_path / "cache").rglob("*"))
    find_project(other, environ=environ)
    assert sorted((tmp_path / "cache").rglob("*")) == before
