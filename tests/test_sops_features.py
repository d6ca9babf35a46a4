"""sops features that valid files use, each in a file the real sops wrote, with
`sops decrypt` as the oracle: comments inside YAML lists and inline comments,
repeated JSON keys, YAML timestamps (`type:time`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import age_keygen, need, run_envshim
from envshim.errors import ConfigError
from envshim.formats import sops
from envshim.keys import load_identities


@pytest.fixture
def team(clean_env, tmp_path):
    pub = age_keygen(tmp_path / "key.txt")
    root = tmp_path / "proj"
    root.mkdir()
    return root, pub, {**clean_env, "SOPS_AGE_KEY_FILE": str(tmp_path / "key.txt")}


def _encrypt(root: Path, pub: str, env: dict[str, str], name: str, plain: str) -> Path:
    src = root / ("plain" + Path(name).suffix)
    src.write_text(plain)
    out = subprocess.run(
        [need("sops"), "encrypt", "--age", pub, str(src)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    src.unlink()
    (root / name).write_text(out)
    return root / name


def _sops_decrypt(path: Path, env: dict[str, str]) -> str:
    return subprocess.run(
        [need("sops"), "decrypt", str(path)], env=env, capture_output=True, text=True, check=True
    ).stdout


def _export(root: Path, name: str, env: dict[str, str]) -> dict[str, str]:
    (root / "envshim.toml").write_text(f'files = ["{name}"]\n')
    proc = run_envshim("export", "json", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_comments_inside_yaml_lists_and_inline_comments(team):
    root, pub, env = team
    plain = (
        "list:\n"
        "    # leading comment\n"
        "    - a # inline a\n"
        "    - b\n"
        "    # between\n"
        "    - c\n"
        "key: v # inline key\n"
        "nested:\n"
        "    - x: 1 # in map\n"
        "      # tail\n"
        "      y: 2\n"
    )
    path = _encrypt(root, pub, env, "secrets.enc.yaml", plain)
    assert "type:comment]" in path.read_text()  # sops keeps list comments as items
    shown = _sops_decrypt(path, env)
    assert "- a\n" in shown and "# leading comment" in shown
    assert _export(root, "secrets.enc.yaml", env) == {
        "list__0": "a",
        "list__1": "b",
        "list__2": "c",
        "key": "v",
        "nested__0__x": "1",
        "nested__0__y": "2",
    }
    # writing such a file back is left to sops, with a clear line
    doc = sops.open_document(path, load_identities(env, []))
    doc.set("key", "w")
    with pytest.raises(ConfigError) as info:
        doc.render()
    assert "comments inside lists" in str(info.value) and "sops edit" in str(info.value)


def test_repeated_json_keys_as_sops_keeps_them(team):
    root, pub, env = team
    path = _encrypt(
        root, pub, env, "secrets.enc.json", '{"a": "1", "a": "2", "b": {"c": "x", "c": "y"}}'
    )
    assert _sops_decrypt(path, env).count('"a"') == 2  # sops keeps both items
    assert _export(root, "secrets.enc.json", env) == {"a": "2", "b__c": "y"}
    # a change keeps both items, and sops still reads the file
    doc = sops.open_document(path, load_identities(env, []))
    doc.set("z", "1")
    doc.save()
    shown = json.loads(_sops_decrypt(path, env))  # (json.loads keeps the last of each)
    assert shown == {"a": "2", "b": {"c": "y"}, "z": "1"}
    assert _sops_decrypt(path, env).count('"a"') == 2


def test_yaml_timestamps_are_type_time(team):
    root, pub, env = team
    path = _encrypt(
        root,
        pub,
        env,
        "secrets.enc.yaml",
        "t: 2024-01-02T03:04:05Z\nd: 2024-01-02\nz: 2024-01-02T03:04:05+02:00\n",
    )
    assert "type:time]" in path.read_text()
    shown = _sops_decrypt(path, env)
    expected = {}
    for line in shown.splitlines():
        key, _, value = line.partition(": ")
        expected[key] = value
    assert expected["d"] == "2024-01-02T00:00:00Z"  # as sops decrypt shows it
    assert _export(root, "secrets.enc.yaml", env) == expected


def test_re2_is_imported_only_for_a_file_with_a_regex_rule(team):
    root, pub, env = team
    plain_rule = _encrypt(root, pub, env, "plain.enc.env", "A=1\n")
    src = root / "p.env"
    src.write_text("A=1\nB_pub=2\n")
    regex = root / "regex.enc.env"
    regex.write_text(
        subprocess.run(
            [need("sops"), "encrypt", "--age", pub, "--unencrypted-regex", "_pub$", str(src)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    code = (
        "import sys\n"
        "from envshim.formats.sops import decrypt_file\n"
        "from envshim.keys import load_identities\n"
        "import os\n"
        "values = decrypt_file(sys.argv[1], load_identities(dict(os.environ), []))\n"
        "print(sorted(k for k, _v, _l in values), 're2' in sys.modules)\n"
    )
    for path, expected in ((plain_rule, "['A'] False"), (regex, "['A', 'B_pub'] True")):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == expected
