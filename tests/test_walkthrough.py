"""Issue 12's two-developer walk-through, in real interactive bash and zsh on a pty.

Alice sets the project up and commits it; Bob clones it, runs `envshim join`, Alice runs
the line Bob sends, Bob pulls, `envshim doctor --fix` is green, `cd` loads the secret and
`cd` out unloads it. Every step is typed into the shell as a user would; the repository
travels through a bare origin with real git.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import git, need
from test_hook_shells import Shell, cd

SECRET = "staging-db-pa55word"


def home_env(base: dict[str, str], home: Path) -> dict[str, str]:
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = dict(
        base,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@e",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@e",
    )
    env.pop("MISE_YES", None)  # a user answers mise's questions; nothing here may need it
    return env


@pytest.mark.parametrize("kind", ["bash", "zsh"])
def test_two_developers_from_init_to_cd(kind, tmp_path, clean_env):
    for tool in ("git", "sops", "mise"):
        need(tool)
    alice_env = home_env(clean_env, tmp_path / "alice")
    bob_env = home_env(clean_env, tmp_path / "bob")
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "mise.toml").write_text('[env]\nAPP_ENV = "staging"\n')
    (seed / "local.env").write_text(f"DB_PASSWORD={SECRET}\n")
    git(seed, "add", "mise.toml")
    git(seed, "commit", "-q", "-m", "start")
    git(tmp_path, "clone", "-q", "--bare", str(seed), "origin.git")
    alice_repo, bob_repo = tmp_path / "alice-repo", tmp_path / "bob-repo"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), alice_repo.name)
    (alice_repo / "local.env").write_text(f"DB_PASSWORD={SECRET}\n")

    alice = Shell(kind, Path(alice_env["HOME"]), alice_env, alice_repo)
    bob = None
    try:
        made = alice.capture("envshim init --mise --from-dotenv local.env")
        assert "+ created secrets.enc.env with 1 value from local.env" in made, made
        assert "mise trust mise.toml" in made and "commit mise.toml too" in made
        alice.run("git add -A && git commit -qm envshim && git push -q origin main")

        git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), bob_repo.name)
        bob = Shell(kind, Path(bob_env["HOME"]), bob_env, tmp_path)
        first = bob.capture(f"{cd(bob_repo)} && envshim doctor --shell {kind}")
        assert "✗ identity: no age identity found → `envshim join`" in first, first
        line = bob.capture("envshim join --quiet").strip()
        assert line.startswith("envshim recipients add age1"), line

        # Alice runs the line Bob sent, commits and pushes; Bob pulls
        added = alice.capture(line)
        assert "Traceback" not in added and SECRET not in added
        alice.run("git commit -qam 'add bob' && git push -q origin main")
        bob.run("git pull -q --no-rebase origin main")

        fixed = bob.capture(f"envshim doctor --fix --shell {kind}")
        assert fixed.rstrip().endswith("all needed checks pass"), fixed
        assert "(fixed: linked the envshim plugin" in fixed
        assert SECRET not in fixed
        bob.capture("envshim allow")
        bob.capture("mise trust mise.toml")
        bob.run(cd(tmp_path))
        assert "DB_PASSWORD" not in bob.env()
        bob.run(cd(bob_repo))
        loaded = bob.env()
        assert loaded["DB_PASSWORD"] == SECRET and loaded["APP_ENV"] == "staging"
        bob.run(cd(tmp_path))
        left = bob.env()
        assert "DB_PASSWORD" not in left and "APP_ENV" not in left
        # and the same project through mise and the plugin doctor --fix linked
        mise = subprocess.run(
            ["mise", "env", "--json"], cwd=bob_repo, env=bob_env, capture_output=True, text=True
        )
        assert mise.returncode == 0, mise.stderr
        assert json.loads(mise.stdout)["DB_PASSWORD"] == SECRET
    finally:
        alice.close()
        if bob is not None:
            bob.close()
