"""``--format github`` and ``--format k8s``: the CI and deployment exports.

The github output is read back with a reader written here from GitHub's
documentation of ``$GITHUB_ENV`` ("Setting an environment variable", multiline
strings: ``{name}<<{delimiter}`` / value lines / ``{delimiter}``) and of
``::add-mask::`` (data escaped ``%25``, ``%0D``, ``%0A``). The k8s manifest is
parsed with ruamel.yaml, a YAML 1.2 reader, and checked field by field.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need, need_vectors, run_envshim
from envshim.errors import ConfigError, EnvshimError, UsageError
from envshim.shells import get_renderer
from envshim.shells.base import ExportContext

FIXTURE = HealthCheck.function_scoped_fixture  # the files are rewritten for each example

# --- readers written from the documentation ----------------------------------------


def read_github_env(text: str) -> dict[str, str]:
    """GitHub's documented ``$GITHUB_ENV`` format: ``NAME=value`` lines, or
    ``NAME<<DELIM``, the value's lines, and a line that is exactly ``DELIM``."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    assert lines[-1] == "", "the file ends with a newline"
    lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            assert name and delimiter
            body = []
            while lines[i] != delimiter:  # IndexError: no closing delimiter
                body.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def read_masks(stdout: str) -> list[str]:
    """The values of ``::add-mask::`` workflow commands, unescaped as the runner does."""
    masks = []
    for line in stdout.split("\n"):
        if not line:
            continue
        assert line.startswith("::add-mask::"), line
        data = line[len("::add-mask::") :]
        masks.append(data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%"))
    return masks


def github(changes, secret, env_file: Path) -> str:
    ctx = ExportContext(secret=frozenset(secret), environ={"GITHUB_ENV": str(env_file)})
    return get_renderer("github").emit(changes, ctx)


ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"))
VALUE = st.lists(
    st.one_of(st.sampled_from(["\n", "\r\n", "\r", "<<", "=", "%", "%0A", "ghadelimiter_",
                               "EOF", "::", " "]), ANY_TEXT),
    max_size=6,
).map("".join)  # fmt: skip
NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True)


# --- github --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE])
@given(data=st.dictionaries(NAMES, VALUE, max_size=6), pick=st.data())
def test_github_env_round_trips_through_a_documented_reader(tmp_path, data, pick):
    env_file = tmp_path / "github_env"
    env_file.write_text("EARLIER=kept\n")  # earlier steps' lines stay
    secret = pick.draw(st.sets(st.sampled_from(sorted(data))) if data else st.just(set()))
    stdout = github(data, secret, env_file)
    parsed = read_github_env(env_file.read_bytes().decode())
    assert parsed == {"EARLIER": "kept", **data}
    masks = read_masks(stdout)
    # exactly the non-blank lines of the secret values, each once, none spanning lines
    lines = {p for k in secret for p in re.split(r"\r\n|\r|\n", data[k]) if p.strip()}
    assert set(masks) == lines
    assert len(masks) == len(set(masks))


def test_github_delimiters_are_random_and_absent_from_the_value(tmp_path):
    env_file = tmp_path / "github_env"
    env_file.touch()
    value = "line\nghadelimiter_\nEOF"
    github({"A": value, "B": value}, set(), env_file)
    heads = [ln for ln in env_file.read_text().split("\n") if "<<" in ln]
    delimiters = [h.split("<<", 1)[1] for h in heads]
    assert len(delimiters) == 2 and delimiters[0] != delimiters[1]
    for d in delimiters:
        assert re.fullmatch(r"ghadelimiter_[0-9a-f]{32}", d) and d not in value


def test_github_masks_each_line_of_a_multi_line_secret(tmp_path):
    env_file = tmp_path / "github_env"
    env_file.touch()
    key = "-----BEGIN KEY-----\nabc%0Adef\r\n\n  \n-----END KEY-----"
    out = github({"PEM": key, "PUBLIC": "not secret"}, {"PEM"}, env_file)
    assert read_masks(out) == ["-----BEGIN KEY-----", "abc%0Adef", "-----END KEY-----"]
    assert "::add-mask::abc%250Adef\n" in out  # the runner must not unescape it into two lines
    assert "not secret" not in out


