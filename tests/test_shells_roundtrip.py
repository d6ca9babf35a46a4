"""Every text value survives the real shells byte for byte (DESIGN.md §5).

The rendered script is evaluated by the real shell, which then writes each value
back (``printf %s "$K"`` into a file: the shell's own view) and its whole
environment (``env -0``: what a child process sees). Both must equal the value
as UTF-8. Each example runs one process per shell with many variables at once.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need
from envshim.shells import get_renderer

# label -> (format, argv, prelude). The prelude sets what a user's rc file might.
HOSTILE_ZSH = (
    "setopt rc_quotes csh_junkie_quotes ksh_arrays sh_word_split glob_subst extended_glob "
    "ignore_braces no_multibyte posix_strings bad_pattern nomatch\n"
)
SHELLS: dict[str, tuple[str, list[str], str]] = {
    "bash": ("bash", ["bash", "--norc", "--noprofile"], ""),
    # input read as typed lines: history expansion of '!' is on (readline off: it would
    # act on control characters as keys, which only a paste into a terminal does)
    "bash -i": ("bash", ["bash", "--norc", "--noprofile", "--noediting", "-i"], ""),
    "zsh": ("zsh", ["zsh", "-f"], ""),
    "zsh -i": ("zsh", ["zsh", "-f", "-i"], ""),
    "zsh options": ("zsh", ["zsh", "-f"], HOSTILE_ZSH),
    "fish": ("fish", ["fish", "--no-config"], ""),
    "dash": ("posix", ["dash"], ""),
    "bash --posix": ("posix", ["bash", "--posix", "--norc", "--noprofile"], ""),
}

_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "TERM": "dumb"}


def evaluate(
    label: str, changes: Mapping[str, str | None], tmp: Path, base: Mapping[str, str] = {}
) -> tuple[dict[str, bytes], dict[bytes, bytes], dict[str, int]]:
    """Run the rendered script in the real shell: (shell's view, child env, fish lengths)."""
    fmt, argv, prelude = SHELLS[label]
    need(argv[0])
    renderer = get_renderer(fmt)
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    script = prelude + renderer.render(changes)
    for key, value in changes.items():
        if value is None:
            continue
        script += f"printf '%s' \"${key}\" > {out}/{key}.in\n"
        if fmt == "fish":
            script += f'string length -- "${key}" > {out}/{key}.len\n'
    script += f"/usr/bin/env -0 > {out}/ENV\n"
    proc = subprocess.run(
        argv,
        input=script.encode(),
        capture_output=True,
        env={**_ENV, **base, "HOME": str(tmp)},
        timeout=120,
    )
    assert (out / "ENV").exists(), proc.stderr.decode(errors="replace")[-2000:]
    inside = {p.stem: p.read_bytes() for p in out.glob("*.in")}
    lengths = {p.stem: int(p.read_text() or 0) for p in out.glob("*.len")}
    child = dict(
        item.split(b"=", 1) for item in (out / "ENV").read_bytes().split(b"\0") if b"=" in item
    )
    return inside, child, lengths


def assert_round_trip(label: str, changes: Mapping[str, str | None], tmp: Path) -> None:
    base = {k: "was set" for k, v in changes.items() if v is None}
    inside, child, lengths = evaluate(label, changes, tmp, base)
    for key, value in changes.items():
        if value is None:
            assert key.encode() not in child, (label, key)
            continue
        want = value.encode()
        assert inside.get(key) == want, (label, key, value)
        assert child.get(key.encode()) == want, (label, key, value)
        if SHELLS[label][0] == "fish":  # UTF-8 arrives as characters, not escaped bytes
            assert lengths[key] == fish_length(value), (label, key, value)


def fish_length(value: str) -> int:
    """What fish's ``string length`` says. fish 3 uses U+F600..U+F6FF (undecodable bytes)
    and the noncharacters U+FDD0..U+FDEF (wildcards and the like) internally, so it keeps
    those code points as their three UTF-8 bytes (``\\uf600`` is even an invalid token).
    The bytes still reach ``printf`` and children unchanged; every other code point is
    one character."""
    internal = sum(0xF600 <= ord(c) <= 0xF6FF or 0xFDD0 <= ord(c) <= 0xFDEF for c in value)
    return len(value) + 2 * internal


# Text the shells treat specially, mixed with arbitrary code points.
HAZARDS = [
    "'",
    '"',
    "$",
    "`",
    "\\",
    "!",
    "!!",
    "!$",
    "%",
    "%%",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "#",
    "~",
    "*",
    "?",
    "[a]",
    "{a,b}",
    ";",
    "&",
    "|",
    "<",
    ">",
    "(",
    ")",
    "$(id)",
    "`id`",
    "${HOME}",
    "$HOME",
    "\\'",
    "'\\''",
    "''",
    "\\n",
    "\\\\",
    "-e",
    "--",
    "=",
    ":",
    "::",
    "😀",
    "👩‍👩‍👧",
    "e\u0301",
    "\u0301",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\uf600",
    "\uf6ff",
    "\ufdd0",
    "\ufffe",
    "\U0010ffff",
    "^",
    "^foo^bar",
    "\x01",
    "\x0b",
]
ANY_CHAR = st.characters(exclude_categories=("Cs",), exclude_characters="\0")
VALUES = st.lists(
    st.one_of(st.sampled_from(HAZARDS), st.text(ANY_CHAR, max_size=6)), max_size=8
).map("".join)
NAMES = ["A", "B_2", "c", "_d", "LONG_NAME_3", "LIB_PATH", "MY_PATH", "GONE"]
CHANGES = st.dictionaries(
    st.sampled_from(NAMES[:-1]), VALUES, min_size=1, max_size=len(NAMES) - 1
).map(lambda d: {**d, "GONE": None})


@pytest.mark.parametrize("label", sorted(SHELLS))
@settings(
    max_examples=int(os.environ.get("ENVSHIM_SHELL_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=CHANGES)
def test_any_text_round_trips(label, changes, tmp_path):
    assert_round_trip(label, changes, tmp_path)


@pytest.mark.parametrize(
    ("label", "newline"),
    [("bash", False), ("zsh", False), ("zsh", True), ("fish", False), ("dash", False)],
)
def test_every_code_point_round_trips(label, newline, tmp_path):
    """All 1,112,062 code points but NUL and surrogates, 8192 to a variable; in groups
    of 24 variables so that a child's environment stays under the kernel's ARG_MAX.
    zsh writes a value with a newline differently (``$'…'``), so it gets both forms."""
    points = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF and c != 0x0A]
    chunks = ["".join(map(chr, points[i : i + 8192])) for i in range(0, len(points), 8192)]
    if newline:
        chunks = [f"\n{chunk}\n" for chunk in chunks]
    else:
        chunks[0] = "a\nb" + chunks[0]
    for start in range(0, len(chunks), 24):
        changes = {f"U{start + i:03d}": chunk for i, chunk in enumerate(chunks[start : start + 24])}
        assert_round_trip(label, changes, tmp_path)


@pytest.mark.parametrize("label", sorted(SHELLS))
def test_empty_and_edge_values(label, tmp_path):
    changes = {
        "EMPTY": "", "SPACE": " ", "NL": "\n", "NL2": "a\n\n", "QUOTE": "'", "QQ": "''",
        "BS": "\\", "BSQ": "\\'", "DASH": "-e", "BANG": "!!", "CR": "\r", "TAB": "\t",
        "SAFE": "a+b,c-d./=_", "TILDE": "~", "HASH": "#x", "GONE": None,
        "EQ": "=ls", "EQ2": "=-e", "EQ3": "a=ls", "COLON_EQ": "x:=ls", "COLON_TILDE": "x:~",
        "CARET": "x\n^a^b", "CARET2": "\n^", "BANG_NL": "\n!!\n!$", "HASH_NL": "x\n# y",
    }  # fmt: skip
    assert_round_trip(label, changes, tmp_path)


def test_fish_path_variables(tmp_path):
    """Names ending in PATH are lists in fish; the child still sees the text as written."""
    changes = {
        "MY_PATH": "a:b::c:", "LD_LIBRARY_PATH": "::", "MANPATH": ":/usr/share/man",
        "PYTHONPATH": "one dir:two", "X_PATH": "",
    }  # fmt: skip
    assert_round_trip("fish", changes, tmp_path)
    # PATH itself: fish writes an empty entry as '.', which means the same directory
    _, child, _ = evaluate("fish", {"PATH": "/usr/bin::/bin"}, tmp_path)
    assert child[b"PATH"] == b"/usr/bin:.:/bin"
