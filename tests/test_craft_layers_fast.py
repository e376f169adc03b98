"""The C constructor of layer classes (_fastobj.c_constructor) and DNS.query build exactly the
objects the generated Python `__init__` builds, and step aside whenever that `__init__`
would not be the one to run. With WIRECRAFT_NO_FAST=1 no class has the C constructor and
the same checks run against the generated `__init__` alone."""

from __future__ import annotations

import gc
import inspect
import sys
from typing import Any

import pytest

from wirecraft import _fastobj
from wirecraft.craft import (
    ARP,
    AUTO,
    DNS,
    ICMP,
    SLL,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6DestOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Routing,
    Layer,
    Loopback,
    Question,
    Raw,
)

FAST = _fastobj.enabled()  # False under WIRECRAFT_NO_FAST=1: every check is of __init__

LAYERS = [ARP, DNS, ICMP, SLL, SLL2, TCP, UDP, Dot1Q, Ethernet, ICMPv6, IPv4, IPv6,
          IPv6DestOptions, IPv6Fragment, IPv6HopByHop, IPv6Routing, Loopback]


def _state(layer: Layer) -> dict[str, Any]:
    out = {n: getattr(layer, n) for n, _ in type(layer).fields}
    out["payload"] = layer.payload
    out["_resolved"] = layer._resolved
    return out


def _slow(cls: type, **kw: Any) -> Layer:
    """The object type.__call__ makes: object.__new__ and the generated __init__."""
    return type.__call__(cls, **kw)


def _same(a: Layer, b: Layer) -> None:
    assert type(a) is type(b)
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], list):
            assert sa[key] == sb[key] and type(sa[key]) is list
        else:
            assert sa[key] is sb[key] or (sa[key] == sb[key] and isinstance(sa[key], Layer)), key
    assert gc.is_tracked(a) == gc.is_tracked(b)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_every_layer_class_has_the_c_constructor_and_it_matches_init(cls: type) -> None:
    assert _fastobj.c_constructor(cls) is FAST
    _same(cls(), _slow(cls))
    marker = object()
    names = [n for n, _ in cls.fields]
    for name in names:  # each field alone
        _same(cls(**{name: marker}), _slow(cls, **{name: marker}))
    every = {n: object() for n in names}
    _same(cls(**every), _slow(cls, **every))
    top = Raw(b"x")
    _same(cls(payload=top, **{names[-1]: 5}), _slow(cls, payload=top, **{names[-1]: 5}))


def test_list_fields_are_new_lists_and_defaults_are_not_shared() -> None:
    a, b = TCP(), TCP()
    assert a.options == [] and a.options is not b.options
    a.options.append(("mss", 1460))
    assert TCP().options == [] and TCP.fields[-1] == ("options", [])
    mine = [("nop", None)]
    assert TCP(options=mine).options is mine  # a given list is kept, as __init__ keeps it
    d = DNS()
    assert all(getattr(d, n) == [] for n in ("questions", "answers", "authorities",
                                             "additionals"))
    assert d.questions is not DNS().questions


def test_payload_keyword_goes_through_as_layer() -> None:
    inner = UDP()
    assert Ethernet(payload=inner).payload is inner
    raw = Ethernet(payload=b"ab").payload
    assert type(raw) is Raw and raw.load == b"ab"
    assert Ethernet(payload="hi").payload.load == b"hi"
    assert Ethernet(payload=None).payload is None
    with pytest.raises(TypeError, match="cannot stack a int"):
        Ethernet(payload=5)
    assert bytes(Ethernet(payload=b"ab")) == bytes(Ethernet() / b"ab")


