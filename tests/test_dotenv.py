"""formats/dotenv.py: the common dialect, the sops dialect, and the dotenv renderer.

Oracles: python-dotenv's documented behaviour (its README and parser tests, written
down here as cases, not imported), and the real ``sops`` for the literal dialect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import need, need_vectors
from envshim.errors import ConfigError
from envshim.formats.dotenv import parse, parse_sops
from envshim.shells import get_renderer


def values(text: str) -> dict[str, str]:
    return {b.key: b.value for b in parse(text, "t.env")}


# --- the common dialect: cases where python-dotenv documents the same result --------

PYTHON_DOTENV_AGREES = [
    ("a=b", {"a": "b"}),
    (" a = b ", {"a": "b"}),
    ("export a=b", {"a": "b"}),
    ("export export_a=1", {"export_a": "1"}),
    ("# a=b", {}),
    ("a=b#c", {"a": "b#c"}),
    ("a=b #c", {"a": "b"}),
    ("a=b\t#c", {"a": "b"}),
    ("a= #c", {"a": ""}),
    ("a=  # comment", {"a": ""}),
    ("a=#b", {"a": "#b"}),
    ("a=b c", {"a": "b c"}),
    ("a=b\tc", {"a": "b\tc"}),
    ("a=b  c", {"a": "b  c"}),
    ("a=b\u00a0 c", {"a": "b\u00a0 c"}),
    ("a=b c ", {"a": "b c"}),
    ("a='b c '", {"a": "b c "}),
    ('a="b c "', {"a": "b c "}),
    ('a="b\nc"', {"a": "b\nc"}),
    ("a='b\nc'", {"a": "b\nc"}),
    ('a="b\\nc"', {"a": "b\nc"}),
    ("a='b\\nc'", {"a": "b\\nc"}),  # single quotes: the backslash stays
    ('a="b\\"c"', {"a": 'b"c'}),
    ('a="b\\\\c"', {"a": "b\\c"}),
    ('a="b\\tc"', {"a": "b\tc"}),
    ("a=à", {"a": "à"}),
    ('a="à"', {"a": "à"}),
    ("a=b\nc=d", {"a": "b", "c": "d"}),
    ("a=b\r\nc=d", {"a": "b", "c": "d"}),
    ("a=\nb=c", {"a": "", "b": "c"}),
    ("\n\n", {}),
    ("a=b\n# comment 1", {"a": "b"}),
    ('a="S3cr3t_P4ssw#rD" #\nb=c', {"a": "S3cr3t_P4ssw#rD", "b": "c"}),
    ("\ufeffa=b\nc=d", {"a": "b", "c": "d"}),
    ("a='literal $NOT_EXPANDED'", {"a": "literal $NOT_EXPANDED"}),
    ('a="${HOME} $X"', {"a": "${HOME} $X"}),  # envshim never expands (no interpolate)
    ("a=", {"a": ""}),
    ("a=''", {"a": ""}),
    ('a=""', {"a": ""}),
    ('a={"foo": "bar"}', {"a": '{"foo": "bar"}'}),
    ("a=equals==", {"a": "equals=="}),
]


@pytest.mark.parametrize(("text", "expected"), PYTHON_DOTENV_AGREES)
def test_common_dialect_agrees_with_python_dotenv(text, expected):
    assert values(text) == expected


# Where envshim deliberately differs from python-dotenv (which skips or guesses):
# a line without '=' or an invalid name is an error naming the line, never ignored.
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("no_value_var", 1),  # python-dotenv: key with value None
        ("a: b", 1),  # python-dotenv: error binding, skipped
        ("a=1\n'a'=b", 2),  # python-dotenv: quoted key accepted
        ("a=1\n\nb=2\n[=b", 4),
    ],
)
def test_line_without_equals_is_an_error_naming_the_line(text, line):
    with pytest.raises(ConfigError) as err:
        parse(text, "/p/x.env")
    assert str(err.value).startswith(f"/p/x.env:{line}: invalid dotenv line")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a="\nb=c', 1),
        ("a=1\nb='never closed\nc=3\n", 2),
        ('a=1\n\n\nk="x\\"', 4),  # the escaped quote does not close
    ],
)
def test_unterminated_quote_names_the_line_it_starts_on(text, line):
    with pytest.raises(ConfigError) as err:
        parse(text, "/p/x.env")
    message = str(err.value)
    assert message.startswith(f"/p/x.env:{line}: unterminated ")
    assert "close the quote" in message


def test_text_after_a_closing_quote_is_an_error():
    with pytest.raises(ConfigError) as err:
        parse("a='x' y\n", "/p/x.env")
    assert str(err.value).startswith("/p/x.env:1: unexpected text after the quoted value of a")


def test_line_numbers_follow_multi_line_values():
    text = 'A="one\ntwo\nthree"\n# c\nB=\'x\ny\'\nexport C=3\n\nD="a\\nb"\n'
    bindings = parse(text, "t.env")
    assert [(b.key, b.line, b.quote) for b in bindings] == [
        ("A", 1, '"'),
        ("B", 5, "'"),
        ("C", 7, ""),
        ("D", 9, '"'),
    ]
    assert bindings[0].value == "one\ntwo\nthree" and bindings[1].value == "x\ny"


def test_team_vector_reads_as_python_dotenv_would():
    vectors = need_vectors()
    text = (vectors / "generated" / "team.env").read_text(encoding="utf-8")
    assert values(text) == {
        "STRIPE_KEY": "sk_test_123",
        "REDIS_URL": "redis://:pa ss@localhost:6379/0",
        "SINGLE": "literal $NOT_EXPANDED",
        "MULTI": "first\nsecond",
    }


# --- the sops dialect, against the real sops ----------------------------------------


def _sops_json(tmp: Path, plain: str) -> dict[str, str] | None:
    """How the real sops reads ``plain`` (encrypt, then decrypt to JSON); None if it refuses."""
    need("sops")
    vectors = need_vectors()
    key = tmp / "alice.key"
    if not key.exists():
        shutil.copy(vectors / "generated" / "alice.key", key)
        key.chmod(0o600)
    recipient = next(
        line.split(": ", 1)[1]
        for line in key.read_text().splitlines()
        if line.startswith("# public key: ")
    )
    src = tmp / "in.env"
    src.write_bytes(plain.encode())
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "SOPS_AGE_KEY_FILE": str(key)}
    enc = subprocess.run(
        ["sops", "encrypt", "--age", recipient, "--input-type", "dotenv", "--output-type",
         "dotenv", str(src)],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    if enc.returncode != 0:
        return None
    (tmp / "in.enc.env").write_bytes(enc.stdout)
    dec = subprocess.run(
        ["sops", "decrypt", "--input-type", "dotenv", "--output-type", "json",
         str(tmp / "in.enc.env")],
        capture_output=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(dec.stdout)


def test_parse_sops_reads_the_vector_as_sops_does(tmp_path):
    vectors = need_vectors() / "generated"
    need("sops")
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    out = subprocess.run(
        ["sops", "decrypt", "--input-type", "dotenv", "--output-type", "json",
         str(vectors / "secrets.enc.env")],
        capture_output=True, check=True, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(key)},
    )  # fmt: skip
    plain = (vectors / "secrets.plain.env").read_text(encoding="utf-8")
    bindings = parse_sops(plain, "secrets.plain.env")
    assert {b.key: b.value for b in bindings} == json.loads(out.stdout)
    # literal: quotes, spaces, '$' and '#' are part of the value
    got = {b.key: b.value for b in bindings}
    assert got["WITH_SPACES"] == "  leading and trailing  "
    assert got["QUOTED"] == "\"double\" and 'single'"
    assert [b.line for b in bindings] == list(range(1, 11))


def test_parse_sops_edge_lines_match_sops(tmp_path):
    plain = (
        "A=x\\ny\nB=x\\\\ny\nC = spaced \nexport D=1\nE='q'\n# comment\n"
        "F=tab\there\nG=a\\tb\nH=\r\n\n\nI=last #x"
    )
    expected = _sops_json(tmp_path, plain)
    assert expected is not None
    assert {b.key: b.value for b in parse_sops(plain)} == expected
    assert expected["H"] == "\r" and expected["C "] == " spaced "


@pytest.mark.parametrize(("plain", "line"), [("A=1\nnoeq\n", 2), ("A=1\n  \n", 2), (" #c\n", 1)])
def test_parse_sops_refuses_what_sops_refuses(tmp_path, plain, line):
    assert _sops_json(tmp_path, plain) is None
    with pytest.raises(ConfigError) as err:
        parse_sops(plain, "/p/s.env")
    assert str(err.value).startswith(f"/p/s.env:{line}: invalid dotenv line")


# --- the dotenv renderer parses back exactly ----------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"))
TRICKY = st.lists(
    st.one_of(
        st.sampled_from(["'", '"', "\\", "\\n", "\n", "\r", "\r\n", "\t", " ", "#", " #", "$",
                         "${X}", "=", "export ", "\ufeff", "`"]),
        ANY_TEXT,
    ),
    max_size=6,
).map("".join)  # fmt: skip
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=200)
@given(st.dictionaries(NAMES, TRICKY, max_size=6))
def test_dotenv_output_parses_back_exactly(data):
    text = get_renderer("dotenv").render(data)
    assert values(text) == data
    keys = [b.key for b in parse(text)]
    assert keys == sorted(data)


def test_dotenv_output_prefers_single_quotes_and_leaves_unsets_out():
    text = get_renderer("dotenv").render(
        {"A": "$HOME x", "B": "it's", "C": "a\\b", "D": "plain", "E": None, "F": "x\ny"}
    )
    assert text == 'A=\'$HOME x\'\nB="it\'s"\nC="a\\\\b"\nD=plain\nF="x\\ny"\n'


@pytest.mark.parametrize(
    "text",
    [
        "A=1\nAGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS\n",
        "A=1\nghp_SECRETTOKENVALUE0123456789\n",  # a valid name, yet no key: never shown
        "A=1\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\n",
        "A=1\n$(secret)\n",
    ],
)
def test_a_bare_token_line_is_never_quoted(text):
    token = text.splitlines()[1]
    for fn in (parse, parse_sops):
        with pytest.raises(ConfigError) as err:
            fn(text, "/p/x.env")
        message = str(err.value)
        assert message.startswith("/p/x.env:2: invalid dotenv line: line 2 ")
        assert token not in message and token[:4] not in message


def test_a_key_that_is_not_a_name_is_shown_by_its_line():
    with pytest.raises(ConfigError) as err:
        parse('A=1\nAGE-SECRET-KEY-1QY="unterminated\n', "/p/x.env")
    assert "the value of the key on line 2" in str(err.value)
    assert "AGE" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse('A=1\nDB_PASSWORD="unterminated\n', "/p/x.env")
    assert "the value of DB_PASSWORD" in str(err.value)
