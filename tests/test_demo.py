"""The README's first command ends in `envshim demo`: it must work and show a load and an unload."""

from __future__ import annotations

from conftest import need, run_envshim


def test_demo_runs_end_to_end_and_cleans_up(clean_env, tmp_path):
    need("bash")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    clean_env["TMPDIR"] = str(scratch)
    out = run_envshim("demo", env=clean_env)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "inside:  APP_ENV=local DB_PASSWORD=(set) API_URL=http://localhost:8000" in text
    assert "outside: APP_ENV=before DB_PASSWORD=(unset) API_URL=(unset)" in text
    # the user value overrides the mise default, and explain says so without the value
    assert "API_URL = ••••" in text and "shadows  mise" in text
    assert "all needed checks pass" in text
    # section 7: each command is followed by its own output (not all commands, then all output)
    order = [
        '  $ cd "my project"; _envshim_hook',
        "    envshim: +API_TOKEN",
        '  $ echo "inside:',
        "    inside:  APP_ENV=local",
        "  $ cd ..; _envshim_hook",
        "    envshim: ~APP_ENV -API_TOKEN",
        '  $ echo "outside:',
        "    outside: APP_ENV=before",
    ]
    places = [text.index(part) for part in order]
    assert places == sorted(places), places
    # the throw-away directory is gone
    assert list(scratch.iterdir()) == []
