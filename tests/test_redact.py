"""The redaction filter as a Python API: every form scan finds, streams split anywhere, bytes kept."""

from __future__ import annotations

import base64
import os
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from envshim.redact import Redactor

SECRET = "Tr0ub4dor&3-staging/password"
TOKEN = "sk_live_0123456789abcdef"
VALUES = {"DB_PASSWORD": SECRET, "STRIPE_KEY": TOKEN, "PIN": "1234"}


def forms(value: str) -> dict[str, bytes]:
    """How programs print a value, made with the standard library (not envshim's code)."""
    raw = value.encode()
    return {
        "plain": raw,
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base64": base64.b64encode(raw),
        "base64url": base64.urlsafe_b64encode(raw),
        "base32": base64.b32encode(raw),
        "url": quote(value, safe="").encode(),
        "url lower": "".join(
            c if c.isalnum() else "".join(f"%{b:02x}" for b in c.encode()) for c in value
        ).encode(),
        "json \\u": "".join(f"\\u{ord(c):04x}" for c in value).encode(),
        "json mixed": "".join(
            f"\\u{ord(c):04X}" if i % 2 else c for i, c in enumerate(value)
        ).encode(),
        "utf-16": value.encode("utf-16-le"),
    }


def core(form: bytes) -> bytes:
    """The part of an encoded form that must never remain (base64's last characters
    share bits with what follows the value)."""
    return form.rstrip(b"=")[:-2] if form.endswith(b"=") else form


def test_every_form_is_replaced_with_the_key_name() -> None:
    r = Redactor(VALUES)
    for name, form in forms(SECRET).items():
        out = r.redact_bytes(b"before <" + form + b"> after\n")
        assert b"[redacted DB_PASSWORD]" in out, name
        assert core(form) not in out, name
        assert out.startswith(b"before <") and out.endswith(b"> after\n"), name
    assert r.redact(f"a={SECRET}&b={TOKEN}") == "a=[redacted DB_PASSWORD]&b=[redacted STRIPE_KEY]"


def test_base64_inside_a_larger_blob_and_wrapped_at_76_columns() -> None:
    r = Redactor(VALUES)
    blob = base64.b64encode(b"Authorization: user:" + SECRET.encode() + b"\r\n" + b"z" * 200)
    wrapped = b"\r\n".join(blob[i : i + 76] for i in range(0, len(blob), 76)) + b"\r\n"
    out = r.redact_bytes(wrapped)
    assert b"[redacted DB_PASSWORD]" in out
    assert out.startswith(blob[:24])  # what comes before the value is kept
    flat = out.replace(b"\r\n", b"")
    assert not any(core(p) in flat for p in pieces(SECRET.encode()))


def pieces(raw: bytes) -> list[bytes]:
    """The base64 of raw at each alignment, minus the characters shared with neighbours."""
    out = []
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw)
        out.append(enc[(4 * shift + 2) // 3 + 1 : -4])
    return out


def test_short_values_are_not_redacted_and_are_named() -> None:
    r = Redactor(VALUES)
    assert r.skipped == ["PIN"]
    assert r.redact("pin 1234") == "pin 1234"
    assert SECRET not in repr(r) and "1234" not in repr(r)


def test_multi_line_value_printed_line_by_line_is_redacted() -> None:
    key = (
        "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"
    )
    r = Redactor({"TLS_KEY": key})
    stream = r.stream()
    out = b""
    for line in key.split("\n"):
        out += stream.feed(line.encode() + b"\n")  # one write per line, each passed on
    out += stream.flush()
    assert b"MIIEvQ" not in out and b"AQEFAASC" not in out
    assert out.count(b"[redacted TLS_KEY]") == 4


def test_ten_megabytes_of_random_binary_pass_unchanged() -> None:
    r = Redactor(VALUES)
    data = os.urandom(10 << 20)
    stream = r.stream()
    out = b"".join(stream.feed(data[i : i + 65536]) for i in range(0, len(data), 65536))
    assert out + stream.flush() == data
    assert r.redact_bytes(data) == data


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([f for v in (SECRET, TOKEN) for f in forms(v).values()]),
            st.sampled_from([b"\n", b"\r\n", b" "]),
        ),
        max_size=12,
    ),
    cuts=st.lists(st.integers(0, 600), max_size=8),
)
def test_a_stream_split_anywhere_gives_what_one_call_gives(parts, cuts) -> None:
    """A value split across writes is still redacted: the stream's output, however the
    input is cut (without a pause that flushes), equals redacting it in one piece."""
    r = Redactor(VALUES)
    data = b"".join(parts)
    stream = r.stream()
    out = b""
    last = 0
    for cut in sorted({c for c in cuts if c < len(data)}):
        out += stream.feed(data[last:cut])
        last = cut
    out += stream.feed(data[last:]) + stream.flush()
    assert out == r.redact_bytes(data)
    for value in (SECRET, TOKEN):
        assert value.encode() not in out


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000))
def test_bytes_without_a_value_are_unchanged(data: bytes) -> None:
    assert Redactor(VALUES).redact_bytes(data) == data


def test_a_finished_line_is_passed_on_at_once_and_a_partial_one_held() -> None:
    stream = Redactor(VALUES).stream()
    assert stream.feed(b"line one\nprompt: ") == b"line one\n"
    assert stream.flush() == b"prompt: "
    assert stream.feed(SECRET[:5].encode()) == b""  # may be the start of a value
    assert stream.feed(SECRET[5:].encode() + b"\n") == b"[redacted DB_PASSWORD]\n"
