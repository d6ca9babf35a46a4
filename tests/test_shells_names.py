"""The name and bare-word tests are plain string code (no `re` on the export path):
they must agree with the regular expressions DESIGN.md §5 states."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from envshim.shells.base import is_safe_bare, is_valid_name

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SAFE = re.compile(r"[A-Za-z0-9+,\-./=_]+")

near_ascii = st.text(
    alphabet=st.sampled_from("aZ_09+,-./=é $'\"\n\t٣ｆ") | st.characters(), max_size=12
)


@given(near_ascii)
@example("")
@example("_")
@example("9A")
@example("A٣")  # a non-ASCII digit: str.isalnum() would accept it, a shell does not
def test_valid_name_matches_the_stated_pattern(key: str) -> None:
    assert is_valid_name(key) == bool(NAME.fullmatch(key))


@given(near_ascii)
@example("")
@example("=ls")
@example("a=b")
def test_safe_bare_matches_mise_rule_except_a_leading_equals(value: str) -> None:
    expected = bool(SAFE.fullmatch(value)) and not value.startswith("=")
    assert is_safe_bare(value) == expected
