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
