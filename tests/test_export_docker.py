"""``envshim export docker``: one ``KEY=value`` file that ``docker run --env-file`` and
Compose's ``env_file`` both read exactly, or a one-line refusal naming the key.

Readers: docker-compose (Debian's 1.29, ``docker-compose config`` needs no daemon;
its output writes a ``$`` as ``$$``) and the docker CLI itself, whose env-file parser
runs before it talks to a daemon: the daemon here is a stand-in on a unix socket that
only records the ``containers/create`` request the real CLI sends (its ``Env`` is what
the CLI read from the file).
"""

from __future__ import annotations

import http.server
import io
import json
import socketserver
import stat
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import age_keygen, need, run_envshim

# Each value has what the issue names (spaces, quotes, $, #, =) where both readers keep it.
CARRIED = {
    "SPACES": "a b  c",
    "QUOTES": "it's \"q\" and 'single'",
    "DOLLARS": "cost$5 a$ $ 1 x$-y $@",
    "HASHES": "#a#b c#",
    "EQUALS": "x==y=",
    "MIXED": "p@ss=w0rd#1$%^&*()[]{}<>|;`~!?\\n",
    "UNICODE": "héllo ✓ 日本 🚀",
    "EMPTY": "",
}
REFUSED = {  # each holds "s3cr3t", which no message may show
    "NEWLINE": "s3cr3t\nb",
    "CR": "s3cr3t\rb",
    "LEADING": " s3cr3t",
    "TRAILING": "s3cr3t\t",
    "QUOTED": '"s3cr3t"',
    "SQUOTED": "'s3cr3t'",
    "COMMENT": "s3cr3t #b",
    "BRACED": "s3cr3t${HOME}",
    "NAMED": "s3cr3t$HOME",
    "ESCAPED": "s3cr3t$$y",
}


def sops_project(tmp_path: Path, env: dict[str, str], team: dict[str, str]) -> tuple[Path, dict]:
    """A project whose team secrets the real sops encrypted, and mise defaults."""
    sops = need("sops")
    key = tmp_path / "k.key"
    public = age_keygen(key)
    root = tmp_path / "app"
    root.mkdir()
    (root / "mise.toml").write_text('[env]\nAPP_ENV = "prod"\nWORKERS = "4"\n')
    (root / ".sops.yaml").write_text(f"creation_rules:\n  - age: {public}\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in team.items())
    )
    env = {**env, "SOPS_AGE_KEY_FILE": str(key)}
    enc = subprocess.run([sops, "encrypt", "--filename-override", "secrets.enc.yaml", str(plain)],
                         cwd=root, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    (root / "secrets.enc.yaml").write_text(enc.stdout)
    plain.unlink()
    return root, env


def compose_reads(directory: Path, env_text: str, env: dict[str, str]) -> dict[str, str]:
    """What docker-compose makes of ``env_text`` as a service's ``env_file``."""
    from ruamel.yaml import YAML

    compose = need("docker-compose")
    (directory / "read.env").write_text(env_text)
    (directory / "docker-compose.yml").write_text(
        "services:\n  web:\n    image: alpine\n    env_file: read.env\n"
    )
    out = subprocess.run([compose, "config"], cwd=directory, env=env, capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    service = YAML(typ="safe", pure=True).load(io.StringIO(out.stdout))["services"]["web"]
    return {k: v.replace("$$", "$") for k, v in (service.get("environment") or {}).items()}


class _Daemon(http.server.BaseHTTPRequestHandler):
    """Answers the CLI's version ping and records the container it asks to create."""

    captured: ClassVar[list[bytes]] = []

    def _ok(self) -> None:
        self.send_response(200)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"OK")

    do_HEAD = _ok

    def do_GET(self) -> None:
        self._ok()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "/containers/create" in self.path:
            self.captured.append(body)
        reply = b'{"message":"recorded"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("local", 0)


def docker_reads(directory: Path, env_text: str, env: dict[str, str]) -> dict[str, str]:
    """What the real docker CLI reads from ``--env-file`` (its create request's Env)."""
    docker = need("docker")
    (directory / "docker.env").write_text(env_text)
    sock = directory / "d.sock"
    _Daemon.captured = []
    server = _UnixServer(str(sock), _Daemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = subprocess.run(
            [docker, "run", "--env-file", str(directory / "docker.env"), "--rm", "alpine", "true"],
            env={**env, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(directory)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert _Daemon.captured, out.stderr
    pairs = json.loads(_Daemon.captured[0])["Env"]
    return dict(p.split("=", 1) for p in pairs)


@pytest.fixture
def carried(tmp_path, clean_env):
    return sops_project(tmp_path, clean_env, CARRIED)


def test_compose_and_docker_read_every_value_exactly(carried, tmp_path):
    root, env = carried
    out = run_envshim("export", "docker", "--out", "app.env", env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    text = (root / "app.env").read_text()
    want = {**CARRIED, "APP_ENV": "prod", "WORKERS": "4"}
    assert compose_reads(tmp_path, text, env) == want
    assert docker_reads(tmp_path, text, env) == want
    assert stat.S_IMODE((root / "app.env").stat().st_mode) == 0o600  # it holds secrets


def test_stdout_and_allowlist(carried):
    root, env = carried
    (root / "allow").write_text("APP_ENV\nSPACES\n")
    out = run_envshim("export", "docker", "--allowlist", "allow", env=env, cwd=root)
    assert out.stdout == "APP_ENV=prod\nSPACES=a b  c\n"


def test_defaults_only_file_is_not_private(tmp_path, clean_env):
    (tmp_path / "mise.toml").write_text('[env]\nA = "1"\n')
    out = run_envshim("export", "docker", "--out", "a.env", env=clean_env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.env").read_text() == "A=1\n"
    assert stat.S_IMODE((tmp_path / "a.env").stat().st_mode) == 0o644


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_a_value_the_format_cannot_carry_is_refused_by_key(tmp_path, clean_env, key):
    root, env = sops_project(tmp_path, clean_env, {"FINE": "ok", key: REFUSED[key]})
    out = run_envshim("export", "docker", "--out", "app.env", env=env, cwd=root)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{key}:" in lines[0] and "secrets.enc.yaml" in lines[0]
    assert "s3cr3t" not in out.stderr
    assert not (root / "app.env").exists()


# NAMED and ESCAPED are refused for Compose 2, whose compose-go expands `$NAME` and
# `$$` in env files; docker-compose 1.x (the Compose here) leaves both alone.
@pytest.mark.parametrize("key", sorted(set(REFUSED) - {"NEWLINE", "CR", "NAMED", "ESCAPED"}))
def test_each_refusal_is_a_value_a_real_reader_would_change(tmp_path, clean_env, key):
    """Why each is refused: written literally, Compose or docker reads something else."""
    line = f"{key}={REFUSED[key]}\n"
    env = {**clean_env, "HOME": "/nowhere"}
    read = {compose_reads(tmp_path, line, env).get(key), docker_reads(tmp_path, line, env).get(key)}
    assert read != {REFUSED[key]}


def test_a_carriage_return_is_lost_by_docker(tmp_path, clean_env):
    read = docker_reads(tmp_path, "CR=a\r\n", clean_env)
    assert read["CR"] == "a"
