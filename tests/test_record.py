"""envshim._record behaves as dataclasses does for what envshim uses (it replaces it on the export path)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envshim import _record


def _pair(frozen: bool, slots: bool):
    made = []
    for mod in (dataclasses, _record):

        @mod.dataclass(frozen=frozen, slots=slots)
        class Point:
            x: int
            y: str = "y"
            tags: list[str] = mod.field(default_factory=list)
            hidden: str | None = mod.field(default=None, repr=False)

            def total(self) -> str:
                return f"{self.x}{self.y}"

        made.append(Point)
    return made


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("slots", [False, True])
def test_same_behaviour_as_dataclasses(frozen: bool, slots: bool):
    real, ours = _pair(frozen, slots)
    for cls in (real, ours):
        a, b = cls(1), cls(1)
        assert a == b and a.y == "y" and a.tags == [] and a.tags is not b.tags
        assert cls(2, "z", ["t"], "h") != a and a.total() == "1y"
        assert cls(x=3, y="q").y == "q"
        assert a != (1, "y")
        with pytest.raises(TypeError):
            cls()
    assert repr(ours(1, "z")).endswith("Point(x=1, y='z', tags=[])")
    assert repr(real(1, "z")).split(".")[-1] == repr(ours(1, "z")).split(".")[-1]
    if frozen:
        assert hash(ours(1, "y", ())) == hash(ours(1, "y", ())) == hash(real(1, "y", ()))
        with pytest.raises(AttributeError):
            ours(1).x = 2
    else:
        o = ours(1)
        o.x = 5
        assert o.x == 5
        assert ours.__hash__ is None
    if slots:
        assert not hasattr(ours(1), "__dict__")
        with pytest.raises(AttributeError):
            ours(1).other = 1  # type: ignore[attr-defined]


def test_export_path_does_not_import_dataclasses_or_typing(tmp_path, clean_env):
    (tmp_path / "mise.toml").write_text('[env]\nA = "{{config_root}}"\n_.path = "bin"\n')
    code = (
        "import sys\n"
        "from envshim.cli import main\n"
        "rc = main(['export', 'bash', sys.argv[1]])\n"
        "heavy = sorted(m for m in ('dataclasses', 'inspect', 'typing', 'tomllib', 'shutil') if m in sys.modules)\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)\n"
    )
    for _ in range(2):  # the second run is served by the parsed-config cache
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            env=clean_env,
            capture_output=True,
            text=True,
        )
    assert "HEAVY [] 0" in out.stderr, (
        f"{out.stderr.strip()}: the export path runs on every cd (DESIGN.md §9); import these lazily, "
        "use envshim._record for dataclasses and `TYPE_CHECKING = False` instead of typing"
    )


def test_console_export_exits_early_with_all_output(tmp_path, clean_env):
    """`envshim export` skips interpreter teardown; its output must still arrive whole."""
    lines = "".join(f'V{i} = "{"x" * 50}{i}"\n' for i in range(2000))
    (tmp_path / "mise.toml").write_text(f"[env]\n{lines}")
    out = subprocess.run(
        [sys.executable, "-m", "envshim", "export", "bash", str(tmp_path)],
        env=clean_env, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 2000 and out.stdout.endswith("x999\n")
    assert f"export V1999={'x' * 50}1999\n" in out.stdout
    with open("/dev/full", "w") as device:
        full = subprocess.run(
            [sys.executable, "-m", "envshim", "export", "bash", str(tmp_path)],
            env=clean_env, stdout=device, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    assert full.returncode == 1 and "Traceback" not in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1


FAST_LINES = [
    [],
    ["bash"],
    ["json", "some dir"],
    ["--format", "json"],
    ["-f", "fish", "."],
    ["zsh", "--hook"],
    ["bash", "--direnv", "--env", "dev,ci"],
    ["--from-mise", "-e", "prod", "--missing-key", "warn"],
    [".", "--format", "dotenv", "--hook", "--format", "json"],
    ["--hook", "bash"],
    ["--env", "x", "zsh", "dir"],
]
SLOW_LINES = [
    ["-h"],
    ["--env=dev"],
    ["bash", "--hook", "dir"],
    ["--format", "k8s", "--allowlist", "a.txt"],
    ["--missing-key", "sometimes"],
    ["--format"],
    ["--env", "-x"],
    ["--", "bash"],
]


@pytest.mark.parametrize("line", FAST_LINES)
def test_fast_export_args_read_as_argparse_does(line: list[str]):
    from envshim import cli
    from envshim.commands import export

    fast = cli.fast_export_args(line)
    assert fast is not None
    assert vars(fast) == vars(cli._parser("export", export).parse_args(line))


@pytest.mark.parametrize("line", SLOW_LINES)
def test_unusual_export_lines_go_to_argparse(line: list[str]):
    from envshim import cli

    assert cli.fast_export_args(line) is None


def test_export_path_does_not_import_argparse(tmp_path, clean_env):
    (tmp_path / "mise.toml").write_text('[env]\nA = "1"\n')
    code = (
        "import sys\nfrom envshim.cli import main\nrc = main(['export', 'bash', sys.argv[1], '--hook'])\n"
        "print('ARGPARSE', 'argparse' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=clean_env, capture_output=True, text=True
    )
    assert "ARGPARSE False" in out.stderr, out.stderr


_TOKENS = ["bash", "json", ".", "dir", "--hook", "--direnv", "--from-mise", "--format", "-f",
           "--env", "-e", "--missing-key", "warn", "error", "nope", "-x", "--allowlist", "--", "-",
           "--format=json", "-fjson"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(line=st.lists(st.sampled_from(_TOKENS), max_size=7))
def test_fast_export_args_never_disagree_with_argparse(line: list[str]):
    import contextlib
    import io

    from envshim import cli
    from envshim.commands import export

    fast = cli.fast_export_args(line)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            slow = vars(cli._parser("export", export).parse_args(line))
    except SystemExit:
        assert fast is None, line
        return
    assert fast is None or vars(fast) == slow, line
