"""The pytest plugin, driven with pytest's own ``pytester`` through the ``pytest11`` entry
point, on a project whose secrets are real sops files (envshim ``secrets set`` and the
real sops) for a key made by the real age-keygen, and a real user store."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import textwrap

import pytest

from conftest import age_keygen, need
from test_integration_pydantic import make_project

pytest_plugins = ["pytester"]

# The inner project's tests compare digests, so no value is written into a test file.
CONFTEST = """
import hashlib, json, os
from pathlib import Path
import pytest

EXPECTED = json.loads((Path(__file__).parent / "expected.json").read_text())
KEYS = sorted(EXPECTED["staging"])

def digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()

def seen():
    return {k: digest(os.environ.get(k)) for k in KEYS}

AT_IMPORT = seen()  # what settings read at import time would get

@pytest.fixture
def check():
    def check(profile):
        assert seen() == {k: EXPECTED[profile].get(k) for k in KEYS}, profile
        assert os.environ.get("FROM_CI") == "kept"  # the starting environment stays
    return check
"""

UNIT = """
import os
import pytest
from conftest import AT_IMPORT, EXPECTED, KEYS

def test_conftest_was_imported_with_the_values():
    assert AT_IMPORT == {k: EXPECTED["local"].get(k) for k in KEYS}

def test_local(check):
    check("local")

def test_a_test_that_changes_envshims_keys(check):
    check("local")
    os.environ["API_TOKEN"] = "changed by a test"
    del os.environ["LOG_LEVEL"]

@pytest.mark.envshim(env="staging")
def test_staging_in_the_middle(check, envshim_env):
    check("staging")
    assert envshim_env.profile == ["staging"]
    assert {envshim_env.vars[k].origin.layer for k in ("LOG_LEVEL", "API_TOKEN", "DEV_EMAIL")} \\
        == {"mise", "team", "user"}
    assert {"API_TOKEN", "database__password", "DEV_EMAIL"} <= envshim_env.secret_keys()
    os.environ["STAGING_ONLY"] = "changed in staging"

def test_local_again(check, envshim_env):
    check("local")
    assert envshim_env.profile == ["local"]
"""

INTEGRATION = """
import pytest

pytestmark = [pytest.mark.envshim(env="staging"), pytest.mark.integration]

def test_staging(check):
    check("staging")

class TestClosestMarkerWins:
    @pytest.mark.envshim(env="local")
    def test_local_inside_a_staging_module(self, check):
        check("local")

def test_staging_after_local(check):
    check("staging")
"""

CONTRACT = """
def test_directory_mapped_to_staging(check):
    check("staging")
"""

AFTER = """
def test_after_everything(check):
    check("local")
