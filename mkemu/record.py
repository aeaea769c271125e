"""Record classes: declared as dataclasses are, made without the dataclasses module.

`@record` (or `@record(frozen=True, eq=False, slots=True)`) on a class whose
annotated attributes are its fields, in order, a value given there their
default, `field(default_factory=f)` a fresh default per instance: the class
gets `__init__`, `__repr__`, `__eq__` (fields compared when eq, the default),
`__hash__` (of the fields when frozen and eq, none when only eq),
`__match_args__`, and with frozen a `__setattr__` that refuses, with slots
`__slots__`.  `replace`, `astuple` and `asdict` work as dataclasses' do on
them.

Why not @dataclass: importing dataclasses (inspect, ast, dis, tokenize come with it)
and its per-class work (three functions compiled one by one, Field objects)
were ~15% of `mkemu run`'s start-up for mkemu's twenty such classes; a record
compiles one __init__ and shares the rest.  (ipc/protocol.py's `message` is
the same idea for message types.)
"""
from __future__ import annotations

from types import CodeType, FunctionType

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


def field(*, default_factory):
    """A field whose default is made anew for each instance: default_factory()."""
    return _Factory(default_factory)


def _repr(self) -> str:
    return f"{type(self).__qualname__}(" + \
        ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__) + ")"


def _values(self) -> tuple:
    return tuple(getattr(self, n) for n in self.__record_fields__)


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self) -> int:
    return hash(_values(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


_TEMPLATES: dict[int, CodeType] = {}


def plain_init(qualname: str, names: tuple, defaults: dict):
    """`def __init__(self, <names>): self.<name> = <name> ...`, a name in defaults
    defaulting to its value (those come last, as in a def).  Made from one compiled
    template per field count, renamed (code.replace), not compiled per class: ~2 us
    against ~70-150 us."""
    first = len(names) - len(defaults)
    if any(n not in defaults for n in names[first:]):
        raise TypeError(f"{qualname}: a field without a default follows one with a default")
    code = _TEMPLATES.get(len(names))
    if code is None:
        params = "".join(f", a{i}" for i in range(len(names)))
        body = "".join(f"\n    self.n{i} = a{i}" for i in range(len(names))) or "\n    pass"
        scope: dict = {}
        exec(f"def __init__(self{params}):{body}", scope)
        code = _TEMPLATES[len(names)] = scope["__init__"].__code__
    # the template stores parameter i into attribute name i: co_names in that order
    init = FunctionType(code.replace(co_varnames=("self", *names), co_names=tuple(names),
                                     co_qualname=f"{qualname}.__init__"), {})
    init.__defaults__ = tuple(defaults[n] for n in names[first:]) or None
    init.__qualname__ = f"{qualname}.__init__"
    return init


def record(cls=None, *, frozen: bool = False, eq: bool = True, slots: bool = False):
    """Make cls a record class (see the module comment); usable with or without options."""
    if cls is None:
        return lambda c: _make(c, frozen, eq, slots)
    return _make(cls, frozen, eq, slots)


def _make(cls, frozen: bool, eq: bool, slots: bool):
    own = cls.__dict__
    names = [n for b in reversed(cls.__mro__[1:]) for n in getattr(b, "__record_fields__", ())]
    names += [n for n in own.get("__annotations__", {}) if n not in names]
    scope = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, body = [], []
    for n in names:
        d = own.get(n, _MISSING)
        if d is _MISSING:                  # a base record's field keeps its default
            for b in cls.__mro__[1:]:
                if n in getattr(b, "__record_defaults__", {}):
                    d = b.__record_defaults__[n]
                    break
        if isinstance(d, _Factory):
            scope[f"_f_{n}"] = d.make
            params.append(f"{n}=_MISSING")
            value = f"_f_{n}() if {n} is _MISSING else {n}"
        elif d is not _MISSING:
            scope[f"_d_{n}"] = d
            params.append(f"{n}=_d_{n}")
            value = n
        else:
            params.append(n)
            value = n
        body.append(f"_set(self, {n!r}, {value})" if frozen else f"self.{n} = {value}")
    defaults = {n: own[n] for n in names if n in own}
    if frozen or any(k.startswith("_f_") for k in scope):
        exec(f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass"),
             scope)
        init = scope["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
    else:                                  # the common shape: no factory, not frozen
        init = plain_init(cls.__qualname__, tuple(names),
                          {n: scope[f"_d_{n}"] for n in names if f"_d_{n}" in scope})
    ns = {"__init__": init, "__record_fields__": tuple(names), "__record_defaults__": defaults}
    if "__repr__" not in own:
        ns["__repr__"] = _repr
    if "__match_args__" not in own:
        ns["__match_args__"] = tuple(names)
    if eq:
        if "__eq__" not in own:
            ns["__eq__"] = _eq
        if "__hash__" not in own or own["__hash__"] is None:
            ns["__hash__"] = _hash if frozen else None
    if frozen:
        ns["__setattr__"] = _frozen_setattr
        ns["__delattr__"] = _frozen_delattr
    if slots:
        body_ns = {k: v for k, v in own.items() if k not in names and
                   k not in ("__dict__", "__weakref__")}
        body_ns.update(ns)
        body_ns["__slots__"] = tuple(n for n in names if not any(
            n in getattr(b, "__slots__", ()) for b in cls.__mro__[1:]))
        return type(cls)(cls.__name__, cls.__bases__, body_ns)
    for k, v in ns.items():
        setattr(cls, k, v)
    for n, d in defaults.items():          # a factory is no class attribute (as dataclasses)
        if isinstance(d, _Factory):
            delattr(cls, n)
    return cls


def is_record(obj) -> bool:
    """Is obj a record instance (not a record class)?"""
    return hasattr(type(obj), "__record_fields__") and not isinstance(obj, type)


def replace(obj, **changes):
    """A new record like obj with the fields `changes` names changed."""
    kw = {n: getattr(obj, n) for n in obj.__record_fields__}
    kw.update(changes)
    return type(obj)(**kw)


SCALARS = (int, str, bytes, bool, float, type(None))


def plain(value):
    """value with every record inside it a tuple of its fields, containers rebuilt
    around their items (astuple's walk; ipc/protocol.py sends message fields so)."""
    if type(value) in SCALARS:
        return value
    if is_record(value):
        return tuple(plain(v) for v in _values(value))
    if isinstance(value, tuple) and hasattr(value, "_fields"):      # a namedtuple
        return type(value)(*[plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((plain(k), plain(v)) for k, v in value.items())
    return value


def astuple(obj) -> tuple:
    """The record's field values, records inside as tuples too (as dataclasses.astuple)."""
    return plain(obj)


def asdict(obj) -> dict:
    """{field: value}, records inside as dicts, containers rebuilt (as dataclasses.asdict)."""
    def plain(v):
        if is_record(v):
            return {n: plain(getattr(v, n)) for n in v.__record_fields__}
        if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
            return type(v)(plain(x) for x in v)
        if isinstance(v, dict):
            return type(v)((plain(k), plain(x)) for k, x in v.items())
        return v
    return plain(obj)
