"""The batch decoder: per-packet vs batch agreement, every prefix of real frames, dpkt cross-check."""

from __future__ import annotations

import random
import socket
import warnings

import numpy as np
import pytest
from decodecheck import check_bounds

import wirecraft
from wirecraft.capture import decode_many
from wirecraft.table import RECORD_DTYPE, Table

from conftest import capture_files

SAMPLES = [p for p in capture_files() if "truncated_dns" not in p.name]


def all_packets(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(wirecraft.read(path))


def record_of(pkt) -> np.ndarray:
    raw = pkt.batch.record_bytes()
    rec = np.frombuffer(raw, dtype=RECORD_DTYPE)[pkt.position].copy()
    return rec


def comparable(rec: np.ndarray) -> tuple:
    """Every decoded field (not where the frame sat or when it was seen)."""
    skip = {"frame_offset", "index", "ts_ns", "iface"}
    return tuple(bytes(rec[n]) if n in ("ip_src", "ip_dst") else rec[n].item()
                 for n in RECORD_DTYPE.names if n not in skip)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_single_frame_decode_equals_batch_decode(path) -> None:
    for pkt in all_packets(path):
        one = wirecraft.decode(pkt.data, pkt.linktype, wire_len=pkt.wire_len)
        assert comparable(record_of(one)) == comparable(record_of(pkt)), pkt.index


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_columns_equal_packet_views(path) -> None:
    pkts = all_packets(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = wirecraft.open(path).table()
    assert len(t) == len(pkts)
    ip_src = t.text("ip_src")
    for i, pkt in enumerate(pkts):
        assert t["wire_len"][i] == pkt.wire_len
        assert ip_src[i] == (pkt.ip.src or "" if pkt.ip is not None else ""), i
        if pkt.tcp is not None:
            assert (t["tcp_src_port"][i], t["tcp_dst_port"][i]) == (pkt.tcp.src_port, pkt.tcp.dst_port)
            # a field a cut header did not carry is None in the view, 0 in the column
            assert t["tcp_seq"][i] == (pkt.tcp.seq or 0)
            assert t["tcp_flags"][i] == (pkt.tcp.flags or 0)
            assert t["udp_dst_port"][i] == 0
        if pkt.udp is not None:
            assert t["udp_dst_port"][i] == pkt.udp.dst_port and t["tcp_dst_port"][i] == 0
        if pkt.eth is not None:
            assert t.text("eth_src")[i] == pkt.eth.src
        assert bool(t["truncated"][i]) == (pkt.stop_reason in ("truncated header", "truncated payload"))


def test_batches_stream_and_concatenate(captures_dir) -> None:
    path = captures_dir / "zeek__var-services-std-ports.pcap"
    with wirecraft.open(path, batch_size=50) as cap:
        parts = list(cap.batches())
    assert [len(b) for b in parts][:5] == [50] * 5
    whole = wirecraft.open(path, batch_size=64).table()      # several batches joined
    assert len(whole) == sum(len(b) for b in parts)
    assert np.array_equal(np.concatenate([b["tcp_dst_port"] for b in parts]), whole["tcp_dst_port"])
    assert [p.index for p in parts[1].packets()][:2] == [50, 51]


def test_table_conversions(captures_dir) -> None:
    t = wirecraft.open(captures_dir / "zeek__wikipedia.pcap").table()
    df = t.to_pandas()
    assert len(df) == len(t) and df["ip_src"].iloc[0] == t.text("ip_src")[0]
    at = t.to_arrow(addresses="binary")
    assert at.num_rows == len(t) and at.schema.field("ip_src").type.byte_width == 16
    pl = t.to_polars()
    assert pl.height == len(t)
    assert t.value_counts("ip_protocol")[6] == int((t["ip_protocol"] == 6).sum())
    with pytest.raises(KeyError):
        t["no_such_column"]


def frames_from(paths) -> list[tuple[bytes, int]]:
    out = []
    for p in paths:
        for pkt in all_packets(p)[:8]:
            out.append((pkt.data, pkt.linktype))
    return out


PREFIX_FRAMES = frames_from([p for p in SAMPLES if p.name in {
    "zeek__smtp.pcap", "zeek__icmp_dot1q.pcap", "zeek__linux_dlt_sll2.pcap",
    "libpcap__ipv6_ext_headers.pcap", "tcpdump__icmpv6.pcap", "zeek__dns__mdns.pcap",
    "zeek__http-vlan-0.pcap", "zeek__ipv6-fragmented-dns.pcap", "tcpdump__tcp-handshake-nano.pcap"}])


def test_every_prefix_decodes_and_reports_where_it_stopped() -> None:
    order = ["link", "vlan", "arp", "network", "transport", "payload"]
    checked = 0
    for frame, lt in PREFIX_FRAMES:
        full = wirecraft.decode(frame, lt)
        for k in range(len(frame)):
            pkt = wirecraft.decode(frame[:k], lt, wire_len=len(frame))
            assert pkt.caplen == k
            # never deeper than the whole frame, and truncation is reported, not hidden
            assert order.index(pkt.stop_layer) <= order.index(full.stop_layer) + 1
            if pkt.stop_reason not in ("unsupported", "non-first fragment"):
                assert pkt.truncated, (frame.hex(), k, pkt.stop_layer, pkt.stop_reason)
            if k < 14 and lt == 1:
                assert (pkt.stop_layer, pkt.stop_reason) == ("link", "truncated header")
            ip = full.ip
            if ip is not None and full.tcp is not None:
                l4 = full.tcp.packet.payload_offset - full.tcp.header_length
                if full.eth is not None and 14 + 4 * len(full.vlan or []) + 20 <= k < l4 + 20 \
                        and ip.version == 4 and ip.header_length == 20 and k >= l4:
                    assert pkt.stop_layer == "transport" and pkt.stop_reason == "truncated header"
            assert len(pkt.payload) <= k
            check_bounds(pkt)
            checked += 1
    assert checked > 5000


def random_frames(n: int, seed: int = 7) -> list[bytes]:
    """Frames built with scapy: Ethernet, optional VLAN, IPv4/IPv6, TCP/UDP/ICMP."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.packet import Raw

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pkt = Ether(src=rng.randbytes(6).hex(":"), dst=rng.randbytes(6).hex(":"))
        if rng.random() < 0.3:
            pkt = pkt / Dot1Q(vlan=rng.randrange(4096), prio=rng.randrange(8))
        if rng.random() < 0.7:
            pkt = pkt / IP(src=socket.inet_ntoa(rng.randbytes(4)), dst=socket.inet_ntoa(rng.randbytes(4)),
                           ttl=rng.randrange(1, 256), id=rng.randrange(65536),
                           flags=rng.choice([0, 2]))
        else:
            pkt = pkt / IPv6(src=socket.inet_ntop(socket.AF_INET6, rng.randbytes(16)),
                             dst=socket.inet_ntop(socket.AF_INET6, rng.randbytes(16)),
                             hlim=rng.randrange(256), fl=rng.randrange(1 << 20))
        kind = rng.randrange(3)
        if kind == 0:
            pkt = pkt / TCP(sport=rng.randrange(65536), dport=rng.randrange(65536),
                            seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32),
                            flags=rng.randrange(256), window=rng.randrange(65536),
                            options=rng.choice([[], [("MSS", 1460)], [("NOP", None), ("WScale", 7)]]))
        elif kind == 1:
            pkt = pkt / UDP(sport=rng.randrange(65536), dport=rng.randrange(65536))
        elif IP in pkt:
            pkt = pkt / ICMP(type=rng.choice([0, 8, 3]), code=0)
        else:
            pkt = pkt / UDP(sport=53, dport=rng.randrange(65536))
        out.append(bytes(pkt / Raw(rng.randbytes(rng.randrange(0, 200)))))
    return out


def test_agrees_with_dpkt_on_generated_traffic() -> None:
    import dpkt

    frames = random_frames(400)
    batch = decode_many(frames)
    t = Table.from_batches([batch])
    for i, (frame, pkt) in enumerate(zip(frames, batch, strict=True)):
        eth = dpkt.ethernet.Ethernet(frame)
        assert pkt.eth.src == eth.src.hex(":") and pkt.eth.dst == eth.dst.hex(":")
        if getattr(eth, "vlan_tags", None):
            assert [v.id for v in pkt.vlan] == [v.id for v in eth.vlan_tags]
        ip = eth.data
        if isinstance(ip, dpkt.ip.IP):
            assert (pkt.ip.src, pkt.ip.dst) == (socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst))
            assert (pkt.ip.ttl, pkt.ip.id, pkt.ip.total_length) == (ip.ttl, ip.id, ip.len)
        else:
            assert isinstance(ip, dpkt.ip6.IP6)
            assert pkt.ip.src == socket.inet_ntop(socket.AF_INET6, ip.src)
            assert (pkt.ip.hop_limit, pkt.ip.flow_label) == (ip.hlim, ip.flow)
        l4 = ip.data
        if isinstance(l4, dpkt.tcp.TCP):
            assert (pkt.tcp.src_port, pkt.tcp.dst_port, pkt.tcp.seq, pkt.tcp.ack) == \
                (l4.sport, l4.dport, l4.seq, l4.ack)
            assert (pkt.tcp.flags & 0xFF, pkt.tcp.window) == (l4.flags, l4.win)
            assert pkt.payload == bytes(l4.data)
            assert dict(pkt.tcp.options).get("mss") == (1460 if b"\x02\x04\x05\xb4" in l4.opts else None)
        elif isinstance(l4, dpkt.udp.UDP):
            assert (pkt.udp.src_port, pkt.udp.dst_port, pkt.udp.length) == (l4.sport, l4.dport, l4.ulen)
            assert pkt.payload == bytes(l4.data)
            assert t["udp_dst_port"][i] == l4.dport
        elif isinstance(l4, dpkt.icmp.ICMP):
            assert (pkt.icmp.type, pkt.icmp.code) == (l4.type, l4.code)
        assert pkt.problems == [], pkt.problems
        sums = pkt.verify_checksums()
        assert all(v is True for v in sums.values()), sums
        bad = bytearray(frame)
        bad[-1] ^= 0xFF if len(pkt.payload) else 0
        if len(pkt.payload):
            assert False in wirecraft.decode(bytes(bad)).verify_checksums().values()


def test_address_text_cache_never_mixes_hosts() -> None:
    """Address text comes from a small per-host cache: many hosts that share cache slots,
    asked for in shuffled order and again, each give their own text."""
    import struct

    def raw_ipv4(src: bytes, dst: bytes) -> bytes:
        udp = struct.pack("!HHHH", 1000, 2000, 9, 0) + b"x"
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                           src, dst) + udp

    rng = random.Random(7)
    hosts4 = [rng.getrandbits(32).to_bytes(4, "big") for _ in range(3000)]
    frames = [raw_ipv4(a, hosts4[-1 - i]) for i, a in enumerate(hosts4)]
    batch = wirecraft._core.batch_from_buffer(
        b"".join(frames), list(np.cumsum([0] + [len(f) for f in frames[:-1]])),
        [len(f) for f in frames], [len(f) for f in frames], [0] * len(frames), 101)
    order = list(range(len(frames))) * 2
    rng.shuffle(order)
    for i in order:
        ip = batch[i].ip
        assert ip.src == socket.inet_ntoa(hosts4[i])
        assert ip.dst == socket.inet_ntoa(hosts4[-1 - i])
    from wirecraft._core import ipv6_text

    hosts6 = [struct.pack("!QQ", 0x20010DB8 << 32, rng.getrandbits(64)) for _ in range(3000)]
    hosts6 += [struct.pack("!QQ", rng.getrandbits(64), 1) for _ in range(3000)]
    for a in hosts6 + hosts6[::-1]:
        assert ipv6_text(a) == socket.inet_ntop(socket.AF_INET6, a)


@pytest.mark.parametrize("name", ["zeek__smtp.pcap", "zeek__dns__mdns.pcap", "zeek__icmp_dot1q.pcap",
                                  "tcpdump__icmpv6.pcap", "zeek__wikipedia.pcap"])
def test_fast_attribute_path_equals_the_properties(captures_dir, name) -> None:
    """Hot attributes (pkt.ip, ip.src, tcp.src_port, ...) have a fast path keyed on interned
    names; asking with a freshly built string goes the generic way: both must agree."""
    path = captures_dir / name

    def slow(obj, attr: str):
        return getattr(obj, "".join(list(attr)))  # a new, non-interned str

    seen = 0
    for pkt in wirecraft.read(path):
        for layer in ("ip", "tcp", "udp", "vlan", "arp", "icmp", "icmpv6"):
            fast, generic = getattr(pkt, layer), slow(pkt, layer)
            assert type(fast) is type(generic)
            if layer == "vlan":
                assert fast == generic
        ip = pkt.ip
        if ip is not None:
            seen += 1
            assert (ip.src, ip.dst, ip.version) == (slow(ip, "src"), slow(ip, "dst"),
                                                     slow(ip, "version"))
            assert ip.version == (4 if pkt.has("ipv4") else 6)
        l4 = pkt.tcp or pkt.udp
        if l4 is not None:
            assert (l4.src_port, l4.dst_port) == (slow(l4, "src_port"), slow(l4, "dst_port"))
    assert seen
    with pytest.raises(AttributeError):
        pkt.no_such_layer  # noqa: B018
    assert hasattr(pkt, "ip") and not hasattr(pkt, "ipx")
