"""The defaults wirecraft.send/sendp fill in, without a network: which fields count as
"not given", what is copied, and the one-line refusals. (The kernel's answers for real:
tests/test_scapy_live.py.)"""

from __future__ import annotations

import pytest

import wirecraft
from wirecraft.craft import ARP, UDP, Dot1Q, Ethernet, IPv4, IPv6
from wirecraft.craft.base import DefaultAddress, is_default
from wirecraft.sending import complete


class FakeTables:
    """Stands in for the kernel's tables; records what was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def source(self, dst: str) -> str:
        self.asked.append(("source", dst))
        return "fd00::a" if ":" in dst else "192.0.2.10"

    def device(self, dst: str) -> str:
        self.asked.append(("device", dst))
        return "veth9"

    def interface_mac(self, iface: str) -> str:
        self.asked.append(("mac", iface))
        return "02:00:00:00:00:0a"

    def destination_mac(self, dst: str) -> str:
        self.asked.append(("neighbour", dst))
        return "02:00:00:00:00:0b"


def test_only_declared_defaults_count_as_not_given() -> None:
    assert is_default(IPv4().src) and is_default(IPv6().src)
    assert is_default(Ethernet().src) and is_default(Ethernet().dst)
    assert not is_default(IPv4(src="127.0.0.1").src)
    assert not is_default(IPv4().dst)
    assert isinstance(IPv4().src, DefaultAddress) and IPv4().src == "127.0.0.1"
    # building keeps the defaults, byte for byte
    assert bytes(IPv4())[12:16] == bytes([127, 0, 0, 1])
    assert bytes(IPv6())[8:24] == bytes(15) + b"\x01"
    assert bytes(Ethernet() / IPv4())[:12] == b"\xff" * 6 + bytes(6)
    assert bytes(IPv4()) == bytes(IPv4(src="127.0.0.1"))
    assert is_default(IPv4().copy().src) and is_default((Ethernet() / IPv4()).ip.src)
    assert repr(IPv4(ttl=3)) == "IPv4(ttl=3)"


def test_complete_fills_a_copy_and_leaves_the_original() -> None:
    tables = FakeTables()
    pkt = Ethernet() / Dot1Q(id=5) / IPv4(dst="198.51.100.7") / UDP(dst_port=9) / b"x"
    done = complete(pkt, "veth9", tables)  # type: ignore[arg-type]
    assert done is not pkt
    assert (done.eth.src, done.eth.dst, done.ip.src) == (
        "02:00:00:00:00:0a", "02:00:00:00:00:0b", "192.0.2.10")
    assert ("neighbour", "198.51.100.7") in tables.asked
    assert is_default(pkt.ip.src) and is_default(pkt.eth.dst)
    decoded = wirecraft.decode(bytes(done))
    assert decoded.ip.src == "192.0.2.10" and decoded.vlan[0].id == 5 and not decoded.problems
    six = complete(IPv6(dst="2001:db8::1") / UDP(), None, tables)  # type: ignore[arg-type]
    assert six.ip.src == "fd00::a"


def test_complete_keeps_what_was_given_and_asks_nothing() -> None:
    tables = FakeTables()
    given = Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv4(
        src="127.0.0.1", dst=bytes([198, 51, 100, 7])) / UDP()
    assert complete(given, "veth9", tables) is given  # type: ignore[arg-type]
    assert tables.asked == []
    # an ARP frame keeps broadcast; only the Ethernet source comes from the interface
    arp = complete(Ethernet() / ARP(target_ip="192.0.2.1"), "veth9", tables)  # type: ignore[arg-type]
    assert (arp.eth.src, arp.eth.dst) == ("02:00:00:00:00:0a", "ff:ff:ff:ff:ff:ff")
    assert tables.asked == [("mac", "veth9")]


def test_refusals_are_one_line() -> None:
    with pytest.raises(wirecraft.WirecraftError, match="send frames with sendp"):
        wirecraft.send(Ethernet() / IPv4(dst="192.0.2.1"))
    with pytest.raises(wirecraft.WirecraftError, match="not int"):
        wirecraft.send([5])
    arp = wirecraft.decode(bytes(Ethernet() / ARP()))
    with pytest.raises(wirecraft.WirecraftError, match="no IP layer: send its frame with sendp"):
        wirecraft.send(arp)
    with pytest.raises(wirecraft.WirecraftError, match="sendp\\(\\) needs iface="):
        wirecraft.sendp(b"\x00" * 60)
    with pytest.raises(wirecraft.WirecraftError, match="without an IP destination"):
        wirecraft.sendp(Ethernet() / ARP())
    with pytest.raises(ValueError, match="pps or inter"):
        wirecraft.sendp(b"\x00" * 60, "lo", pps=5, inter=0.1)
