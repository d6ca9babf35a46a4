"""`envshim allow`, `deny`, `prune` and `status` through the real CLI."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from conftest import run_envshim
from envshim import trust

ALICE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
MALLORY = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nSECRETISH = "hunter2-value"\n')
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {ALICE}\n")
    return root


def test_allow_deny_prune(clean_env, tmp_path):
    root = project(tmp_path)
    out = run_envshim("allow", str(root / "."), env=clean_env, check=True)
    assert out.stdout == (
        f"envshim: allowed {root} (mise.toml)\n  .sops.yaml encrypts to: {ALICE}\n"
    )
    record = trust.record_path(root, clean_env)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
    assert "hunter2" not in record.read_text()  # hashes and paths only
    assert trust.check(root, clean_env).allowed

    assert run_envshim("deny", cwd=root, env=clean_env, check=True).stdout.startswith(
        "envshim: denied"
    )
    assert trust.check(root, clean_env).status == trust.UNTRUSTED

    run_envshim("allow", str(root), env=clean_env, check=True)
    shutil.rmtree(root)
    pruned = run_envshim("prune", env=clean_env, check=True)
    assert pruned.stdout == (
        f"envshim: forgot {root}\nenvshim: pruned 1 record; 0 allowed projects kept\n"
    )
    assert not record.exists()
    again = run_envshim("prune", env=clean_env, check=True)  # says so when there is nothing
    assert again.stdout == "envshim: nothing to prune: no project is allowed\n"


def test_allow_outside_a_project_is_one_line(clean_env, tmp_path):
    (tmp_path / "empty").mkdir()
    out = run_envshim("allow", str(tmp_path / "empty"), env=clean_env)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "envshim init" in out.stderr


def test_status_shows_trust_recipients_and_masks_values(clean_env, tmp_path):
    root = project(tmp_path)
    out = run_envshim("status", str(root), env=clean_env).stdout
    assert "trust    not allowed (run `envshim allow`)" in out
    run_envshim("allow", str(root), env=clean_env, check=True)
    out = run_envshim("status", str(root), env=clean_env).stdout
    # a value written in plain text in committed mise.toml is shown (issue 12): only
    # secrets are masked
    assert "trust    allowed" in out and "SECRETISH  hunter2-value" in out
    assert "warning" not in out

    # a pulled change adds a recipient to .sops.yaml: shown before anything is re-encrypted,
    # and the project needs a new allow (a recipient decides who reads what envshim writes)
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {ALICE},{MALLORY}\n")
    out = run_envshim("status", str(root), env=clean_env).stdout
    assert f"added since `envshim allow`: {MALLORY}" in out
    data = json.loads(run_envshim("status", "--json", str(root), env=clean_env).stdout)
    assert data["new_recipients"] == [MALLORY] and data["trust"] == "changed"
    again = run_envshim("allow", str(root), env=clean_env, check=True).stdout
    assert f".sops.yaml now also encrypts to: {MALLORY}" in again

    (root / "mise.toml").write_text('[env]\nSECRETISH = "other"\n')
    out = run_envshim("status", str(root), env=clean_env).stdout
    assert "changed since `envshim allow`: mise.toml" in out


def test_status_in_a_hooked_shell(clean_env, tmp_path):
    from envshim import hook

    root = project(tmp_path)
    run_envshim("allow", str(root), env=clean_env, check=True)
    plan = hook.plan_hook(clean_env, str(root))
    shell = dict(clean_env, SECRETISH="changed by me", ENVSHIM_STATE=plan.state.encode())
    out = run_envshim("status", cwd=root, env=dict(shell, PWD=str(root))).stdout
    assert "shell    loaded by the hook: this project, 1 key\n" in out
    assert "(changed by hand in this shell)" in out
    assert "loads    envshim hook: the envshim hook loaded this project\n" in out
    assert "changed by me" not in out


def test_allowing_one_profile_keeps_the_others(clean_env, tmp_path):
    root = project(tmp_path)
    (root / "mise.staging.toml").write_text('[env]\nSTAGE = "s"\n')
    staging = dict(clean_env, ENVSHIM_ENV="staging")
    out = run_envshim("allow", str(root), env=staging, check=True).stdout
    assert "mise.staging.toml" in out
    run_envshim("allow", str(root), env=clean_env, check=True)
    record = trust.load_record(root, clean_env)
    assert sorted(Path(p).name for p in record.files) == ["mise.staging.toml", "mise.toml"]
    status = run_envshim("status", str(root), env=staging).stdout
    assert "trust    allowed" in status and "STAGE" in status


def test_own_recipients_add_is_confirmed_before_any_allow(clean_env, tmp_path):
    """A maintainer who never ran `allow` adds a teammate, then writes: her own add counts
    as confirmed, while the project itself stays not allowed."""
    from conftest import age_keygen

    keys = Path(clean_env["XDG_CONFIG_HOME"]) / "sops" / "age"
    keys.mkdir(parents=True)
    mine = age_keygen(keys / "keys.txt")
    bob = age_keygen(tmp_path / "bob.key")
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {mine}\n")
    (root / "envshim.toml").write_text("\n")
    run_envshim("secrets", "set", "A", cwd=root, env=clean_env, input="one\n", check=True)
    run_envshim("recipients", "add", bob, cwd=root, env=clean_env, check=True)
    out = run_envshim("secrets", "set", "B", cwd=root, env=clean_env, input="two\n")
    assert out.returncode == 0, out.stderr
    assert trust.check(root, clean_env).status == trust.UNTRUSTED
    # a recipient someone else adds is still refused
    (root / ".sops.yaml").write_text(
        (root / ".sops.yaml").read_text().replace(bob, f"{bob},{MALLORY}")
    )
    refused = run_envshim("secrets", "set", "C", cwd=root, env=clean_env, input="three\n")
    assert refused.returncode != 0 and MALLORY in refused.stderr
