"""Display filters: properties of the language (hypothesis) and the vectorised path
against the per-packet one.

* `not E` selects the complement of E, `A and B` the intersection, `A or B` the union,
  `A xor B` the symmetric difference, for random trees over vectorised and per-packet
  tests alike;
* a tree evaluated over whole columns selects what Packet.matches selects one packet at
  a time;
* every field the filters read from record slots gives, row by row, the values and the
  presence that `wirecraft.proto.value` (the one decoder's per-packet path) gives.
"""

from __future__ import annotations

import ipaddress
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecraft
import wirecraft.proto as proto
from wirecraft.display import compile as compile_filter
from wirecraft.display._compile import Compiler, SlotField

from conftest import CAPTURES

MIXED = CAPTURES / "zeek__var-services-std-ports.pcap"

# atoms over MIXED: vectorised ones (record slots) and per-packet ones (DNS, options)
ATOMS = [
    "tcp", "udp", "ipv6", "arp", "dns", "frame", "ip.ttl <= 64", "ip.ttl >= 128",
    "tcp.port == 22", "udp.port in {53 5353}", "tcp.flags.syn == 1", "tcp.flags.ack == 0",
    "ip.addr == 172.16.238.0/24", "ip.addr != 172.16.238.1", "ip.addr ~= 172.16.238.1",
    "ip.addr === 172.16.238.0/24",
    "frame.len > 200", "frame.number in {1..50 100..120}", "tcp.len > 0",
    "frame.time_relative < 5", "frame.time_delta > 0.01", "eth.src[0:3] == 00:50:56",
    "eth.addr == ff:ff:ff:ff:ff:ff", "ipv6.addr == fe80::/10", "tcp.flags & 0x12",
    "dns.flags.response == 1", "dns.qry.name contains \"local\"", "dns.qry.type == 1",
    "dns.count.answers > 0", "dns.qry.name matches \"IN-ADDR\\\\.arpa$\"",
    "tcp.options.mss_val == 1460",
    "tcp.options.sack_perm", "udp.length < 100", "ipv6.src == fe80::/10", "frame contains \"SSH\"",
]


@cache
def _batch() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return next(wirecraft.open(MIXED).raw_batches(1 << 16))


def _mask(expr: str) -> np.ndarray:
    return compile_filter(expr).batch_mask(_batch())


def trees() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(ATOMS)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " && ", " or ", " || ", " xor "]), inner
                  ).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        inner.map(lambda e: f"not ({e})"),
        inner.map(lambda e: f"!({e})")), max_leaves=6)


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_atoms_select_something_and_not_everything() -> None:
    n = len(_batch())
    for a in ATOMS:
        if a == "frame":
            continue
        k = int(_mask(a).sum())
        assert 0 < k < n, (a, k)


@SETTINGS
@given(trees())
def test_not_is_the_complement(e: str) -> None:
    assert (_mask(f"not ({e})") == ~_mask(e)).all()
    assert (_mask(f"!({e})") == ~_mask(e)).all()


@SETTINGS
@given(trees(), trees())
def test_junctions_are_set_operations(a: str, b: str) -> None:
    ma, mb = _mask(a), _mask(b)
    assert (_mask(f"({a}) and ({b})") == (ma & mb)).all()
    assert (_mask(f"({a}) && ({b})") == (ma & mb)).all()
    assert (_mask(f"({a}) or ({b})") == (ma | mb)).all()
    assert (_mask(f"({a}) || ({b})") == (ma | mb)).all()
    assert (_mask(f"({a}) xor ({b})") == (ma ^ mb)).all()
    # precedence: and binds tighter than or
    assert (_mask(f"({a}) or ({b}) and tcp") == (ma | (mb & _mask("tcp")))).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_columns_and_single_packets_agree(e: str) -> None:
    batch = _batch()
    f = compile_filter(e)
    got = f.batch_mask(batch)
    # one packet at a time (its record alone, times within the batch)
    one = np.array([f.matches(batch[i]) for i in range(len(batch))])
    assert (got == one).all()


