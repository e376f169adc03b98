"""Answer matching of wirecraft.sr without a network: which captured packets answer which
probes (tests/test_exchange_live.py has the kernel answering for real)."""

from __future__ import annotations

import pytest

import wirecraft
from wirecraft.capture import decode_many
from wirecraft.craft import DNS, ICMP, TCP, UDP, ICMPv6, IPv4, IPv6
from wirecraft.exchange import RAW_IP, _Matcher

A, B, R = "192.0.2.1", "192.0.2.2", "192.0.2.254"


def _decoded(layers: object) -> wirecraft.Packet:
    return wirecraft.decode(bytes(layers), RAW_IP)


def _matcher(probes: list, multi: bool = False) -> _Matcher:
    m = _Matcher(probes, decode_many([bytes(p) for p in probes], RAW_IP), multi)
    m.mark_sent(range(len(probes)))
    return m


def _answered(m: _Matcher) -> dict[int, int]:
    return {i: len(a) for i, a in m.answers.items()}


def test_echo_by_id_and_sequence() -> None:
    m = _matcher([IPv4(src=A, dst=B) / ICMP(id=5, seq=s) for s in range(3)])
    m.offer(_decoded(IPv4(src=B, dst=A) / ICMP(type=0, id=5, seq=2)))
    m.offer(_decoded(IPv4(src=B, dst=A) / ICMP(type=0, id=6, seq=1)))   # another id
    m.offer(_decoded(IPv4(src=A, dst=B) / ICMP(type=8, id=5, seq=1)))   # our own request
    assert _answered(m) == {2: 1}
    assert m.unanswered() == [0, 1]


def test_tcp_needs_the_acknowledgement_of_the_probe() -> None:
    syn = IPv4(src=A, dst=B) / TCP(src_port=1000, dst_port=80, seq=500, flags=0x02)
    m = _matcher([syn])
    m.offer(_decoded(IPv4(src=B, dst=A) / TCP(src_port=80, dst_port=1000, seq=9, ack=777,
                                              flags=0x12)))
    assert not m.answers                                # acknowledges something else
    m.offer(_decoded(IPv4(src=B, dst=A) / TCP(src_port=80, dst_port=1000, seq=9, ack=501,
                                              flags=0x12)))
    assert _answered(m) == {0: 1} and m.all_answered.is_set()


def test_icmp_errors_find_the_probe_they_quote() -> None:
    udp = IPv4(src=A, dst=B, ttl=1) / UDP(src_port=33000, dst_port=33434) / (b"x" * 12)
    tcp = IPv4(src=A, dst=B, ttl=2) / TCP(src_port=33001, dst_port=80, flags=0x02)
    echo6 = IPv6(src="2001:db8::1", dst="2001:db8::2", hop_limit=1) / ICMPv6(id=3, seq=4)
    m = _matcher([udp, tcp, echo6])
    m.offer(_decoded(IPv4(src=R, dst=A) / ICMP(type=11, code=0) / bytes(tcp)[:28]))
    m.offer(_decoded(IPv4(src=B, dst=A) / ICMP(type=3, code=3) / bytes(udp)))
    m.offer(_decoded(IPv6(src="2001:db8::fe", dst="2001:db8::1") / ICMPv6(type=3, code=0)
                     / bytes(echo6)))
    assert _answered(m) == {0: 1, 1: 1, 2: 1}
    assert m.answers[1][0].ip.src == R


def test_dns_by_message_id_and_multi_keeps_every_answer() -> None:
    q = IPv4(src=A, dst=B) / UDP(src_port=5353, dst_port=53) / DNS(id=42)
    m = _matcher([q], multi=True)
    other = IPv4(src=B, dst=A) / UDP(src_port=53, dst_port=5353) / DNS(id=43, qr=1)
    m.offer(_decoded(other))
    assert not m.answers
    right = IPv4(src=B, dst=A) / UDP(src_port=53, dst_port=5353) / DNS(id=42, qr=1)
    m.offer(_decoded(right))
    m.offer(_decoded(right))
    assert _answered(m) == {0: 2}


def test_probes_without_an_identity_or_not_ip_are_refused() -> None:
    with pytest.raises(wirecraft.WirecraftError, match="srp\\(\\) takes Ethernet frames"):
        wirecraft.sr(b"\x45" + b"\0" * 19)
    assert wirecraft.sr([]) == ([], [])