def test_github_appends_after_an_unterminated_last_line(tmp_path):
    env_file = tmp_path / "github_env"
    env_file.write_bytes(b"EARLIER=x")  # a step wrote it without a newline
    github({"A": "1"}, set(), env_file)
    assert read_github_env(env_file.read_bytes().decode()) == {"EARLIER": "x", "A": "1"}


def test_github_without_github_env_is_a_clear_error(tmp_path):
    with pytest.raises(EnvshimError) as err:
        get_renderer("github").emit({"A": "1"}, ExportContext(environ={}))
    assert "$GITHUB_ENV" in str(err.value)
    with pytest.raises(EnvshimError) as err:
        github({"A": "1"}, set(), tmp_path / "missing")
    assert "does not exist" in str(err.value)
    assert not (tmp_path / "missing").exists()  # never creates a file of plaintext values


# --- k8s -----------------------------------------------------------------------------


def load_yaml(text: str):
    """Parse as YAML 1.2 and, as kubectl's reader does, as YAML 1.1: both must agree."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load(io.StringIO(text))
    doc11 = YAML(typ="safe", pure=True).load(io.StringIO("%YAML 1.1\n---\n" + text))
    assert doc11 == doc
    return doc


def k8s(changes, tmp: Path, names: str, **options):
    allow = tmp / "allow.txt"
    allow.write_text(names)
    ctx = ExportContext(options={"allowlist": str(allow), **options}, root="/srv/My App")
    return get_renderer("k8s").emit(changes, ctx)


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE])
@given(data=st.dictionaries(NAMES, VALUE, min_size=1, max_size=6), pick=st.data())
def test_k8s_manifest_parses_back_with_exactly_the_allowlisted_keys(tmp_path, data, pick):
    tmp = tmp_path
    allowed = pick.draw(st.sets(st.sampled_from(sorted(data)), min_size=1))
    text = k8s({**data, "UNSET_ONE": None}, tmp, "# names\n" + "\n".join(sorted(allowed)) + "\n")
    doc = load_yaml(text)
    assert doc["apiVersion"] == "v1" and doc["kind"] == "Secret" and doc["type"] == "Opaque"
    assert doc["metadata"]["name"] == "my-app" and "namespace" not in doc["metadata"]
    assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "envshim"
    assert doc["metadata"]["annotations"]["envshim/project"] == "My App"
    assert doc["stringData"] == {k: data[k] for k in allowed}
    assert all(type(v) is str for v in doc["stringData"].values())


def test_k8s_quotes_what_yaml_would_otherwise_reinterpret(tmp_path):
    tricky = {
        "ON": "yes", "NULLISH": "~", "OCTAL": "0755", "FLOAT": "1e3", "EMPTY": "",
        "DOC": "---\n...", "COMMENT": "a #b", "INDENT": "  x:\n    - y", "LS": "a\u2028b\x85c",
        "BOM": "\ufeffx", "NONCHAR": "\ufffe\uffff", "ESC": "\x1b[0m\x7f\t", "QUOTE": "\"'\\",
    }  # fmt: skip
    text = k8s(tricky, tmp_path, "\n".join(tricky), name="web", namespace="prod")
    doc = load_yaml(text)
    assert doc["stringData"] == tricky
    assert (doc["metadata"]["name"], doc["metadata"]["namespace"]) == ("web", "prod")
    body = text.split("\nstringData:\n", 1)[1]
    for line in body.splitlines():  # one line per key, nothing else
        assert re.fullmatch(r'  "[A-Z_]+": "[^"\\]*(\\.[^"\\]*)*"', line), line


def test_k8s_missing_allowlisted_key_names_the_allowlist_line(tmp_path):
    with pytest.raises(EnvshimError) as err:
        k8s({"A": "1", "B": None}, tmp_path, "A\n\n# comment\nB  # gone\n")
    assert str(err.value).startswith(f"{tmp_path / 'allow.txt'}:4: B is in the allowlist")


def test_k8s_bad_allowlist_name_and_bad_options(tmp_path):
    with pytest.raises(ConfigError) as err:
        k8s({"A": "1"}, tmp_path, "A\nnot-a-name\n")
    assert ":2: 'not-a-name' is not a variable name" in str(err.value)
    with pytest.raises(UsageError):
        get_renderer("k8s").emit({"A": "1"}, ExportContext())
    with pytest.raises(UsageError):
        k8s({"A": "1"}, tmp_path, "A\n", name="Bad_Name")
    with pytest.raises(UsageError):
        k8s({"A": "1"}, tmp_path, "A\n", namespace="x.y")


# --- end to end: mise defaults + a real sops file, through the CLI --------------------


@pytest.fixture
def project(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A project with mise.toml defaults and the sops vector as its team secrets."""
    vectors = need_vectors() / "generated"
    root = tmp_path / "proj dir ✓"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nAPP_ENV = "staging"\nMULTI = "a\\nb"\n')
    shutil.copy(vectors / "secrets.enc.env", root / "secrets.enc.env")
    key = tmp_path / "alice.key"
    shutil.copy(vectors / "alice.key", key)
    key.chmod(0o600)
    env = {**clean_env, "SOPS_AGE_KEY_FILE": str(key)}
    return root, env