def test_set_membership_is_a_disjunction() -> None:
    # a one-valued field: a range is both bounds on the one value
    assert (_mask("tcp.dstport in {22 80 443..445 6000 .. 7000}") == (
        _mask("tcp.dstport == 22") | _mask("tcp.dstport == 80")
        | (_mask("tcp.dstport >= 443") & _mask("tcp.dstport <= 445"))
        | (_mask("tcp.dstport >= 6000") & _mask("tcp.dstport <= 7000")))).all()
    # two values (either port): some value lies in the range
    assert (_mask("tcp.port in {40000..50000}") == (
        _mask("tcp.srcport in {40000..50000}") | _mask("tcp.dstport in {40000..50000}"))).all()
    assert (_mask("tcp.port not in {22 80}") == ~_mask("tcp.port in {22, 80}")).all()


def test_all_not_equal_is_present_and_no_value_equal() -> None:
    # tshark 4: `!=` is all_ne, `~=` any_ne; both false where the field is absent
    ne, any_ne, eq = (_mask("ip.addr != 172.16.238.1"), _mask("ip.addr ~= 172.16.238.1"),
                      _mask("ip.addr == 172.16.238.1"))
    has = _mask("ip")
    assert (ne == (has & ~eq)).all()
    assert (any_ne & ~has).sum() == 0 and (ne & ~any_ne).sum() == 0
    assert (_mask("!(ip.addr == 172.16.238.1)") == ~eq).all()


# ---------------------------------------------------------------- columns vs value()

CONSISTENCY = [CAPTURES / n for n in (
    "zeek__var-services-std-ports.pcap", "zeek__icmp_dot1q.pcap", "zeek__linux_dlt_sll2.pcap",
    "zeek__trunc__ip4-trunc.pcap", "libpcap__ipv6_ext_headers.pcap",
    "tcpdump__tcp_header_heapoverflow.pcap", "zeek__ipv4__fragmented-1.pcap",
    "tcpdump__ipv6_invalid_length.pcap", "zeek__tls__irc-starttls.pcap",
    "tcpdump__icmpv6.pcap")]


def _slot_fields() -> list[str]:
    c = Compiler("")
    return sorted(n for n in proto.FIELDS if isinstance(c.resolve(n, 1), SlotField))


def _as_int(kind: str, v: Any) -> int:
    if kind == "ether":
        return int(v.replace(":", ""), 16)
    if kind in ("ipv4", "ipv6"):
        return int(ipaddress.ip_address(v))
    return int(v)


@pytest.mark.parametrize("path", CONSISTENCY, ids=lambda p: p.name)
def test_slot_fields_match_the_per_packet_values(path: Path) -> None:
    names = _slot_fields()
    assert {"ip.src", "ipv6.dst", "tcp.flags.syn", "eth.src", "vlan.id"} <= set(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = next(wirecraft.open(path).raw_batches(1 << 16))
    from wirecraft.display._compile import Context
    from wirecraft.table import RECORD_DTYPE
    rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
    ctx = Context("", rec, batch.__getitem__)
    for name in names:
        op = Compiler("").resolve(name, 1)
        assert op is not None
        rows = op.rows(ctx, np.arange(len(rec)))
        for i, got in enumerate(rows):
            v = proto.value(batch[i], name)
            want = [] if v is None else [_as_int(op.kind, v)]
            assert got == want, (path.name, i + 1, name, got, v)


@pytest.mark.parametrize("path", [CAPTURES / n for n in (
    "zeek__var-services-std-ports.pcap", "zeek__smtp.pcap", "libpcap__ipv6_ext_headers.pcap",
    "tcpdump__edns-opts.pcap", "zeek__dns__mdns.pcap")], ids=lambda p: p.name)
def test_per_packet_reads_are_proto_value(path: Path) -> None:
    """Fields without a slot are read with the steps of proto.value bound once per field:
    the same value as proto.value, for every such field and packet."""
    from wirecraft.display._compile import PacketField

    c = Compiler("")
    ops = [op for n in proto.FIELDS if isinstance(op := c.resolve(n, 1), PacketField)]
    assert {"dns.qry.name", "smtp.req.command", "tcp.options.mss_val"} <= {o.name for o in ops}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        packets = list(wirecraft.read(path))
    for op in ops:
        for pkt in packets:
            assert op._get(pkt) == proto.value(pkt, op.name), (path.name, pkt.index, op.name)
