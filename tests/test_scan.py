"""The leak scan engine: forms of a value, streaming, notebooks, staged blobs, history, the hook."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import need
from envshim import scan
from envshim.errors import ConfigError
from envshim.scan import stream
from envshim.scan.forms import b32_aligned, b64_aligned

SECRET = "s3cr3t-Pa55word!/+"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    need("git")
    base = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "HOME": str(cwd),
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    return r


def run_scan(
    root: Path,
    secrets: dict[str, str],
    mode: str = "tree",
    paths: list[str] | None = None,
    everything: bool = False,
) -> scan.Report:
    needles, skipped = scan.build_needles(secrets)
    report = scan.Report(skipped_short=skipped)
    if mode == "tree":
        scan.scan_working_tree(root, needles, report, paths or [], everything, display_base=root)
    elif mode == "staged":
        scan.scan_staged(root, needles, report, paths or [], display_base=root)
    else:
        scan.scan_history(root, needles, report, paths or [])
    return report


def lines(report: scan.Report) -> list[str]:
    return [str(f) for f in report.findings]


# -- forms ------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    value=st.text(min_size=6, max_size=40).filter(lambda v: "\0" not in v),
    prefix=st.binary(max_size=7),
    suffix=st.binary(max_size=7),
)
def test_encoded_value_inside_larger_data_is_found(
    value: str, prefix: bytes, suffix: bytes
) -> None:
    """Whatever surrounds the value, one of the aligned pieces occurs in the encoding."""
    raw = value.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(prefix + raw + suffix)
        assert any(p in blob for p in b64_aligned(raw, encode))
    blob = base64.b32encode(prefix + raw + suffix)
    assert any(p in blob for p in b32_aligned(raw))


def test_forms_cover_plain_hex_base64_base32_and_utf16() -> None:
    forms = scan.forms_of("??>>??>> x")
    assert forms[0] == ("plain", b"??>>??>> x")
    assert ("hex", b"3f3f3e3e3f3f3e3e2078") in forms
    assert ("hex", b"3F3F3E3E3F3F3E3E2078") in forms
    b64 = [p for name, p in forms if name == "base64"]
    assert b"Pz8+Pj8/Pj4ge" in b64 and len(b64) == 3
    assert b"Pz8-Pj8_Pj4ge" in [p for name, p in forms if name == "base64url"]
    b32 = [p for name, p in forms if name == "base32"]
    whole = base64.b32encode(b"??>>??>> x")[:16]  # 10 bytes: 16 characters, no padding
    assert whole in b32 and whole.lower() in b32 and len(b32) == 10
    # both byte orders, as one pattern for an ASCII value: the zero bytes at the edges left out
    utf16 = [p for name, p in forms if name == "utf-16"]
    assert utf16 == ["??>>??>> x".encode("utf-16-le")[:-1]]
    assert utf16[0] in "??>>??>> x".encode("utf-16-be")
    both = [p for name, p in scan.forms_of("€-ascii") if name == "utf-16"]
    assert both == ["€-ascii".encode("utf-16-le")[:-1], "€-ascii".encode("utf-16-be")]
    assert ("url-encoded", b"??>>??>>+x") in forms  # form encoding's space
    assert len({p for _, p in forms}) == len(forms)  # no pattern twice


def test_short_values_are_skipped_and_named() -> None:
    needles, skipped = scan.build_needles({"PIN": "1234", "TOKEN": "abcdefgh"})
    assert skipped == ["PIN"]
    assert needles and all(n.keys == ("TOKEN",) for n in needles)


def test_same_value_under_two_keys_names_both() -> None:
    needles, _ = scan.build_needles({"A": SECRET, "B": SECRET})
    assert all(n.keys == ("A", "B") for n in needles)


# -- working tree -------------------------------------------------------------------


def test_plain_base64_and_urlencoded_in_tracked_and_untracked_files(repo: Path) -> None:
    (repo / "config.py").write_text(f"x = 1\npassword = '{SECRET}'\n")
    (repo / "blob.txt").write_text(
        "data: " + base64.b64encode(b"user:" + SECRET.encode()).decode() + "\n"
    )
    (repo / "url.txt").write_text("\n\nhttps://h/?p=" + quote(SECRET, safe="") + "\n")
    (repo / "clean.txt").write_text("nothing here\n")
    git(repo, "add", "config.py")
    report = run_scan(repo, {"DB_PASSWORD": SECRET})
    assert sorted(lines(report)) == [
        "blob.txt:1: DB_PASSWORD (base64)",
        "config.py:2: DB_PASSWORD (plain)",
        "url.txt:3: DB_PASSWORD (url-encoded)",
    ]
    assert report.scanned == 4


def test_ignored_files_only_with_all(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text(f"DB_PASSWORD={SECRET}\n")
    (repo / ".git" / "leak").write_text(SECRET)
    assert lines(run_scan(repo, {"DB_PASSWORD": SECRET})) == []
    assert lines(run_scan(repo, {"DB_PASSWORD": SECRET}, everything=True)) == [
        ".env:1: DB_PASSWORD (plain)"
    ]
    # named explicitly, an ignored file is scanned
    named = run_scan(repo, {"DB_PASSWORD": SECRET}, paths=[str(repo / ".env")])
    assert lines(named) == [".env:1: DB_PASSWORD (plain)"]


def test_paths_limit_the_scan(repo: Path) -> None:
    (repo / "a").mkdir()
    (repo / "a" / "f.txt").write_text(SECRET)
    (repo / "g.txt").write_text(SECRET)
    report = run_scan(repo, {"K": SECRET}, paths=[str(repo / "a")])
    assert lines(report) == [f"{Path('a', 'f.txt')}:1: K (plain)"]


def test_multiline_value_and_json_escaped_form(repo: Path) -> None:
    value = "-----BEGIN KEY-----\nMIIabc123\n-----END KEY-----"
    (repo / "key.pem").write_text("header\n" + value + "\n")
    (repo / "data.json").write_text(json.dumps({"k": value}) + "\n")
    assert sorted(lines(run_scan(repo, {"TLS_KEY": value}))) == [
        "data.json:1: TLS_KEY (json-escaped)",
        "key.pem:2: TLS_KEY (plain)",
    ]


def test_binary_file_reports_byte_offset(repo: Path) -> None:
    (repo / "dump.bin").write_bytes(b"\0\1\2" * 10 + SECRET.encode() + b"\0")
    assert lines(run_scan(repo, {"K": SECRET})) == ["dump.bin: binary file, byte 30: K (plain)"]


def test_huge_file_streams_and_finds_values_across_chunk_boundaries(
    repo: Path, monkeypatch
) -> None:
    monkeypatch.setattr(stream, "CHUNK", 4096)
    path = repo / "big.log"
    with open(path, "wb") as fh:
        for i in range(3000):  # ~ 150 KB, the value straddles many chunk edges
            fh.write(b"x" * (4096 - 5 if i == 10 else 37) + b"\n")
            if i in (10, 2999):
                fh.write(b"yy" + SECRET.encode() + b"\n")
    report = run_scan(repo, {"K": SECRET})
    assert lines(report) == ["big.log:12: K (plain)", "big.log:3002: K (plain)"]


def test_chunk_scanner_reports_each_occurrence_once() -> None:
    needles, _ = scan.build_needles({"K": "abcdefgh"})
    scanner = scan.StreamScanner(needles)
    data = b"..abcdefgh..\nabcdefgh"
    hits = []
    for i in range(0, len(data), 3):
        hits += [(line, off) for line, off, h in scanner.feed(data[i : i + 3]) if h.form == "plain"]
    assert hits == [(1, 2), (2, 13)]


# -- notebooks -------------------------------------------------------------------------


def notebook(cells: list[dict]) -> str:
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1
    )


def test_notebook_traceback_names_the_cell(repo: Path) -> None:
    tb = [
        "\x1b[0;31mKeyError\x1b[0m Traceback",
        f"\x1b[0;32mconnect\x1b[0m(password=\x1b[0;34m'{SECRET}'\x1b[0m)",
    ]
    cells = [
        {"cell_type": "markdown", "source": ["# title\n"], "metadata": {}},
        {
            "cell_type": "code",
            "source": ["import db\n", "db.connect()\n"],
            "metadata": {},
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["fine\n"]},
                {"output_type": "error", "ename": "KeyError", "evalue": "x", "traceback": tb},
            ],
        },
    ]
    (repo / "analysis.ipynb").write_text(notebook(cells))
    assert lines(run_scan(repo, {"DB_PASSWORD": SECRET})) == [
        "analysis.ipynb:cell 2 output 2 (traceback) line 2: DB_PASSWORD (plain)"
    ]


def test_notebook_source_and_text_plain_output(repo: Path) -> None:
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "source": ["a = 1\n", f"token = '{SECRET}'"],
            "outputs": [
                {
                    "output_type": "execute_result",
                    "data": {"text/plain": [f"'{SECRET}'"]},
                    "metadata": {},
                },
            ],
        }
    ]
    (repo / "n.ipynb").write_text(notebook(cells))
    assert sorted(lines(run_scan(repo, {"API_TOKEN": SECRET}))) == [
        "n.ipynb:cell 1 (source) line 2: API_TOKEN (plain)",
        "n.ipynb:cell 1 output 1 (text/plain) line 1: API_TOKEN (plain)",
    ]


def test_broken_notebook_is_scanned_as_text_with_a_warning(repo: Path) -> None:
    (repo / "broken.ipynb").write_text('{"cells": [\n' + f'"{SECRET}"\n')
    report = run_scan(repo, {"K": SECRET})
    assert lines(report) == ["broken.ipynb:2: K (plain)"]
    assert report.warnings == ["broken.ipynb: not a valid notebook (JSON); scanned as text"]


# -- git: staged and history ------------------------------------------------------------


def test_staged_scans_the_staged_blob_not_the_working_copy(repo: Path) -> None:
    (repo / "settings.py").write_text(f"PASSWORD = '{SECRET}'\n")
    (repo / "other.txt").write_text("clean\n")
    git(repo, "add", "settings.py", "other.txt")
    (repo / "settings.py").write_text("PASSWORD = os.environ['PASSWORD']\n")  # fixed, not staged
    (repo / "unstaged.txt").write_text(SECRET)
    report = run_scan(repo, {"PASSWORD": SECRET}, mode="staged")
    assert lines(report) == ["settings.py:1: PASSWORD (plain)"]
    git(repo, "add", "settings.py")
    assert lines(run_scan(repo, {"PASSWORD": SECRET}, mode="staged")) == []


def test_staged_notebook(repo: Path) -> None:
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "source": "x",
            "outputs": [
                {
                    "output_type": "error",
                    "ename": "E",
                    "evalue": "e",
                    "traceback": [f"oops {SECRET}"],
                }
            ],
        }
    ]
    (repo / "nb.ipynb").write_text(notebook(cells))
    git(repo, "add", "nb.ipynb")
    assert lines(run_scan(repo, {"K": SECRET}, mode="staged")) == [
        "nb.ipynb:cell 1 output 1 (traceback) line 1: K (plain)"
    ]


def test_history_finds_a_value_removed_since_and_names_the_commit(repo: Path) -> None:
    (repo / "app.py").write_text(f"pw = '{SECRET}'\n")
    git(repo, "add", "app.py")
    git(repo, "commit", "-q", "-m", "oops")
    leaked = git(repo, "rev-parse", "--short", "HEAD").strip()
    (repo / "app.py").write_text("pw = env()\n")
    git(repo, "commit", "-q", "-am", "fix")
    assert lines(run_scan(repo, {"PW": SECRET})) == []
    report = run_scan(repo, {"PW": SECRET}, mode="history")
    assert lines(report) == [f"commit {leaked} app.py:1: PW (plain)"]


def test_staged_outside_git_is_a_clear_error(tmp_path: Path) -> None:
    from envshim.errors import UsageError

    with pytest.raises(UsageError, match="not inside a git repository"):
        run_scan(tmp_path, {"K": SECRET}, mode="staged")


# -- the hook -------------------------------------------------------------------------------


def test_install_creates_hook_and_is_idempotent(repo: Path) -> None:
    msg = scan.install_hook(repo)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert "installed" in msg and os.access(hook, os.X_OK)
    first = hook.read_text()
    assert first.startswith("#!/bin/sh\n") and "envshim scan --staged" in first
    assert "nothing changed" in scan.install_hook(repo)
    assert hook.read_text() == first


def test_install_appends_to_an_existing_shell_hook(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/usr/bin/env bash\n# lint\nmake lint\n")
    hook.chmod(0o755)
    scan.install_hook(repo)
    text = hook.read_text()
    assert text.startswith("#!/usr/bin/env bash\n# lint\nmake lint\n" + scan.HOOK_BEGIN)
    scan.install_hook(repo)
    assert hook.read_text() == text


def test_install_goes_before_an_exit_in_an_existing_hook(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nrun-checks\nexit 0\n")
    scan.install_hook(repo)
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\n" + scan.HOOK_BEGIN) and text.endswith(
        "run-checks\nexit 0\n"
    )


def test_install_refuses_a_non_shell_hook(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    original = "#!/usr/bin/env python3\nprint('hi')\n"
    hook.write_text(original)
    with pytest.raises(ConfigError, match="not a shell script"):
        scan.install_hook(repo)
    assert hook.read_text() == original


@settings(max_examples=300)
@given(
    values=st.lists(st.text("ab\nc", min_size=6, max_size=14), min_size=1, max_size=5),
    data=st.text("ab\r\nc", max_size=300),
    chunk=st.integers(1, 40),
)
def test_one_pass_matcher_finds_exactly_what_find_finds(values, data, chunk):
    """Every occurrence of every literal (overlapping, across chunk edges and line breaks), and
    nothing else: what ``bytes.find`` sees in the data with its line breaks removed."""
    needles, _ = scan.build_needles({f"K{i}": v for i, v in enumerate(values)})
    raw = data.encode()
    flat = raw.replace(b"\r", b"").replace(b"\n", b"")
    expected = set()
    for n in needles:
        if n.escaped:
            continue  # no escape in this alphabet
        pos = flat.find(n.pattern)
        while pos != -1:
            expected.add((pos, pos + len(n.pattern), n.keys, n.form))
            pos = flat.find(n.pattern, pos + 1)
    scanner = scan.StreamScanner(needles)
    got = []
    for i in range(0, len(raw), chunk):
        got += scanner.feed(raw[i : i + chunk])

    def flat_offset(offset: int) -> int:
        return offset - raw.count(b"\n", 0, offset) - raw.count(b"\r", 0, offset)

    seen = set()
    for line, offset, hit in got:
        assert line == raw.count(b"\n", 0, offset) + 1
        length = hit.end - hit.start
        start = flat_offset(offset)
        seen.add((start, flat_offset(offset + length - 1) + 1, hit.keys, hit.form))
        assert (
            raw[offset : offset + length].replace(b"\r", b"").replace(b"\n", b"")
            == flat[start : flat_offset(offset + length - 1) + 1]
        )
    assert seen == expected
    assert len(got) == len(expected)


def _json_escape(c: str, upper: bool) -> str:
    units = c.encode("utf-16-be", "surrogatepass")
    text = "".join(f"\\u{units[i : i + 2].hex()}" for i in range(0, len(units), 2))
    return text.upper().replace("\\U", "\\u") if upper else text


def _percent(c: str, upper: bool) -> str:
    return "".join(f"%{b:02X}" if upper else f"%{b:02x}" for b in c.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r\n"),
        min_size=6,
        max_size=24,
    ),
    escaped=st.lists(st.booleans(), min_size=24, max_size=24),
    upper=st.booleans(),
    style=st.sampled_from(["json", "url"]),
    before=st.text("ab ,:=\"'{}[]()", max_size=6),
    after=st.text("ab ,:=\"'{}[]()", max_size=6),
)
def test_a_value_with_any_characters_escaped_is_found(
    value, escaped, upper, style, before, after
) -> None:
    """JSON \\u or URL %XX escapes of any subset of the characters, in either case (the
    escape character itself always escaped, as both formats require)."""
    escape = _json_escape if style == "json" else _percent
    must = "\\" if style == "json" else "%"
    encoded = "".join(
        escape(c, upper) if e or c == must else c for c, e in zip(value, escaped, strict=False)
    )
    data = (before + encoded + after).encode("utf-8", "surrogatepass")
    needles, _ = scan.build_needles({"K": value})
    hits = scan.Matcher(needles).hits(data)
    start = len(before.encode())
    assert any(h.start <= start and h.end >= start + len(encoded.encode()) for h in hits), sorted(
        hits
    )


@settings(max_examples=200, deadline=None)
@given(
    value=st.binary(min_size=6, max_size=40),
    prefix=st.binary(max_size=60),
    suffix=st.binary(max_size=60),
    width=st.integers(1, 100),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    urlsafe=st.booleans(),
)
def test_base64_wrapped_at_any_width_is_found(value, prefix, suffix, width, newline, urlsafe):
    text = value.decode("latin-1")  # any bytes: a value is looked for as its UTF-8
    raw = text.encode("utf-8")
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(prefix + raw + suffix)
    data = newline.join(blob[i : i + width] for i in range(0, len(blob), width)) + newline
    needles, _ = scan.build_needles({"K": text})
    forms = {h.form for h in scan.Matcher(needles).hits(data)}
    assert forms & {"base64", "base64url"}
