"""Fast paths of crafting give the bytes of the plain paths (slots, `/` reuse, C build, bulk pcap)."""

from __future__ import annotations

from pathlib import Path

import pytest

import wirecraft
from wirecraft.craft import DNS, UDP, Ethernet, IPv4, Raw
from wirecraft.craft.template import Counter, Template, Values
from wirecraft.writers import PcapWriter


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
