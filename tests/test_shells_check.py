"""shells/base.check: a bad name or value is refused before anything is printed,
naming the file and line it came from and never the value."""

from __future__ import annotations

import pytest

from envshim.errors import ConfigError
from envshim.model import Origin
from envshim.shells import FORMATS, get_renderer
from envshim.shells.base import check

ORIGIN = Origin("team", "/p/secrets.enc.env", 12)


@pytest.mark.parametrize("name", ["1A", "A-B", "", "Ä", "A B", "a=b", "A.B", "$A", "A\n"])
@pytest.mark.parametrize("fmt", ["bash", "zsh", "fish", "posix", "json", "dotenv", "github"])
def test_invalid_name_names_the_source(fmt, name):
    with pytest.raises(ConfigError) as err:
        check(get_renderer(fmt), {"OK": "1", name: "v"}, {name: ORIGIN})
    assert str(err.value).startswith(
        f"/p/secrets.enc.env:12: {name!r} is not a valid variable name"
    )
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_nul_is_refused_without_showing_the_value(fmt):
    value = "s3cr3t-before\0s3cr3t-after"
    with pytest.raises(ConfigError) as err:
        check(get_renderer(fmt), {"TOKEN": value}, {"TOKEN": ORIGIN})
    message = str(err.value)
    assert message.startswith("/p/secrets.enc.env:12: the value of TOKEN contains a NUL byte")
    assert "s3cr3t" not in message


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", ["_", "ENVSHIM_STATE"])
def test_names_reserved_everywhere(fmt, name):
    with pytest.raises(ConfigError, match=f"{name} is reserved"):
        check(get_renderer(fmt), {name: "x"})


def test_unsetting_a_reserved_name_is_an_error_too():
    with pytest.raises(ConfigError, match="LINENO is reserved by bash"):
        check(get_renderer("bash"), {"LINENO": None}, {"LINENO": Origin("mise", "m.toml", 2)})


def test_first_bad_key_in_sorted_order_is_reported_and_without_origin_no_path():
    with pytest.raises(ConfigError) as err:
        check(get_renderer("bash"), {"Z-Z": "1", "A-A": "2"})
    assert str(err.value).startswith("'A-A' is not a valid variable name")


def test_good_input_passes_and_render_is_sorted():
    changes = {"B": "2", "A": "x y", "GONE": None, "C": ""}
    for fmt in ("bash", "zsh", "fish", "posix", "json", "dotenv"):
        check(get_renderer(fmt), changes)
    assert get_renderer("bash").render(changes) == (
        "export A='x y'\nexport B=2\nexport C=''\nunset GONE\n"
    )
    assert get_renderer("posix").render(changes) == (
        "A='x y'; export A\nB=2; export B\nC=''; export C\nunset GONE\n"
    )
    assert get_renderer("fish").render(changes) == (
        "set -gx A 'x y'\nset -gx B 2\nset -gx C ''\nset -e -g GONE\n"
    )
    assert get_renderer("zsh").render({"M": "a\nb'c\\"}) == "export M=$'a\\nb\\'c\\\\'\n"
    assert get_renderer("json").render(changes) == '{\n  "A": "x y",\n  "B": "2",\n  "C": ""\n}\n'


def test_every_format_is_registered():
    assert {"bash", "zsh", "fish", "posix", "sh", "dash", "json", "dotenv", "github", "k8s"} <= set(
        FORMATS
    )
