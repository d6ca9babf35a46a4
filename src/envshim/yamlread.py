"""Reading YAML that others write: ruamel.yaml's errors in envshim's one-line form
(file:line: what, never the file's text), and aliases bounded.

YAML aliases share one node many times. ruamel builds each shared node once, but
everything that walks the result (sops' tree walk, flattening to variables)
visits it once per reference, so a 1.5 KB "billion laughs" file takes forever.
:func:`load_all` therefore measures the document as a walk would see it,
in time linear in the nodes actually built, and refuses one that aliases add
more than :data:`MAX_ALIAS_NODES` to, or that contains itself. Go's yaml.v3 (what
sops and most tools read YAML with) likewise refuses "excessive aliasing".
"""

from __future__ import annotations

import os

from .errors import ConfigError

TYPE_CHECKING = False  # not `from typing import …`: typing costs ms on every cd
if TYPE_CHECKING:
    from typing import Any

# the nodes that aliases may add to a document, beyond those written out
MAX_ALIAS_NODES = 50_000


def yaml_error(exc: Exception, path: str | os.PathLike[str]) -> ConfigError:
    """The error to raise for a YAML file ruamel.yaml could not read; never quotes content."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if problem:
        problem = _unquoted(str(problem))
    message = f"invalid YAML: {problem}" if problem else f"invalid YAML ({type(exc).__name__})"
    return ConfigError(
        message,
        path=path,
        line=(mark.line + 1) if mark is not None else None,
        hint="fix the YAML syntax",
    )


def _unquoted(problem: str) -> str:
    """ruamel quotes what it found (``found character '\\t'``, ``found undefined alias
    'x'``): that is the file's text, so each quoted part becomes ``…``."""
    out: list[str] = []
    i = 0
    while i < len(problem):
        c = problem[i]
        end = problem.find(c, i + 1) if c in "'\"" else -1
        if end > 0:
            out.append("…")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return " ".join("".join(out).split())


def load_all(yaml: Any, text: str, path: str | os.PathLike[str]) -> list[Any]:
    """Every document of ``text`` read with the ruamel ``YAML`` object ``yaml``; a bad
    file, a nesting too deep for the parser or too much aliasing is a one-line error."""
    from ruamel.yaml.error import YAMLError

    try:
        docs = list(yaml.load_all(text))
    except YAMLError as exc:
        raise yaml_error(exc, path) from None
    except RecursionError:
        raise ConfigError(
            "invalid YAML: nested too deeply", path=path, hint="flatten the structure"
        ) from None
    check_aliases(docs, path)
    return docs


def check_aliases(data: Any, path: str | os.PathLike[str]) -> None:
    """Refuse a structure that a walk would see as much larger than it was written
    (aliases), or as infinite (an alias inside itself). Linear in the nodes built."""
    sizes: dict[int, int] = {}  # id of a container -> nodes below it, counted per reference
    built = 0  # containers actually built
    stack: list[tuple[Any, bool]] = [(data, False)]
    open_ids: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_ids.discard(key)
            total = 1
            for child in children:
                total += sizes.get(id(child), 1) if _children(child) is not None else 1
            sizes[key] = total
            if total > built + MAX_ALIAS_NODES + len(children):
                _too_many(path)
            continue
        if children is None or key in sizes:
            continue
        if key in open_ids:
            raise ConfigError(
                "invalid YAML: an alias refers to a node that contains it",
                path=path,
                hint="YAML that refers to itself cannot become variables; remove the alias",
            )
        open_ids.add(key)
        built += 1 + len(children)
        stack.append((node, True))
        stack.extend((child, False) for child in children if _children(child) is not None)
    if data is not None and sizes.get(id(data), 0) > built + MAX_ALIAS_NODES:
        _too_many(path)


def _children(node: Any) -> list[Any] | None:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, (list, tuple)):
        return list(node)
    return None


def _too_many(path: str | os.PathLike[str]) -> None:
    raise ConfigError(
        f"invalid YAML: its aliases expand to more than {MAX_ALIAS_NODES} extra values",
        path=path,
        hint="write the values out instead of nesting aliases",
    )
