"""``envshim scan`` end to end: real team secrets (age), real git, the real pre-commit hook."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import need, run_envshim

SECRET = "Tr0ub4dor&3-staging-password"
OTHER = "sk_live_0123456789abcdef"


def git(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    need("git")
    full = {
        **(env or os.environ),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path, clean_env, home) -> Path:
    key = home / ".config" / "sops" / "age" / "keys.txt"
    key.parent.mkdir(parents=True, mode=0o700)
    subprocess.run([need("age-keygen"), "-o", str(key)], capture_output=True, check=True)
    me = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    p = tmp_path / "proj"
    p.mkdir()
    assert git(p, "init", "-q", "-b", "main").returncode == 0
    (p / "envshim.toml").write_text("")
    plain = f"DB_PASSWORD={SECRET}\nSTRIPE_KEY={OTHER}\nPIN=1234\n"
    subprocess.run(
        [need("age"), "-r", me, "-o", str(p / "secrets.env.age")], input=plain.encode(), check=True
    )
    return p


def notebook_with_traceback(value: str) -> str:
    tb = [
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mOperationalError\x1b[0m                          Traceback (most recent call last)",
        f'\x1b[0;32m----> 1\x1b[0m engine \x1b[38;5;241m=\x1b[39m create_engine(\x1b[38;5;124m"postgresql://app:{value}@db/app"\x1b[39m)',
    ]
    cells = [
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": ["import pandas\n"],
            "outputs": [],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "source": ["engine = connect()\n"],
            "outputs": [
                {
                    "output_type": "error",
                    "ename": "OperationalError",
                    "evalue": "no",
                    "traceback": tb,
                }
            ],
        },
    ]
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1
    )


def test_scan_finds_notebook_traceback_staged_and_base64_without_printing_values(
    project, clean_env
):
    (project / "explore.ipynb").write_text(notebook_with_traceback(SECRET))
    (project / "deploy.yaml").write_text(
        "kind: Secret\ndata:\n  stripe: " + base64.b64encode(OTHER.encode()).decode() + "\n"
    )
    (project / "settings.py").write_text(f"DEBUG = True\nPASSWORD = {SECRET!r}\n")
    (project / "README.md").write_text("pin is 1234\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [
        "deploy.yaml:3: STRIPE_KEY (base64)",
        "explore.ipynb:cell 2 output 1 (traceback) line 3: DB_PASSWORD (plain)",
        "settings.py:2: DB_PASSWORD (plain)",
    ]
    assert "shorter than 6 characters" in out.stderr and "PIN" in out.stderr
    for value in (SECRET, OTHER, base64.b64encode(OTHER.encode()).decode()):
        assert value not in out.stdout + out.stderr

    # staged: only what the commit would hold
    assert git(project, "add", "settings.py").returncode == 0
    staged = run_envshim("scan", "--staged", env=clean_env, cwd=project)
    assert staged.returncode == 1
    assert staged.stdout == "settings.py:2: DB_PASSWORD (plain)\n"
    assert SECRET not in staged.stdout + staged.stderr


def test_clean_tree_exits_zero(project, clean_env):
    (project / "app.py").write_text("import os\nPASSWORD = os.environ['DB_PASSWORD']\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 0 and out.stdout == ""
    assert "clean" in out.stderr


def test_pre_commit_hook_blocks_a_commit_with_a_secret(project, clean_env):
    inst = run_envshim("scan", "--install", env=clean_env, cwd=project)
    assert inst.returncode == 0, inst.stderr
    (project / ".gitignore").write_text(".env\n")
    (project / "ok.py").write_text("x = 1\n")
    assert git(project, "add", ".").returncode == 0
    first = git(project, "commit", "-q", "-m", "clean", env=clean_env)
    assert first.returncode == 0, first.stderr
    (project / "leak.py").write_text(f"token = '{OTHER}'\n")
    git(project, "add", "leak.py")
    blocked = git(project, "commit", "-q", "-m", "leak", env=clean_env)
    assert blocked.returncode != 0
    assert "leak.py:1: STRIPE_KEY (plain)" in blocked.stdout + blocked.stderr
    assert OTHER not in blocked.stdout + blocked.stderr
    assert git(project, "log", "--format=%s").stdout.split() == ["clean"]


def test_history_scan_finds_a_removed_leak(project, clean_env):
    (project / "old.txt").write_text(f"{SECRET}\n")
    git(project, "add", "old.txt")
    assert git(project, "commit", "-q", "-m", "leak", env=clean_env).returncode == 0
    git(project, "rm", "-q", "old.txt")
    assert git(project, "commit", "-q", "-m", "remove", env=clean_env).returncode == 0
    assert run_envshim("scan", env=clean_env, cwd=project).returncode == 0
    out = run_envshim("scan", "--history", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout.endswith(" old.txt:1: DB_PASSWORD (plain)\n") and out.stdout.startswith(
        "commit "
    )


def test_scan_without_a_key_fails_closed(project, clean_env, home):
    (home / ".config" / "sops" / "age" / "keys.txt").unlink()
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode != 0 and out.stdout == ""
    assert "secrets.env.age" in out.stderr


def test_a_missing_required_mise_key_does_not_stop_the_scan(project, clean_env):
    (project / "mise.toml").write_text('[env]\nTOKEN = { required = "ask the team" }\n')
    (project / "notes.txt").write_text(f"{SECRET}\n")
    assert run_envshim("export", "--format", "json", env=clean_env, cwd=project).returncode != 0
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout == "notes.txt:1: DB_PASSWORD (plain)\n"


def test_user_store_values_are_looked_for_too(project, clean_env):
    assert run_envshim("user", "init", env=clean_env, cwd=project).returncode == 0
    mine = "my-personal-api-key-77"
    assert (
        run_envshim(
            "user", "set", "MY_KEY", env=clean_env, cwd=project, input=mine + "\n"
        ).returncode
        == 0
    )
    (project / "debug.log").write_text(f"calling with key={mine}\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout == "debug.log:1: MY_KEY (plain)\n"
    assert mine not in out.stderr


def test_values_derived_from_secrets_are_looked_for(project, clean_env):
    (project / "mise.toml").write_text(
        '[env]\n_.envshim = {}\nDATABASE_URL = "postgres://app@db/app?password={{env.DB_PASSWORD}}"\n'
    )
    url = f"postgres://app@db/app?password={SECRET}"
    (project / "conn.txt").write_text(f"# conn\n{url}\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [
        "conn.txt:2: DATABASE_URL (plain)",
        "conn.txt:2: DB_PASSWORD (plain)",
    ]
    assert SECRET not in out.stdout + out.stderr


def test_history_scan_reads_notebooks_by_cell(project, clean_env):
    (project / "nb.ipynb").write_text(notebook_with_traceback(SECRET))
    git(project, "add", "nb.ipynb")
    assert git(project, "commit", "-q", "-m", "nb", env=clean_env).returncode == 0
    git(project, "rm", "-q", "nb.ipynb")
    assert git(project, "commit", "-q", "-m", "rm", env=clean_env).returncode == 0
    out = run_envshim("scan", "--history", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert out.stdout.endswith(
        " nb.ipynb:cell 2 output 1 (traceback) line 3: DB_PASSWORD (plain)\n"
    )


def wrapped(text: bytes, width: int, newline: bytes) -> bytes:
    return newline.join(text[i : i + width] for i in range(0, len(text), width)) + newline


def mixed_escapes(value: str, escape, every: int) -> str:
    """Every ``every``-th character escaped with ``escape``, the others plain."""
    return "".join(escape(c) if i % every == 0 else c for i, c in enumerate(value))


def percent(c: str, upper: bool) -> str:
    return "".join(f"%{b:02X}" if upper else f"%{b:02x}" for b in c.encode())


def plant_every_encoding(root: Path) -> list[str]:
    """One file per encoding of SECRET; the finding lines ``envshim scan`` must print."""
    raw = SECRET.encode()
    files = {
        "a_hex_lower.txt": (b"digest " + raw.hex().encode() + b"\n", 1, "hex"),
        "b_hex_upper.txt": (b"\n" + raw.hex().upper().encode() + b"\n", 2, "hex"),
        "c_base32.txt": (base64.b32encode(b"user:" + raw + b"!") + b"\n", 1, "base32"),
        "d_utf16le.txt": (("pw=" + SECRET).encode("utf-16-le"), 6, "utf-16"),
        "e_utf16be.txt": (("pw=" + SECRET).encode("utf-16-be"), 7, "utf-16"),
        # MIME: 76 columns, CRLF; the value sits across the first line break
        "f_mime.eml": (
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + wrapped(base64.b64encode(b"x" * 50 + raw + b"y" * 200), 76, b"\r\n"),
            3,
            "base64",
        ),
        "g_wrapped_url.txt": (
            wrapped(base64.urlsafe_b64encode(b"\xff\xfe" * 20 + raw), 20, b"\n"),
            3,
            "base64",
        ),
        "h_json_all.json": (
            ('{"p": "' + "".join(f"\\u{ord(c):04x}" for c in SECRET) + '"}\n').encode(),
            1,
            "json-escaped",
        ),
        "i_json_mixed.json": (
            ('{"p": "' + mixed_escapes(SECRET, lambda c: f"\\u{ord(c):04X}", 3) + '"}\n').encode(),
            1,
            "json-escaped",
        ),
        "j_url_upper.txt": (
            ("?p=" + "".join(percent(c, True) for c in SECRET) + "\n").encode(),
            1,
            "url-encoded",
        ),
        "k_url_lower_mixed.txt": (
            ("?p=" + mixed_escapes(SECRET, lambda c: percent(c, False), 2) + "\n").encode(),
            1,
            "url-encoded",
        ),
        "l_plain.py": (f"PASSWORD = {SECRET!r}\n".encode(), 1, "plain"),
    }
    expected = []
    for name, (content, where, form) in files.items():
        (root / name).write_bytes(content)
        place = f" binary file, byte {where}" if b"\0" in content else str(where)
        expected.append(f"{name}:{place}: DB_PASSWORD ({form})")
    return expected


def assert_no_value(text: str) -> None:
    raw = SECRET.encode()
    for form in (SECRET, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode()):
        assert form not in text


def test_every_encoding_is_found_in_the_tree_staged_and_by_the_hook(project, clean_env):
    expected = plant_every_encoding(project)
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == expected
    assert_no_value(out.stdout + out.stderr)

    names = [line.split(":", 1)[0] for line in expected]
    assert git(project, "add", *names).returncode == 0
    staged = run_envshim("scan", "--staged", env=clean_env, cwd=project)
    assert staged.returncode == 1
    assert staged.stdout.splitlines() == expected
    assert_no_value(staged.stdout + staged.stderr)

    assert run_envshim("scan", "--install", env=clean_env, cwd=project).returncode == 0
    blocked = git(project, "commit", "-q", "-m", "leak", env=clean_env)
    assert blocked.returncode != 0
    assert (blocked.stdout + blocked.stderr).count("DB_PASSWORD (") == len(expected)
    for line in expected:
        assert line in blocked.stdout + blocked.stderr
    assert_no_value(blocked.stdout + blocked.stderr)
    assert git(project, "rev-parse", "--verify", "-q", "HEAD").returncode != 0  # no commit


def test_a_file_of_other_base64_and_escapes_is_clean(project, clean_env):
    """No finding without the value: other base64, hex, escapes and UTF-16 text."""
    other = b"another-value-entirely-42"
    (project / "noise.txt").write_bytes(
        wrapped(base64.b64encode(other * 20), 76, b"\r\n")
        + other.hex().encode()
        + b'\n{"s": "\\u0041\\u0042 %41%42 \\x41"}\n'
    )
    (project / "wide.txt").write_bytes("nothing secret here".encode("utf-16-le"))
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == ""


def test_a_file_name_with_terminal_escapes_is_printed_escaped(project, clean_env):
    name = "notes\x1b]52;c;aGk=\x07\x1b[2J.txt"  # OSC 52 (set the clipboard), clear screen
    (project / name).write_text(f"{SECRET}\n")
    out = run_envshim("scan", env=clean_env, cwd=project)
    assert out.returncode == 1
    assert "\x1b" not in out.stdout + out.stderr and "\x07" not in out.stdout
    assert out.stdout == "notes\\x1b]52;c;aGk=\\x07\\x1b[2J.txt:1: DB_PASSWORD (plain)\n"