def _message(fn: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(TypeError) as err:
        fn(*args, **kw)
    return str(err.value)


def test_bad_calls_raise_what_the_generated_init_raises() -> None:
    for args, kw in [((), {"tll": 3}), ((3,), {}), ((3,), {"ttl": 1}),
                     ((), {"ttl": 1, "payload": b"", "bogus": 2}),
                     ((), {"_keywords_only_": 1})]:
        fast = _message(IPv4, *args, **kw)
        assert fast == _message(type.__call__, IPv4, *args, **kw)
    assert "unexpected keyword argument 'tll'" in _message(IPv4, tll=3)
    assert "keyword arguments only" in _message(UDP, 5)


def test_keywords_that_are_not_interned_strings_still_match() -> None:
    key = "".join(["t", "tl"])
    assert key is not "ttl"  # noqa: F632  # a fresh str object, equal but not identical
    assert IPv4(**{key: 3}).ttl == 3
    assert IPv4(**{"".join(["pay", "load"]): b"z"}).payload.load == b"z"


def test_defaults_keep_their_reference_counts() -> None:
    class Counted(Layer):
        name = "counted_layer"
        fields = (("a", object()), ("b", AUTO))

        def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
            return payload

    default = Counted.fields[0][1]
    given = object()
    before = sys.getrefcount(default), sys.getrefcount(given)
    made = [Counted(b=given) for _ in range(1000)] + [Counted() for _ in range(1000)]
    assert sys.getrefcount(default) == before[0] + 2000
    assert sys.getrefcount(given) == before[1] + 1000
    del made
    assert (sys.getrefcount(default), sys.getrefcount(given)) == before
    assert _fastobj.c_constructor(Counted) is FAST


def test_subclasses_get_their_own_constructor_or_none() -> None:
    class Tagged(UDP):
        name = "tagged_udp"
        fields = (*UDP.fields, ("tag", 7))

        def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
            return UDP._serialize(self, payload, stack, index)

    t = Tagged(dst_port=9)
    assert _fastobj.c_constructor(Tagged) is FAST
    assert t.tag == 7 and t.dst_port == 9 and t.src_port is AUTO
    _same(Tagged(tag=1), _slow(Tagged, tag=1))

    calls = []

    class Own(UDP):
        def __init__(self, port: int = 1, **kw: Any) -> None:
            calls.append(port)
            super().__init__(dst_port=port, **kw)

    assert Own(4).dst_port == 4 and calls == [4] and not _fastobj.c_constructor(Own)
    assert _fastobj.c_constructor(UDP) is FAST  # the parent keeps its own

    class Watched(UDP):
        def __setattr__(self, key: str, value: Any) -> None:
            calls.append(key)
            object.__setattr__(self, key, value)

    calls.clear()
    assert Watched(src_port=1).src_port == 1 and "src_port" in calls
    assert not _fastobj.c_constructor(Watched)

    class Doubled(UDP):
        __slots__ = ("_double",)

        @property
        def src_port(self) -> int:  # type: ignore[override]
            return self._double

        @src_port.setter
        def src_port(self, value: int) -> None:
            self._double = value if value is AUTO else 2 * value

    assert Doubled(src_port=3).src_port == 6 and Doubled().src_port is AUTO
    assert not _fastobj.c_constructor(Doubled)


def test_replacing_init_new_or_setattr_later_takes_effect() -> None:
    class Eth(Ethernet):
        pass

    assert _fastobj.c_constructor(Eth) is FAST and Eth(type=1).type == 1
    seen = []

    def custom(self: Layer, **kw: Any) -> None:
        seen.append(kw)
        Eth._init_fields(self, **kw)

    Eth.__init__ = custom
    assert Eth(type=2).type == 2 and seen == [{"type": 2}]
    del Eth.__init__  # now Ethernet's generated __init__, inherited: still correct
    assert Eth(type=3).type == 3 and len(seen) == 1
    Eth.__init__ = Eth._init_fields
    assert _fastobj.c_constructor(Eth) is FAST and Eth(type=4).type == 4

    class Child(Eth):
        pass

    assert _fastobj.c_constructor(Child) is FAST

    def noisy(self: Layer, key: str, value: Any) -> None:
        seen.append(key)
        object.__setattr__(self, key, value)

    Eth.__setattr__ = noisy  # subclasses inherit it: both lose the C constructor
    seen.clear()
    assert Child(src="02:00:00:00:00:09").src == "02:00:00:00:00:09" and "src" in seen
    assert not Eth.__dict__.get("_c_constructor") and not _fastobj.c_constructor(Child)
    assert _fastobj.c_constructor(Ethernet) is FAST


def test_dns_query_is_the_keyword_form() -> None:
    q = DNS.query("www.example.com", "AAAA", id=0x4242)
    want = DNS(id=0x4242, questions=[Question("www.example.com", "AAAA", "IN")])
    _same(q, want)
    assert q.questions[0] == Question("www.example.com", "AAAA", "IN")
    assert type(q.questions[0]) is Question and bytes(q) == bytes(want)
    assert q.rd == 1 and q.questions is not DNS.query("a.b").questions
    assert DNS.query("a.b").id == 0 and DNS.query("a.b").questions[0].type == "A"
    assert DNS.query("a.b", 15, 3, "CH").questions[0] == Question("a.b", 15, "CH")
    extra = DNS.query("a.b", id=2, rd=0, qr=1)
    _same(extra, DNS(id=2, rd=0, qr=1, questions=[Question("a.b")]))

    class MyDNS(DNS):
        pass

    mine = MyDNS.query("a.b", id=9)
    assert type(mine) is MyDNS and mine.id == 9 and mine.questions == [Question("a.b")]
    assert list(inspect.signature(DNS.query).parameters) == ["name", "type", "id", "rclass",
                                                              "fields"]
    with pytest.raises(TypeError):
        DNS.query("a.b", bogus=1)
    with pytest.raises(TypeError):
        DNS.query()  # type: ignore[call-arg]


def test_one_layer_in_two_stacks_stays_independent() -> None:
    ip = IPv4(src="10.0.0.1", dst="10.0.0.2", ttl=5)
    a = Ethernet() / ip / UDP(dst_port=1)
    b = Ethernet() / ip / UDP(dst_port=2)
    assert ip.payload is None
    assert a.udp.dst_port == 1 and b.udp.dst_port == 2
    a.ipv4.ttl = 9
    assert b.ipv4.ttl == 5 and ip.ttl == 5
