"""Notebooks read as JSON, so a hit names the cell and the part of it (source, a traceback…)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from .matcher import Needle
from .report import Finding, Report
from .stream import scan_text

NOTEBOOK_MAX = 16 << 20  # larger notebooks are scanned as text (JSON parsing would multiply memory)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def notebook_texts(nb: object) -> Iterator[tuple[str, str]]:
    """(where, text) for every string in a notebook, where naming the cell and part."""
    if not isinstance(nb, dict):
        yield from (("", t) for t in _strings(nb))
        return
    cells = nb.get("cells")
    if isinstance(cells, list):
        for number, cell in enumerate(cells, 1):
            if not isinstance(cell, dict):
                continue
            for part, value in cell.items():
                if part == "outputs" and isinstance(value, list):
                    for out_no, output in enumerate(value, 1):
                        yield from _output_texts(f"cell {number} output {out_no}", output)
                else:
                    name = "source" if part == "source" else part
                    yield from ((f"cell {number} ({name})", t) for t in _joined(value))
    for part, value in nb.items():
        if part != "cells":
            yield from ((f"({part})", t) for t in _strings(value))


def _output_texts(where: str, output: object) -> Iterator[tuple[str, str]]:
    if not isinstance(output, dict):
        yield from ((where, t) for t in _strings(output))
        return
    for part, value in output.items():
        if part == "data" and isinstance(value, dict):
            for mime, data in value.items():
                yield from ((f"{where} ({mime})", t) for t in _joined(data))
        elif part == "traceback" and isinstance(value, list):
            text = "\n".join(v for v in value if isinstance(v, str))
            yield f"{where} (traceback)", text
        else:
            yield from ((f"{where} ({part})", t) for t in _joined(value))


def _joined(value: object) -> Iterator[str]:
    """A notebook's multi-line string is a list of lines: join it, so a value split over lines is found."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        yield "".join(value)
    else:
        yield from _strings(value)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def scan_notebook(data: bytes, label: str, needles: list[Needle], report: Report) -> bool:
    """Scan a notebook by cell; False when it is not valid JSON (the caller scans it as text)."""
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError):
        return False
    for where, text in notebook_texts(nb):
        variants = [text]
        stripped = _ANSI.sub("", text)
        if stripped != text:
            variants.append(stripped)  # tracebacks are coloured: a value may sit between escapes
        for variant in variants:
            for line, _, hit in scan_text(variant, needles):
                place = f"{label}:{where} line {line}" if where else f"{label}:{line}"
                report.add(Finding(place, hit.keys, hit.form))
    return True
