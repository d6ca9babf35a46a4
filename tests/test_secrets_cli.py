"""``envshim secrets`` and ``envshim key`` through the real CLI, checked with the real sops."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need, run_envshim


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str], home: Path) -> dict:
    """A project whose .sops.yaml names the user's fresh key (made by envshim key new)."""
    need("sops")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mise.toml").write_text("[env]\nPLAIN = 'x'\n")
    out = run_envshim("key", "new", env=clean_env, cwd=root, check=True)
    public = out.stdout.strip()
    assert public.startswith("age1")
    run_envshim("recipients", "add", public, env=clean_env, cwd=root, check=True)
    return {"root": root, "env": clean_env, "public": public, "home": home}


def _sops_decrypt(project: dict, path: Path) -> str:
    proc = subprocess.run(
        [need("sops"), "decrypt", str(path)],
        env=project["env"],
        cwd=project["root"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _all_bytes_under(*dirs: Path) -> list[tuple[Path, bytes]]:
    out = []
    for d in dirs:
        for p in d.rglob("*"):
            if p.is_file() and not p.is_symlink():
                with contextlib.suppress(OSError):
                    out.append((p, p.read_bytes()))
    return out


def test_key_show_and_refuse_overwrite(project: dict) -> None:
    out = run_envshim("key", "show", env=project["env"], cwd=project["root"])
    assert out.returncode == 0 and out.stdout.split()[0] == project["public"]
    again = run_envshim("key", "new", env=project["env"], cwd=project["root"])
    assert again.returncode == 1 and "not overwriting" in again.stderr and again.stdout == ""


def test_key_file_0644_refused(project: dict) -> None:
    from envshim.keys import default_key_file

    run_envshim(
        "secrets", "set", "A", "-", env=project["env"], cwd=project["root"], input="1", check=True
    )
    key = default_key_file(project["env"])
    os.chmod(key, 0o644)
    out = run_envshim("key", "show", env=project["env"], cwd=project["root"])
    assert out.returncode == 1 and out.stdout == ""
    assert f"chmod 600 {key}" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = run_envshim("secrets", "list", env=project["env"], cwd=project["root"])
    assert out.returncode == 1 and "chmod 600" in out.stderr


def test_set_get_list_rm(project: dict) -> None:
    root, env = project["root"], project["env"]
    run_envshim(
        "secrets",
        "set",
        "API_KEY",
        "-",
        env=env,
        cwd=root,
        input="v1 with 'quotes' and $x\n",
        check=True,
    )
    run_envshim("secrets", "set", "OTHER", env=env, cwd=root, input="two", check=True)
    assert (
        _sops_decrypt(project, root / "secrets.enc.env")
        == "API_KEY=v1 with 'quotes' and $x\nOTHER=two\n"
    )
    out = run_envshim("secrets", "get", "API_KEY", env=env, cwd=root, check=True)
    assert out.stdout == "v1 with 'quotes' and $x\n"
    listed = run_envshim("secrets", "list", env=env, cwd=root, check=True)
    assert (
        "v1 with" not in listed.stdout
        and "API_KEY" in listed.stdout
        and "secrets.enc.env:1" in listed.stdout
    )
    assert (
        "v1 with"
        in run_envshim("secrets", "list", "--reveal", env=env, cwd=root, check=True).stdout
    )
    first_line = (root / "secrets.enc.env").read_text().splitlines()[0]
    run_envshim("secrets", "set", "OTHER", "-", env=env, cwd=root, input="three", check=True)
    assert (root / "secrets.enc.env").read_text().splitlines()[
        0
    ] == first_line  # untouched value, same ciphertext
    run_envshim("secrets", "rm", "API_KEY", env=env, cwd=root, check=True)
    assert _sops_decrypt(project, root / "secrets.enc.env") == "OTHER=three\n"
    gone = run_envshim("secrets", "get", "API_KEY", env=env, cwd=root)
    assert gone.returncode == 1 and gone.stdout == ""


def test_argv_value_warns(project: dict) -> None:
    out = run_envshim(
        "secrets", "set", "K", "visible", env=project["env"], cwd=project["root"], check=True
    )
    assert "visible to other processes" in out.stderr and "visible\n" not in out.stderr


def test_canary_never_leaks(project: dict, tmp_path: Path) -> None:
    root, env = project["root"], project["env"]
    canary = "CANARY-7f3e9b1c-d00d"
    proc = subprocess.Popen(
        [sys.executable, "-m", "envshim", "secrets", "set", "TOKEN", "-"],
        env=env,
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_in_argv = False

    def scan_argv() -> bool:
        for cmd in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if canary.encode() in cmd.read_bytes():
                    return True
            except OSError:
                continue
        return False

    time.sleep(0.3)
    seen_in_argv |= scan_argv()
    proc.stdin.write(canary)
    proc.stdin.close()
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        seen_in_argv |= scan_argv()
    if proc.poll() is None:
        proc.kill()
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.returncode == 0, err
    assert not seen_in_argv
    assert canary not in err and canary not in out
    # edit, list, get, recipients: stderr stays clean; no file anywhere holds the plaintext
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\nprintf 'EXTRA=1\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env2 = {**env, "EDITOR": str(editor), "XDG_RUNTIME_DIR": str(runtime)}
    for args in (("secrets", "edit"), ("secrets", "list"), ("recipients", "list"), ("key", "show")):
        r = run_envshim(*args, env=env2, cwd=root)
        assert r.returncode == 0, r.stderr
        assert canary not in r.stderr and canary not in r.stdout
    assert list(runtime.iterdir()) == []
    assert "TOKEN=" + canary in _sops_decrypt(project, root / "secrets.enc.env")
    for path, data in _all_bytes_under(
        tmp_path, Path(os.environ.get("TMPDIR", "/tmp")) / "nonexistent"
    ):
        assert canary.encode() not in data, path


@pytest.mark.parametrize(
    "signal_line",
    [
        "kill -TERM $PPID\nsleep 2\n",  # envshim itself is terminated
        "kill -INT $PPID\nkill -INT $$\nsleep 2\n",  # Ctrl-C: the editor dies of it
    ],
)
def test_edit_removes_plaintext_on_signals(project: dict, tmp_path: Path, signal_line: str) -> None:
    root, env = project["root"], project["env"]
    run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input="1", check=True)
    before = (root / "secrets.enc.env").read_bytes()
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    marker = tmp_path / "seen"
    editor = tmp_path / "ed.sh"
    # the editor records the private dir's mode, changes the buffer, then the signal arrives
    editor.write_text(
        '#!/bin/sh\nstat -c %a "$(dirname "$1")" > ' + str(marker) + "\n"
        'echo B=2 >> "$1"\n' + signal_line
    )
    editor.chmod(0o755)
    r = run_envshim(
        "secrets",
        "edit",
        env={**env, "EDITOR": str(editor), "XDG_RUNTIME_DIR": str(runtime)},
        cwd=root,
    )
    assert r.returncode != 0
    assert marker.read_text().strip() == "700"
    assert list(runtime.iterdir()) == []
    assert (root / "secrets.enc.env").read_bytes() == before


def test_encrypt_command(project: dict) -> None:
    root, env = project["root"], project["env"]
    (root / "secrets.env").write_text("A=1\nB=x y\n")
    r = run_envshim("secrets", "encrypt", "secrets.env", env=env, cwd=root, check=True)
    assert "delete the plaintext" in r.stderr
    assert _sops_decrypt(project, root / "secrets.enc.env") == "A=1\nB=x y\n"
    again = run_envshim("secrets", "encrypt", "secrets.env", env=env, cwd=root)
    assert again.returncode == 1 and "not overwriting" in again.stderr
    (root / "app.yaml").write_text("db:\n  pw: p\n")
    run_envshim(
        "secrets", "encrypt", "app.yaml", "-o", "secrets.enc.yaml", env=env, cwd=root, check=True
    )
    listed = run_envshim("secrets", "list", env=env, cwd=root, check=True).stdout
    assert "db__pw" in listed and "A " in listed


def _tamper_cases(text: str) -> dict[str, str]:
    lines = text.splitlines(keepends=True)
    enc = next(i for i, ln in enumerate(lines) if ln.startswith("A=ENC["))
    data_at = lines[enc].index("data:") + 5
    flipped = (
        lines[enc][:data_at]
        + ("B" if lines[enc][data_at] != "B" else "C")
        + lines[enc][data_at + 1 :]
    )
    plain = next(i for i, ln in enumerate(lines) if ln.startswith("NOTE_unencrypted="))
    lm = next(i for i, ln in enumerate(lines) if ln.startswith("sops_lastmodified="))
    return {
        "ciphertext": "".join([*lines[:enc], flipped, *lines[enc + 1 :]]),
        "unencrypted value": "".join(
            [*lines[:plain], "NOTE_unencrypted=changed\n", *lines[plain + 1 :]]
        ),
        "lastmodified": "".join(
            [*lines[:lm], "sops_lastmodified=2020-01-01T00:00:00Z\n", *lines[lm + 1 :]]
        ),
        "swapped values": text.replace("A=", "Z=", 1).replace("B=", "A=", 1).replace("Z=", "B=", 1),
    }


def test_tampering_is_refused_everywhere(project: dict) -> None:
    root, env = project["root"], project["env"]
    for key, value in (("A", "1"), ("B", "2"), ("NOTE_unencrypted", "open")):
        run_envshim("secrets", "set", key, "-", env=env, cwd=root, input=value, check=True)
    run_envshim("allow", env=env, cwd=root)  # trust the project for export, where supported
    path = root / "secrets.enc.env"
    good = path.read_text()
    for what, bad in _tamper_cases(good).items():
        path.write_text(bad)
        for args in (
            ("secrets", "list"),
            ("secrets", "get", "A"),
            ("secrets", "set", "C", "-"),
            ("export", "bash"),
        ):
            r = run_envshim(*args, env=env, cwd=root, input="3")
            assert r.returncode == 1, (what, args, r.stderr)
            assert r.stdout == "", (what, args)
            assert len(r.stderr.strip().splitlines()) == 1, (what, args, r.stderr)
            assert "secrets.enc.env" in r.stderr, (what, args, r.stderr)
            assert path.read_text() == bad, (what, args)  # nothing rewritten
    path.write_text(good)
    assert run_envshim("secrets", "get", "A", env=env, cwd=root, check=True).stdout == "1\n"


def test_wrong_or_no_key(project: dict, tmp_path: Path) -> None:
    root, env = project["root"], project["env"]
    run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input="1", check=True)
    other = tmp_path / "other.key"
    subprocess.run([need("age-keygen"), "-o", str(other)], check=True, capture_output=True)
    os.chmod(other, 0o600)
    from envshim.keys import default_key_file

    default_key_file(env).rename(tmp_path / "hidden.key")
    for extra, words in (
        ({"SOPS_AGE_KEY_FILE": str(other)}, "none of your identities"),
        ({}, "no age identity"),
    ):
        r = run_envshim("secrets", "get", "A", env={**env, **extra}, cwd=root)
        assert r.returncode == 1 and r.stdout == ""
        assert words in r.stderr and project["public"] in r.stderr and "envshim join" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_store_and_damaged_sops_yaml(project: dict) -> None:
    root, env = project["root"], project["env"]
    (root / "blob.dat").write_text("not a sops file\n")
    r = run_envshim("secrets", "--file", "blob.dat", "list", env=env, cwd=root)
    assert (
        r.returncode == 1
        and "blob.dat" in r.stderr
        and "unknown sops store" in r.stderr
        and r.stdout == ""
    )
    run_envshim("secrets", "set", "A", "-", env=env, cwd=root, input="1", check=True)
    before = (root / "secrets.enc.env").read_bytes()
    (root / ".sops.yaml").write_text("creation_rules:\n  - path_regex: [unclosed\n    age: x\n")
    r = run_envshim(
        "secrets", "--file", "new.enc.env", "set", "B", "-", env=env, cwd=root, input="2"
    )
    assert r.returncode == 1 and ".sops.yaml" in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (root / "new.enc.env").exists()
    r = run_envshim("recipients", "add", project["public"], env=env, cwd=root)
    assert r.returncode == 1 and ".sops.yaml" in r.stderr
    assert (root / "secrets.enc.env").read_bytes() == before


_cli_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    min_size=1,
    max_size=30,
).filter(lambda v: "\\n" not in v and not v.endswith("\n"))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_cli_values)
def test_set_any_value_through_stdin(project: dict, value: str) -> None:
    root, env = project["root"], project["env"]
    r = run_envshim("secrets", "set", "ANY", "-", env=env, cwd=root, input=value)
    assert r.returncode == 0, r.stderr
    assert value not in r.stderr or value in "envshim: set ANY in " + str(root)
    out = _sops_decrypt(project, root / "secrets.enc.env")
    line = next(ln for ln in out.split("\n") if ln.startswith("ANY="))
    assert line[4:].replace("\\n", "\n") == value
    got = run_envshim("secrets", "get", "ANY", env=env, cwd=root, check=True).stdout
    assert got == value + "\n"


