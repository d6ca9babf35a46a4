"""A drop-in for the part of :mod:`dataclasses` envshim uses, without its import cost.

``import dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``,
``tokenize``, ``copy`` …): about a quarter of what ``envshim export`` spends
on imports, on every ``cd``. Modules on the export path use this instead:
``@dataclass``, ``@dataclass(frozen=…, slots=…)`` and ``field(default=…,
default_factory=…, repr=…)`` with the same meaning (``__init__``, ``__repr__``,
``__eq__``, ``__hash__`` for frozen classes, ``__slots__``, frozen
``__setattr__``). It needs ``from __future__ import annotations`` (string
annotations) and no other dataclass feature; anything else should use
:mod:`dataclasses` itself.
"""

from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as :class:`dataclasses.FrozenInstanceError`)."""


class _Field:
    __slots__ = ("default", "default_factory", "name", "repr")

    def __init__(self, default: object, default_factory: object, repr: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.name = ""


def field(
    *, default: object = _MISSING, default_factory: object = _MISSING, repr: bool = True
) -> object:
    return _Field(default, default_factory, repr)


def _fields_of(cls: type) -> list[_Field]:
    fields: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__record_fields__", ()):
            fields[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 - no inspect
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, _Field) else _Field(value, _MISSING, True)
        f.name = name
        fields[name] = f
    return list(fields.values())


def _build(cls: type, frozen: bool, slots: bool, eq: bool) -> type:
    fields = _fields_of(cls)
    names = [f.name for f in fields]
    scope: dict[str, object] = {"_MISSING": _MISSING, "_setattr": object.__setattr__}
    params, body = [], []
    for f in fields:
        if f.default_factory is not _MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
        elif f.default is not _MISSING:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(
            f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}"
        )
    post = "\n    self.__post_init__()" if hasattr(cls, "__post_init__") else ""
    source = (
        f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass") + post
    )
    if not names:
        source = "def __init__(self):\n    pass" + post
    exec(source, scope)

    namespace = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    for name in names:
        if isinstance(namespace.get(name), _Field):
            f = next(f for f in fields if f.name == name)
            if f.default is _MISSING:
                del namespace[name]
            else:
                namespace[name] = f.default
    namespace["__init__"] = scope["__init__"]
    namespace["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    namespace["__record_fields__"] = tuple(fields)
    namespace["__match_args__"] = tuple(names)
    shown = [f.name for f in fields if f.repr]

    def __repr__(self: object) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    namespace.setdefault("__repr__", __repr__)
    if eq:

        def __eq__(self: object, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in names)

        namespace.setdefault("__eq__", __eq__)
        if frozen:

            def __hash__(self: object) -> int:
                return hash(tuple(getattr(self, n) for n in names))

            namespace.setdefault("__hash__", __hash__)
        elif "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            namespace["__hash__"] = None
    if frozen:

        def __setattr__(self: object, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: object, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        namespace["__setattr__"] = __setattr__
        namespace["__delattr__"] = __delattr__
    if slots:
        for name in names:
            namespace.pop(name, None)
        inherited = {s for base in cls.__mro__[1:] for s in getattr(base, "__slots__", ())}
        namespace["__slots__"] = tuple(n for n in names if n not in inherited)
    return type(cls)(cls.__name__, cls.__bases__, namespace)


def dataclass(
    cls: type | None = None, *, frozen: bool = False, slots: bool = False, eq: bool = True
) -> object:
    def wrap(c: type) -> type:
        return _build(c, frozen, slots, eq)

    return wrap if cls is None else wrap(cls)
