"""mkemu/record.py: record classes behave as the dataclasses they replaced."""
import pickle

import pytest

from mkemu.ipc import protocol as P
from mkemu.record import FrozenInstanceError, astuple, asdict, field, is_record, record, replace


@record
class Plain:
    a: int
    items: list = field(default_factory=list)
    name: str = "x"

    def twice(self) -> int:
        return 2 * self.a


@record(frozen=True)
class Frozen:
    x: int
    y: tuple = ()


@record(slots=True)
class Slotted:
    p: int
    q: int = 5

    @classmethod
    def one(cls) -> "Slotted":
        return cls(1)


@record(eq=False)
class ByIdentity:
    v: int = 0


def test_init_defaults_and_factories():
    r = Plain(1)
    assert (r.a, r.items, r.name, r.twice()) == (1, [], "x", 2)
    assert Plain(1).items is not r.items           # a fresh list per instance
    assert Plain(2, [3], name="y").items == [3]
    assert Plain.name == "x" and not hasattr(Plain, "items")   # as dataclasses leave them
    with pytest.raises(TypeError):
        Plain()
    assert repr(Plain(1)) == "Plain(a=1, items=[], name='x')"


def test_eq_and_hash():
    assert Plain(1) == Plain(1) and Plain(1) != Plain(2)
    assert Plain.__hash__ is None                  # eq without frozen: unhashable
    assert Frozen(1, (2,)) == Frozen(1, (2,))
    assert {Frozen(1): "a"}[Frozen(1)] == "a"
    assert ByIdentity() != ByIdentity() and len({ByIdentity(), ByIdentity()}) == 2


def test_frozen_refuses_assignment():
    f = Frozen(1)
    with pytest.raises(FrozenInstanceError):
        f.x = 2
    with pytest.raises(AttributeError):
        del f.y


def test_slots():
    s = Slotted.one()
    assert Slotted.__slots__ == ("p", "q") and not hasattr(s, "__dict__")
    assert (s.p, s.q) == (1, 5)
    with pytest.raises(AttributeError):
        s.other = 1


def test_replace_astuple_asdict_match():
    r = Plain(1, [Frozen(2)])
    assert replace(r, name="z") == Plain(1, [Frozen(2)], "z")
    assert replace(Slotted(3), q=4) == Slotted(3, 4)
    assert astuple(r) == (1, [(2, ())], "x")
    assert asdict(Plain(3)) == {"a": 3, "items": [], "name": "x"}
    assert is_record(r) and not is_record(Plain)
    match r:
        case Plain(1, items, name):
            assert (items, name) == ([Frozen(2)], "x")
        case _:
            pytest.fail("no match")


def test_a_record_in_a_message_travels_as_its_tuple():
    msg = P.ProcInfoReply({"x": Frozen(1, (2,))})
    assert pickle.loads(P.encode(msg)[2:]) == ({"x": (1, (2,))},)


def test_init_made_from_a_template_names_its_parameters():
    # record.plain_init renames one compiled template: keywords, defaults and errors
    # must be those of the fields
    @record
    class Three:
        first: int
        second: str = "s"
        third: tuple = (1,)

    t = Three(third=(2,), first=1)
    assert (t.first, t.second, t.third) == (1, "s", (2,))
    assert vars(Three(1, "x", ())) == {"first": 1, "second": "x", "third": ()}
    with pytest.raises(TypeError, match="first"):
        Three()
    with pytest.raises(TypeError):
        Three(1, 2, 3, 4)
    assert Three.__init__.__qualname__.endswith("Three.__init__")
    m = P.Wait(0, id=7, options=4)
    assert (m.idtype, m.id, m.options) == (0, 7, 4) and m == P.Wait(0, 7, 4)
    assert P.Hello(5) == P.Hello(5, False)          # a message's default
    with pytest.raises(TypeError):
        @record
        class Wrong:
            a: int = 1
            b: int