def test_edit_yaml_keeps_comments(project: dict, tmp_path: Path) -> None:
    root, env = project["root"], project["env"]
    (root / "app.yaml").write_text("# database\ndb:\n  user: app  # login\n  pw: old\n")
    run_envshim(
        "secrets", "encrypt", "app.yaml", "-o", "secrets.enc.yaml", env=env, cwd=root, check=True
    )
    before = (root / "secrets.enc.yaml").read_text()
    user_line = next(ln for ln in before.splitlines() if "user:" in ln)
    editor = tmp_path / "ed.sh"
    editor.write_text(
        "#!/bin/sh\ngrep -q '# login' \"$1\" || exit 3\nsed -i 's/pw: old/pw: new/' \"$1\"\n"
    )
    editor.chmod(0o755)
    r = run_envshim(
        "secrets",
        "--file",
        "secrets.enc.yaml",
        "edit",
        env={**env, "EDITOR": str(editor)},
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    after = (root / "secrets.enc.yaml").read_text()
    assert user_line in after.splitlines()  # unchanged value and its comment keep their ciphertext
    out = _sops_decrypt(project, root / "secrets.enc.yaml")
    assert "# database" in out and "# login" in out and "pw: new" in out


def test_profile_secrets(project: dict) -> None:
    root, env = project["root"], project["env"]
    run_envshim("secrets", "set", "SHARED", "-", env=env, cwd=root, input="s", check=True)
    run_envshim(
        "secrets",
        "--env",
        "staging",
        "set",
        "DB",
        "-",
        env=env,
        cwd=root,
        input="stage-db",
        check=True,
    )
    assert _sops_decrypt(project, root / "secrets.staging.enc.env") == "DB=stage-db\n"
    assert _sops_decrypt(project, root / "secrets.enc.env") == "SHARED=s\n"
    staged = run_envshim(
        "secrets", "--env", "staging", "list", "--reveal", env=env, cwd=root, check=True
    ).stdout
    assert "stage-db" in staged and "SHARED" in staged
    plain = run_envshim("secrets", "list", env=env, cwd=root, check=True).stdout
    assert "DB " not in plain and "SHARED" in plain
    # recipients rm/add re-key the profile's file too, even when no profile is active
    assert (
        "secrets.staging.enc.env"
        in run_envshim("recipients", "list", env=env, cwd=root, check=True).stdout
    )


def test_age_file_set_rm_edit(project: dict, tmp_path: Path) -> None:
    from envshim.formats.dotenv import parse
    from envshim.keys import default_key_file

    root, env = project["root"], project["env"]
    age_file = root / "secrets.env.age"
    enc = subprocess.run(
        [need("age"), "-a", "-r", project["public"]],
        input=b"# team values\nexport FIRST='one'\nSECOND=two # note\n",
        capture_output=True,
        check=True,
    ).stdout
    age_file.write_bytes(enc)
    key = default_key_file(env)

    def plain() -> str:
        return subprocess.run(
            [need("age"), "-d", "-i", str(key), str(age_file)], capture_output=True, check=True
        ).stdout.decode()

    tricky = [
        'it\'s "quoted"',
        "line one\nline two",
        "$HOME ${X} `id`",
        "  spaced  ",
        "#hash",
        "ü ✓",
        "",
    ]
    for i, value in enumerate(tricky):
        r = run_envshim(
            "secrets",
            "--file",
            "secrets.env.age",
            "set",
            f"V{i}",
            "-",
            env=env,
            cwd=root,
            input=value + "\n",
        )
        assert r.returncode == 0, r.stderr
    run_envshim(
        "secrets",
        "--file",
        "secrets.env.age",
        "set",
        "FIRST",
        "-",
        env=env,
        cwd=root,
        input="changed",
        check=True,
    )
    text = plain()
    assert text.startswith("# team values\n")  # comments and order kept
    assert "SECOND=two # note" in text
    values = {b.key: b.value for b in parse(text)}
    assert values == {
        "FIRST": "changed",
        "SECOND": "two",
        **{f"V{i}": v for i, v in enumerate(tricky)},
    }
    got = run_envshim("secrets", "get", "V1", env=env, cwd=root, check=True).stdout
    assert got == "line one\nline two\n"
    run_envshim("secrets", "--file", "secrets.env.age", "rm", "V1", env=env, cwd=root, check=True)
    assert "V1" not in {b.key for b in parse(plain())}
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\necho 'ADDED=by editor' >> \"$1\"\n")
    editor.chmod(0o755)
    run_envshim(
        "secrets",
        "--file",
        "secrets.env.age",
        "edit",
        env={**env, "EDITOR": str(editor)},
        cwd=root,
        check=True,
    )
    assert {b.key: b.value for b in parse(plain())}["ADDED"] == "by editor"
    assert age_file.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
)
def test_age_dotenv_quoting_reads_back(value: str) -> None:
    from envshim.formats.age_write import quote
    from envshim.formats.dotenv import parse

    text = f"# c\nK={quote(value)}\nNEXT=1\n"
    assert [(b.key, b.value) for b in parse(text)] == [("K", value), ("NEXT", "1")]


