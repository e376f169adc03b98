"""Fast paths of crafting give the bytes of the plain paths (slots, `/` reuse, C build, bulk pcap).

The CPython tricks (wirecraft._fastobj) are on unless WIRECRAFT_NO_FAST=1; every test here
holds either way, and the ones about the tricks check the plain path when they are off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import wirecraft
from wirecraft import _fastobj
from wirecraft.craft import DNS, TCP, UDP, Dot1Q, Ethernet, IPv4, IPv6, Layer, Raw, base
from wirecraft.craft.template import Counter, Template, Values
from wirecraft.writers import PcapWriter

FAST = _fastobj.enabled()


def _frame(ident: int, name: str) -> bytes:
    return bytes(Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53) / DNS.query(name, "A", id=ident))


def test_stacking_never_changes_a_held_operand() -> None:
    e, i = Ethernet(), IPv4(ttl=3)
    both = e / i
    assert e.payload is None and i.payload is None and both.payload is not i
    inner = IPv4(ttl=4)
    top = Ethernet(payload=inner) / UDP()
    assert inner.payload is None and isinstance(top.payload.payload, UDP)
    base = Ethernet() / IPv4()
    a, b = base / UDP(src_port=1), base / UDP(src_port=2)
    assert base.payload.payload is None and a.udp.src_port == 1 and b.udp.src_port == 2


def test_template_varies_dns_name_and_id_like_layers(tmp_path: Path) -> None:
    names = [f"h{i:04d}.example.com" for i in range(50)]
    t = Template(Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53) / DNS.query(names[0], "A", id=0x1234))
    t.vary("dns.id", Counter(0x1234)).vary("dns.name", Values(names))
    fl = t.frame_length
    buf = t.batch(120, 3)
    for k in range(120):
        n = 3 + k
        got = bytes(buf[k * fl:(k + 1) * fl])
        assert got == _frame((0x1234 + n) & 0xFFFF, names[n % 50])
        assert wirecraft.decode(got).problems == []
    with pytest.raises(ValueError):
        t.vary("dns.name", ["much-longer-name.example.com"])
    path = tmp_path / "t.pcap"
    assert t.write(path, 70000, start_ns=1_700_000_000_000_001_500, interval_ns=999) == 70000
    pkts = list(wirecraft.read(path))
    assert len(pkts) == 70000 and pkts[0].time_ns == 1_700_000_000_000_001_500
    assert pkts[-1].time_ns - pkts[0].time_ns == 69999 * 999
    assert pkts[-1].data == _frame((0x1234 + 69999) & 0xFFFF, names[69999 % 50])


def test_write_frames_equals_record_by_record(tmp_path: Path) -> None:
    frames = b"".join(bytes([i]) * 60 for i in range(10))
    for ns in (True, False):
        one, bulk = tmp_path / f"one{ns}.pcap", tmp_path / f"bulk{ns}.pcap"
        with PcapWriter(one, nanosecond=ns, snaplen=40) as w:
            for i in range(10):
                w.write(frames[i * 60:(i + 1) * 60], 5_000_000_123 + i * 777)
        with PcapWriter(bulk, nanosecond=ns, snaplen=40) as w:
            assert w.write_frames(frames, 60, 5_000_000_123, 777) == 10
        assert one.read_bytes() == bulk.read_bytes()


def test_slots_refuse_unknown_fields_and_positional_arguments() -> None:
    with pytest.raises(TypeError):
        IPv4(tll=3)
    with pytest.raises(TypeError):
        UDP(5)
    with pytest.raises(AttributeError):
        Ethernet().tll = 3  # type: ignore[attr-defined]
    assert bytes(Raw(b"ab") / b"cd") == b"abcd"


def test_the_switch_picks_one_implementation_of_each_trick() -> None:
    assert FAST is (os.environ.get("WIRECRAFT_NO_FAST", "") in ("", "0"))
    assert (Layer.__truediv__ is _fastobj.stack) is FAST
    assert (Layer.__truediv__ is base._copying_truediv) is not FAST
    assert (Layer._clone is _fastobj.clone) is FAST
    assert (Layer._clone is base._plain_clone) is not FAST
    assert ("_c_constructor" in IPv4.__dict__) is FAST
    assert (_fastobj.offset_of(IPv4, "ttl") > 0) is FAST
    if not FAST:
        assert base._RC_SELF == base._RC_OTHER == base._RC_CHAIN == 0
        with pytest.raises(RuntimeError, match="WIRECRAFT_NO_FAST"):
            _fastobj.clone(IPv4())


class _Counting(Ethernet):
    """Ethernet that counts the copies `/` makes of it."""

    copies: list[int] = []

    def copy(self, **changes: Any) -> Layer:
        _Counting.copies.append(1)
        return super().copy(**changes)


def test_stacking_reuses_temporaries_only_with_the_tricks_on() -> None:
    _Counting.copies.clear()
    top = _Counting(type=0x0800) / IPv4(ttl=9)
    assert len(_Counting.copies) == (0 if FAST else 1)
    assert type(top) is _Counting and top.ipv4.ttl == 9 and top.type == 0x0800
    held = _Counting()
    _Counting.copies.clear()
    both = held / UDP()
    assert len(_Counting.copies) == 1 and held.payload is None and both is not held


def _fields(layer: Layer) -> dict[str, Any]:
    out = {n: getattr(layer, n) for n, _ in type(layer).fields}
    out["payload"], out["_resolved"] = layer.payload, layer._resolved
    return out


@pytest.mark.parametrize("make", [
    lambda: Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02"),
    lambda: IPv4(src="10.0.0.1", ttl=3, options=b"\x01\x01\x01\x01"),
    lambda: IPv6(dst="::1"),
    lambda: TCP(flags="S", options=[("mss", 1460)]),
    lambda: Dot1Q(id=7),
    lambda: DNS.query("a.example", "AAAA", id=5),
    lambda: Raw(b"xyz"),
], ids=["eth", "ipv4", "ipv6", "tcp", "dot1q", "dns", "raw"])
def test_plain_clone_equals_the_offset_clone(make: Any) -> None:
    layer = make() / Raw(b"up")
    bytes(layer)  # _resolved set
    plain = base._plain_clone(layer)
    assert plain.payload is None and plain._resolved is None
    want = _fields(layer) | {"payload": None, "_resolved": None}
    for name, value in _fields(plain).items():
        assert value == want[name], name
        if isinstance(value, list):
            assert value is not want[name]  # list fields are copied
        else:
            assert value is want[name]
    if FAST:
        fast = _fastobj.clone(layer)
        assert _fields(fast) == _fields(plain) and type(fast) is type(plain)


_PROBE = """
import sys
from wirecraft import _fastobj
from wirecraft.craft import DNS, UDP, Ethernet, IPv4, Layer, base
f = (Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv4(src="10.0.0.1",
     dst="10.0.0.2", id=7) / UDP(src_port=5353) / DNS.query("x.example", id=3))
print(_fastobj.enabled(), "_c_constructor" in IPv4.__dict__, Layer.__truediv__ is
      base._copying_truediv, _fastobj.offset_of(UDP, "length"), bytes(f).hex())
"""


@pytest.mark.parametrize("off", ["1", "0"])
def test_a_fresh_interpreter_honours_the_switch(off: str) -> None:
    env = dict(os.environ, WIRECRAFT_NO_FAST=off)
    line = subprocess.run([sys.executable, "-c", _PROBE], env=env, check=True,
                          capture_output=True, text=True).stdout.split()
    plain = off == "1"
    assert line[:3] == [str(not plain), str(not plain), str(plain)]
    assert (line[3] == "0") is plain
    want = bytes(Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7) / UDP(src_port=5353)
                 / DNS.query("x.example", id=3)).hex()
    assert line[4] == want
