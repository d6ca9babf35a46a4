"""A YAML file ruamel.yaml cannot read gives one line: file, line, what; never the content."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from envshim.yamlread import yaml_error


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 1\nb: [unclosed-secret-value\n", 3), ("a: 1\n  b: 2\n", 2), ("k: 'x\n", 2)],
)
def test_broken_yaml_names_file_and_line_without_content(text: str, line: int) -> None:
    with pytest.raises(YAMLError) as caught:
        YAML(typ="rt").load(text)
    err = yaml_error(caught.value, "conf/secrets.yaml")
    message = str(err)
    assert message.startswith(f"conf/secrets.yaml:{line}: invalid YAML")
    assert "\n" not in message and "secret-value" not in message


@pytest.mark.parametrize(
    "text",
    ["a: *tok_SECRETALIAS\n", "a: 1\n\tb: 2\n", 'a: "x\\qSECRET"\n', "a: !SECRETTAG x\nb: [\n"],
)
def test_what_ruamel_quotes_from_the_file_is_left_out(text: str) -> None:
    from envshim.errors import ConfigError
    from envshim.yamlread import load_all

    with pytest.raises(ConfigError) as caught:
        load_all(YAML(typ="rt"), text, "s.yaml")
    message = str(caught.value)
    assert message.startswith("s.yaml:") and "SECRET" not in message and "\\t" not in message


def test_aliases_are_bounded_and_a_few_are_fine() -> None:
    import time

    from envshim.errors import ConfigError
    from envshim.yamlread import load_all

    laughs = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    start = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_all(YAML(typ="rt"), "\n".join(laughs) + "\n", "s.yaml")
    assert time.monotonic() - start < 5
    assert "aliases expand" in str(caught.value)
    docs = load_all(YAML(typ="rt"), "b: &b {x: 1, y: [1, 2]}\nc: *b\nd: *b\n", "s.yaml")
    assert docs[0]["d"]["y"] == [1, 2]