def test_encrypt_to_an_age_file(project: dict) -> None:
    from envshim.keys import default_key_file

    root, env = project["root"], project["env"]
    (root / "team.env").write_text("export A='1'\nB=\"two words\"\n")
    run_envshim(
        "secrets", "encrypt", "team.env", "-o", "secrets.env.age", env=env, cwd=root, check=True
    )
    out = subprocess.run(
        [need("age"), "-d", "-i", str(default_key_file(env)), str(root / "secrets.env.age")],
        capture_output=True,
        check=True,
    ).stdout
    assert out == (root / "team.env").read_bytes()
    got = run_envshim("secrets", "get", "B", env=env, cwd=root, check=True).stdout
    assert got == "two words\n"


def test_files_option_names_a_file_to_create(tmp_path: Path, clean_env: dict[str, str]) -> None:
    need("sops")
    root = tmp_path / "proj"
    (root / "config").mkdir(parents=True)
    (root / "envshim.toml").write_text('files = ["config/app.enc.yaml"]\n')
    public = run_envshim("key", "new", env=clean_env, cwd=root, check=True).stdout.strip()
    r = run_envshim("recipients", "add", public, env=clean_env, cwd=root)
    assert r.returncode == 0, r.stderr
    run_envshim("secrets", "set", "A", "-", env=clean_env, cwd=root, input="v", check=True)
    out = subprocess.run(
        [need("sops"), "decrypt", "--output-type", "json", "config/app.enc.yaml"],
        env=clean_env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == {"A": "v"}
    assert (
        "config/app.enc.yaml:1"
        in run_envshim("secrets", "list", env=clean_env, cwd=root, check=True).stdout
    )
