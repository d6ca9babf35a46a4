"""``%load_ext envshim`` in a real ipykernel, driven by the real nbclient: the notebook is
executed and saved, the cells see the real values, and the saved file holds no form of
any secret (stdout, stderr, a subprocess, rich display data, a traceback with a DSN)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.parse
from pathlib import Path

import pytest

from test_integration_pydantic import make_project

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip(
    "envshim.redact", reason="the shared redaction filter (envshim.redact) is not installed"
)

CELLS = [
    "%load_ext envshim",
    # the cells see the real values: digests, not values, come back
    """
import base64, hashlib, os, subprocess, sys, urllib.parse
pw = os.environ["database__password"]
token = os.environ["API_TOKEN"]
print("digest", hashlib.sha256(pw.encode()).hexdigest(), hashlib.sha256(token.encode()).hexdigest())
print("level", os.environ["LOG_LEVEL"])
""",
    # every form, on both streams, a value written in two flushed pieces, a child process
    """
print("plain:", pw)
print("b64:", base64.b64encode(pw.encode()).decode())
print("url:", urllib.parse.quote(pw, safe=""))
sys.stderr.write("stderr: " + token + "\\n")
sys.stdout.write("split: " + token[:7]); sys.stdout.flush()
sys.stdout.write(token[7:] + "\\n")
subprocess.run(["sh", "-c", 'echo "child: $API_TOKEN"'], check=True)
""",
    # rich display: JSON, HTML and the repr of an object holding a DSN
    """
from IPython.display import JSON, display
dsn = f"postgresql://app:{urllib.parse.quote(pw, safe='')}@db.local/app"
class Connection:
    def __repr__(self):
        return f"Connection(dsn={dsn!r})"
    def _repr_html_(self):
        return f"<b>{dsn}</b>"
display(JSON({"token": token, "nested": [pw]}))
Connection()
""",
    'raise ConnectionError(f"could not connect to {dsn} (password {pw!r})")',
    # another profile: its values load and are redacted, the earlier ones stay redacted
    "%envshim staging",
    """
print("staging", hashlib.sha256(os.environ["API_TOKEN"].encode()).hexdigest(), os.environ["LOG_LEVEL"])
print("new:", os.environ["API_TOKEN"], "old:", token)
""",
    "%unload_ext envshim",
    """
print("after", sorted(k for k in ("API_TOKEN", "APP_NAME", "database__password") if k in os.environ),
      os.environ.get("LOG_LEVEL"), os.environ.get("STAGING_ONLY"))
""",
]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _forms(value: str) -> dict[str, str]:
    return {
        "plain": value,
        "base64": base64.b64encode(value.encode()).decode(),
        "url": urllib.parse.quote(value, safe=""),
        "json": json.dumps(value)[1:-1],
    }


def _text(outputs: list) -> str:
    return json.dumps([nbformat.from_dict(o) for o in outputs])


def _stdout(cell) -> str:
    """A cell's stdout as one text (the kernel may send it in several messages)."""
    return "".join(o.text for o in cell.outputs if o.get("name") == "stdout")


def _kernel_env() -> dict[str, str]:
    """The test's environment less pytest's marker, which makes ipykernel leave the file
    descriptors alone: with it gone a child process's output reaches the notebook."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def test_notebook_keeps_no_secret(tmp_path: Path, clean_env: dict[str, str], monkeypatch) -> None:
    root = tmp_path / "ml project"
    expected = make_project(root, clean_env)
    monkeypatch.setenv("LOG_LEVEL", "from-the-kernel")  # the kernel's own value, restored
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in CELLS]
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(root)}},
    )  # fmt: skip
    client.execute(env=_kernel_env())
    saved = root / "analysis.ipynb"
    nbformat.write(nb, saved)
    data = saved.read_text()

    for profile, values in expected.items():
        for key in ("API_TOKEN", "database__password", "DEV_EMAIL"):
            for form, text in _forms(values[key]).items():
                assert text not in data, f"{profile} {key} {form}"

    local, staging = expected["local"], expected["staging"]
    out = [_text(cell.outputs) for cell in nb.cells]
    assert "envshim: loaded 7 variables for profile default from " in out[0], out[0]
    # the cells saw the real values
    assert f"digest {_digest(local['database__password'])} {_digest(local['API_TOKEN'])}" in out[1]
    assert "level info" in out[1]
    # each form came out redacted, on stdout and stderr, from the child process too
    for label in ("plain: ", "b64: ", "url: ", "split: ", "child: "):
        assert label + "[redacted " in out[2], label
    assert "stderr: [redacted API_TOKEN]" in out[2]
    assert "[redacted API_TOKEN]" in out[3] and "[redacted database__password]" in out[3]
    assert "Connection(dsn=" in out[3] and "text/html" in out[3]
    error = next(o for o in nb.cells[4].outputs if o.output_type == "error")
    assert error.ename == "ConnectionError"
    assert "[redacted database__password]" in error.evalue
    assert "could not connect to postgresql://app:[redacted" in "".join(error.traceback)
    assert f"staging {_digest(staging['API_TOKEN'])} warning" in out[6]
    assert "new: [redacted API_TOKEN] old: [redacted API_TOKEN (default)]" in out[6]
    # unloaded: envshim's variables gone, the kernel's own value back
    assert "after [] from-the-kernel None" in _stdout(nb.cells[8])


def test_a_project_that_cannot_load_changes_nothing(tmp_path: Path, clean_env: dict[str, str]):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "envshim.toml").write_text("no_such_option = 1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os; before = dict(os.environ)"),
        nbformat.v4.new_code_cell("%load_ext envshim"),
        nbformat.v4.new_code_cell("print('same', dict(os.environ) == before)"),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(root)}}).execute(env=_kernel_env())  # fmt: skip
    said = _text(nb.cells[1].outputs)
    assert "envshim.toml" in said and "no_such_option" in said and "%envshim" in said
    assert "same True" in _text(nb.cells[2].outputs)