def _plain_secrets() -> dict[str, str]:
    from envshim.formats.dotenv import parse_sops

    text = (need_vectors() / "generated" / "secrets.plain.env").read_text(encoding="utf-8")
    return {b.key: b.value for b in parse_sops(text)}


def test_cli_github_end_to_end(project, tmp_path):
    need("sops")  # the vector is what sops wrote
    root, env = project
    env_file = tmp_path / "github_env"
    env_file.touch()
    out = run_envshim("export", "--format", "github", env={**env, "GITHUB_ENV": str(env_file)},
                      cwd=root)  # fmt: skip
    assert out.returncode == 0, out.stderr
    secrets = _plain_secrets()
    parsed = read_github_env(env_file.read_bytes().decode())
    assert parsed == {**secrets, "APP_ENV": "staging", "MULTI": "a\nb"}
    masks = read_masks(out.stdout)
    assert sorted(masks) == sorted({v for v in secrets.values() if v.strip()})
    assert "staging" not in out.stdout
    # without $GITHUB_ENV: one line on stderr, nothing on stdout, exit 1
    bad = run_envshim("export", "github", env=env, cwd=root)
    assert bad.returncode == 1 and bad.stdout == ""
    assert "GITHUB_ENV" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert not any(v in bad.stderr for v in secrets.values() if len(v) > 3)


def test_cli_k8s_end_to_end(project, tmp_path):
    root, env = project
    allow = tmp_path / "allow.txt"
    allow.write_text("APP_ENV\nDATABASE_URL\nUNICODE # the emoji one\n")
    out = run_envshim("export", "k8s", "--allowlist", str(allow), "--namespace", "web",
                      env=env, cwd=root)  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = load_yaml(out.stdout)
    secrets = _plain_secrets()
    assert (doc["metadata"]["name"], doc["metadata"]["namespace"]) == ("proj-dir", "web")
    assert doc["metadata"]["annotations"] == {"envshim/project": "proj dir ✓",
                                              "envshim/profile": ""}  # fmt: skip
    assert doc["stringData"] == {
        "APP_ENV": "staging",
        "DATABASE_URL": secrets["DATABASE_URL"],
        "UNICODE": secrets["UNICODE"],
    }
    # no allowlist: a usage error; a missing key: a runtime error naming the line
    usage = run_envshim("export", "--format", "k8s", env=env, cwd=root)
    assert usage.returncode == 2 and usage.stdout == "" and "--allowlist" in usage.stderr
    allow.write_text("APP_ENV\nNOT_THERE\n")
    missing = run_envshim("export", "k8s", "--allowlist", str(allow), env=env, cwd=root)
    assert missing.returncode == 1 and missing.stdout == ""
    assert f"{allow}:2: NOT_THERE is in the allowlist" in missing.stderr


def test_github_cannot_unset_and_says_so(tmp_path, capsys):
    env_file = tmp_path / "github_env"
    env_file.touch()
    assert github({"A": "1", "GONE": None}, set(), env_file) == ""
    assert read_github_env(env_file.read_bytes().decode()) == {"A": "1"}
    assert "cannot unset GONE" in capsys.readouterr().err
