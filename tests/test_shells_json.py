"""The JSON renderer writes JSON by hand (no `json` import on the export path):
it must be exactly what json.dumps(ensure_ascii=False, indent=2) writes."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from envshim.shells.json import JsonRenderer, json_string

values = st.text(alphabet=st.characters(), max_size=40)


@given(values)
@example("")
@example('"\\\n\r\t\b\f\x00\x1f\x7f')
@example("héllo ✓ 日本 🚀 \u2028\u2029")
@example("\ud800")
def test_string_literal_is_json_dumps(text: str) -> None:
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        assert json_string(text) == json.dumps(text, ensure_ascii=False)
    else:  # json.dumps leaves a lone surrogate raw, which UTF-8 cannot encode; we escape it
        json_string(text).encode("utf-8")
    assert json.loads(json_string(text)) == text


@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                       st.none() | values, max_size=6))  # fmt: skip
def test_document_is_json_dumps(changes: dict[str, str | None]) -> None:
    expected = {k: v for k, v in sorted(changes.items()) if v is not None}
    out = JsonRenderer().render(changes)
    assert json.loads(out) == expected
    if not any("\ud800" <= ch <= "\udfff" for v in expected.values() for ch in v):
        assert out == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