"""

INI = """
[pytest]
markers = integration: needs the staging services
envshim_profiles = tests/contract = staging
"""


def _digests(expected: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        profile: {k: hashlib.sha256(v.encode()).hexdigest() for k, v in values.items()}
        for profile, values in expected.items()
    }


@pytest.fixture
def svc(clean_env: dict[str, str], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """The service project at pytester's directory (clean_env first: pytester's HOME wins)."""
    monkeypatch.setenv("FROM_CI", "kept")
    expected = make_project(pytester.path, dict(os.environ))
    pytester.makefile(".json", expected=json.dumps(_digests(expected)))
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    tests = pytester.mkdir("tests")
    (tests / "test_1_unit.py").write_text(UNIT)
    (tests / "integration").mkdir()
    (tests / "integration" / "test_db.py").write_text(INTEGRATION)
    (tests / "contract").mkdir()
    (tests / "contract" / "test_contract.py").write_text(CONTRACT)
    (tests / "test_9_after.py").write_text(AFTER)
    return pytester, expected


def _no_value_in(text: str, expected: dict[str, dict[str, str]]) -> None:
    for values in expected.values():
        for key in ("API_TOKEN", "database__password", "DEV_EMAIL"):
            assert values[key] not in text, key


def test_unit_on_local_integration_on_staging_nothing_leaks(svc) -> None:
    pytester, expected = svc
    result = pytester.runpytest_subprocess("--envshim-env", "local", "-v")
    result.assert_outcomes(passed=10)
    # the run order is the file order: staging and local interleave
    result.stdout.fnmatch_lines(
        ["envshim: profile local from *: 7 variables (5 secret)", "*test_staging_in_the_middle*"]
    )
    _no_value_in(result.stdout.str() + result.stderr.str(), expected)


def test_only_the_integration_tests(svc) -> None:
    pytester, _ = svc
    result = pytester.runpytest_subprocess("--envshim-env=local", "-m", "integration")
    result.assert_outcomes(passed=3, deselected=7)


def test_in_process_run_gives_the_environment_back(svc) -> None:
    pytester, _ = svc
    before = dict(os.environ)
    result = pytester.runpytest_inprocess("--envshim-env", "local")
    result.assert_outcomes(passed=10)
    after = dict(os.environ)
    for env in (before, after):  # the inner run's runner removes the outer test's marker
        env.pop("PYTEST_CURRENT_TEST", None)
    assert after == before


def test_inert_unless_enabled(svc) -> None:
    pytester, _ = svc
    (pytester.path / "tests" / "test_1_unit.py").unlink()
    (pytester.path / "tests" / "test_off.py").write_text(
        "import os\ndef test_nothing_loaded():\n"
        "    assert 'API_TOKEN' not in os.environ and 'APP_NAME' not in os.environ\n"
    )
    result = pytester.runpytest_subprocess("tests/test_off.py", "tests/integration")
    # the marked tests run without the environment (and fail their checks): the plugin
    # did nothing but say once that it is off
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*3 tests carry @pytest.mark.envshim but the plugin is off*"])
    assert "envshim: profile" not in result.stdout.str()


def test_ini_option_enables_it(svc) -> None:
    pytester, _ = svc
    pytester.makeini(INI + "envshim_env = local\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=10)


def _lock_staging_to_another_key(pytester: pytest.Pytester) -> None:
    """secrets.staging.enc.env re-encrypted by the real sops to a key the user lacks."""
    other = age_keygen(pytester.path.parent / f"{pytester.path.name}-someone-else.key")
    proc = subprocess.run(
        [need("sops"), "encrypt", "--age", other, "--filename-override",
         "secrets.staging.enc.env", "--input-type", "dotenv", "--output-type", "dotenv",
         "/dev/stdin"],
        input="API_TOKEN=not-for-you\n", cwd=pytester.path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (pytester.path / "secrets.staging.enc.env").write_text(proc.stdout)


def test_missing_key_is_one_clear_error_before_any_test(svc) -> None:
    pytester, expected = svc
    _lock_staging_to_another_key(pytester)
    result = pytester.runpytest_subprocess("--envshim-env", "local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr.str()
    assert "envshim: profile staging: " in errors[0]
    assert "secrets.staging.enc.env" in errors[0] and "--envshim-missing-key=skip" in errors[0]
    assert "passed" not in result.stdout.str() and "PASSED" not in result.stdout.str()
    _no_value_in(result.stdout.str() + result.stderr.str(), expected)


def test_missing_key_skips_the_tests_that_need_it_when_asked(svc) -> None:
    pytester, expected = svc
    _lock_staging_to_another_key(pytester)
    result = pytester.runpytest_subprocess(
        "--envshim-env", "local", "--envshim-missing-key=skip", "-rs"
    )
    # staging: the marked unit test, two in the module, the contract directory
    result.assert_outcomes(passed=6, skipped=4)
    result.stdout.fnmatch_lines(["SKIPPED *envshim: profile staging: *secrets.staging.enc.env*"])
    _no_value_in(result.stdout.str() + result.stderr.str(), expected)


def test_no_key_at_all_stops_the_run_before_the_first_conftest(svc) -> None:
    pytester, expected = svc
    from envshim.keys import default_key_file

    default_key_file(os.environ).unlink()
    (pytester.path / "conftest.py").write_text(
        CONFTEST + "\nPath(__file__).with_name('conftest-imported').touch()\n"
    )
    result = pytester.runpytest_subprocess("--envshim-env", "local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: envshim: profile local: ")
    assert not (pytester.path / "conftest-imported").exists()
    _no_value_in(result.stdout.str() + result.stderr.str(), expected)
    # asked to skip: every test needs a profile it cannot open
    result = pytester.runpytest_subprocess("--envshim-env", "local", "--envshim-missing-key=skip")
    result.assert_outcomes(skipped=10)


def test_envshim_env_fixture_needs_the_plugin_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_uses_it(envshim_env):
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the envshim_env fixture needs the envshim plugin on*"])
