"""nushell, elvish, tcsh and xonsh: every value round-trips through the real shell.

The rendered script is evaluated the way the hook evaluates it (elvish and tcsh
through ``eval`` of a command's output, nushell and xonsh as a script), then each
value is written back by the shell itself and by a child (``env -0``), and both
must equal the value as UTF-8. What a shell cannot hold (tcsh: a line break) is
refused with one line naming the key, never loaded wrong.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import need
from envshim.errors import ConfigError
from envshim.shells import get_renderer
from envshim.shells.base import check
from test_shells_roundtrip import HAZARDS, VALUES

_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "TERM": "dumb"}
NEW_SHELLS = ["nu", "elvish", "tcsh", "xonsh"]


def _xonsh() -> str:
    found = shutil.which("xonsh") or str(Path(sys.executable).parent / "xonsh")
    if not Path(found).exists():
        need("xonsh")
    return found


def evaluate(shell: str, changes: Mapping[str, str | None], tmp: Path, base: Mapping[str, str]):
    """(shell's own view, child's environment) after the shell evaluated the script."""
    renderer = get_renderer(shell)
    out = tmp / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    script_file = tmp / "script"
    script_file.write_text(renderer.render(changes), encoding="utf-8")
    keys = [k for k, v in changes.items() if v is not None]
    if shell == "nu":
        argv = [need("nu"), "--no-config-file", str(tmp / "main.nu")]
        body = f"source {script_file}\n"
        body += "".join(f"$env.{k} | save --raw -f {out}/{k}.in\n" for k in keys)
        body += f"^/usr/bin/env -0 | save --raw -f {out}/ENV\n"
        (tmp / "main.nu").write_text(body, encoding="utf-8")
    elif shell == "elvish":
        argv = [need("elvish"), "-norc", str(tmp / "main.elv")]
        body = f"eval (slurp < {script_file})\n"
        body += "".join(f"print (get-env {k}) > {out}/{k}.in\n" for k in keys)
        body += f"/usr/bin/env -0 > {out}/ENV\n"
        (tmp / "main.elv").write_text(body, encoding="utf-8")
    elif shell == "tcsh":
        argv = [need("tcsh"), "-f", str(tmp / "main.csh")]
        body = f'eval "`cat {script_file}`"\n'  # as the hook does
        body += "".join(f"/usr/bin/printenv {k} > {out}/{k}.in\n" for k in keys)
        body += f"/usr/bin/env -0 > {out}/ENV\n"
        (tmp / "main.csh").write_text(body, encoding="utf-8")
    else:
        argv = [_xonsh(), "--no-rc", "--no-env", str(tmp / "main.xsh")]
        body = f"execx(open({str(script_file)!r}, encoding='utf-8').read())\n"
        for k in keys:
            body += (
                f"open({f'{out}/{k}.in'!r}, 'w', encoding='utf-8', "
                f"errors='surrogateescape', newline='').write(${k})\n"
            )
        body += f"![/usr/bin/env -0 > {out}/ENV]\n"
        (tmp / "main.xsh").write_text(body, encoding="utf-8")
    proc = subprocess.run(
        argv, capture_output=True, env={**_ENV, **base, "HOME": str(tmp)}, timeout=120
    )
    assert (out / "ENV").exists(), proc.stderr.decode(errors="replace")[-2000:]
    inside = {p.stem: p.read_bytes() for p in out.glob("*.in")}
    if shell == "tcsh":  # printenv adds a newline
        inside = {k: v[:-1] if v.endswith(b"\n") else v for k, v in inside.items()}
    child = dict(
        item.split(b"=", 1) for item in (out / "ENV").read_bytes().split(b"\0") if b"=" in item
    )
    return inside, child


def holdable(shell: str, value: str) -> bool:
    return not (shell == "tcsh" and ("\n" in value or "\r" in value))


def assert_round_trip(shell: str, changes: Mapping[str, str | None], tmp: Path) -> None:
    base = {k: "was set" for k, v in changes.items() if v is None}
    inside, child = evaluate(shell, changes, tmp, base)
    for key, value in changes.items():
        if value is None:
            assert key.encode() not in child, (shell, key)
            continue
        want = value.encode()
        assert inside.get(key) == want, (shell, key, value)
        assert child.get(key.encode()) == want, (shell, key, value)


@pytest.mark.parametrize("shell", NEW_SHELLS)
def test_every_hazard_round_trips(shell, tmp_path):
    values = {f"H{i}": h for i, h in enumerate(HAZARDS) if holdable(shell, h)}
    values["MIXED"] = "".join(h for h in HAZARDS if holdable(shell, h))
    values["EMPTY"] = ""
    values["GONE"] = None
    assert_round_trip(shell, values, tmp_path)


@pytest.mark.parametrize("shell", NEW_SHELLS)
def test_every_code_point_round_trips(shell, tmp_path):
    """Every Unicode code point but NUL and surrogates, in chunks of 2,000."""
    points = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(chr(c) for c in points if holdable(shell, chr(c)))
    size = 2000 if shell != "tcsh" else 1000
    chunks = {f"C{i}": text[n : n + size] for i, n in enumerate(range(0, len(text), size))}
    items = list(chunks.items())
    for start in range(0, len(items), 100):
        assert_round_trip(shell, dict(items[start : start + 100]), tmp_path)


@pytest.mark.parametrize("shell", NEW_SHELLS)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_generated_values_round_trip(shell, value, tmp_path):
    if not holdable(shell, value):
        return
    assert_round_trip(shell, {"A": value, "B_2": value[::-1]}, tmp_path)


def test_tcsh_refuses_what_it_cannot_hold(tmp_path):
    renderer = get_renderer("tcsh")
    for value in ("one\ntwo", "cr\rhere", "trailing\n"):
        with pytest.raises(ConfigError) as caught:
            check(renderer, {"MULTI": value})
        message = str(caught.value)
        assert "MULTI" in message and value[:3] not in message.replace("MULTI", "")
    long = "x" * 120_000  # tcsh has no limit of its own below the kernel's 128 KiB
    assert_round_trip("tcsh", {"LONG": long}, tmp_path)


@pytest.mark.parametrize("shell", NEW_SHELLS)
def test_reserved_names_are_refused(shell):
    renderer = get_renderer(shell)
    for name in renderer.reserved:
        with pytest.raises(ConfigError, match="reserved"):
            check(renderer, {name: "x"})


# --- reserved names, measured -------------------------------------------------------------

PROBE = "envshim-probe/1"


def _start_names(shell: str, tmp: Path) -> set[str]:
    """The variables the shell itself knows at start-up (with a minimal environment)."""
    if shell == "nu":
        argv = [need("nu"), "--no-config-file", "-c", "$env | columns | str join (char nl)"]
    elif shell == "elvish":
        argv = [need("elvish"), "-norc", "-c", "/usr/bin/env | /usr/bin/cut -d= -f1"]
    elif shell == "tcsh":
        # environment variables, and shell variables whose upper-case name tcsh mirrors
        argv = [need("tcsh"), "-f", "-c", "setenv | cut -d= -f1; set | cut -f1 | tr a-z A-Z"]
    else:
        argv = [_xonsh(), "--no-rc", "--no-env", "-c", "print('\\n'.join(__xonsh__.env.keys()))"]
    proc = subprocess.run(argv, capture_output=True, text=True, env={**_ENV, "HOME": str(tmp)})
    return {n.strip() for n in proc.stdout.split() if n.strip()} | {"PWD", "OLDPWD", "PATH"}


def measure_reserved(shell: str, tmp: Path) -> set[str]:
    """Names the shell does not hand to a child exactly as a script set them."""
    from envshim.shells.base import is_valid_name

    names = sorted(n for n in _start_names(shell, tmp) if is_valid_name(n))
    renderer = get_renderer(shell)
    lines = {n: renderer.export(n, PROBE) + (";" if shell == "tcsh" else "") + "\n" for n in names}
    script = tmp / "probe"
    out = tmp / "probe.env"
    broken: set[str] = set()

    def run(batch: list[str]) -> dict[bytes, bytes] | None:
        """The child's environment after setting ``batch``; None when the shell failed."""
        script.write_text("".join(lines[n] for n in batch))
        if shell == "nu":
            go = f"source {script}; ^/usr/bin/env -0 | save --raw -f {out}"
            argv = [need("nu"), "--no-config-file", "-c", go]
        elif shell == "elvish":
            go = f"eval (slurp < {script}); /usr/bin/env -0 > {out}"
            argv = [need("elvish"), "-norc", "-c", go]
        elif shell == "tcsh":
            argv = [need("tcsh"), "-f", "-c", f'eval "`cat {script}`"; /usr/bin/env -0 > {out}']
        else:
            go = f"execx(open({str(script)!r}).read()); ![/usr/bin/env -0 > {out}]"
            argv = [_xonsh(), "--no-rc", "--no-env", "-c", go]
        out.unlink(missing_ok=True)
        subprocess.run(argv, capture_output=True, env={**_ENV, "HOME": str(tmp)}, timeout=60)
        if not out.exists():
            return None
        return dict(i.split(b"=", 1) for i in out.read_bytes().split(b"\0") if b"=" in i)

    # one name per process would be exact but slow: a batch that fails is bisected
    def bisect(batch: list[str]) -> None:
        child = run(batch)
        if child is not None:
            broken.update(n for n in batch if child.get(n.encode()) != PROBE.encode())
            return
        if len(batch) == 1:
            broken.add(batch[0])
            return
        half = len(batch) // 2
        bisect(batch[:half])
        bisect(batch[half:])

    bisect(names)
    return broken


@pytest.mark.parametrize("shell", NEW_SHELLS)
def test_reserved_list_matches_the_real_shell(shell, tmp_path):
    measured = measure_reserved(shell, tmp_path)
    renderer = get_renderer(shell)
    assert set(renderer.measured) == measured, sorted(set(renderer.measured) ^ measured)
