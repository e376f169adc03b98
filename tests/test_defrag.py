"""IP defragmentation (wirecraft.defrag): tshark's reassembled payloads on the captures,
crafted fragment sets in every order, overlaps by policy, and every cap counted with no
frame lost."""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path

import pytest

import wirecraft
from wirecraft.capture import batch_from_buffer, decode_many
from wirecraft.craft import UDP, Ethernet, IPv4, IPv6, IPv6HopByHop, Raw, fragment
from wirecraft.defrag import Defragmenter

from conftest import require_tool

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
FRAGMENTED = ["zeek__ipv4__fragmented-1.pcap", "zeek__ipv6-fragmented-dns.pcap"]
PAYLOAD = bytes(range(256)) * 6


def _v4(**kw: object) -> object:
    return Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=77, **kw) / UDP(
        src_port=1000, dst_port=53) / PAYLOAD


def _v6() -> object:
    return Ethernet() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6HopByHop() / UDP(
        src_port=1000, dst_port=53) / PAYLOAD


def _run(frames: list[bytes], times: list[int] | None = None, **caps: object) -> tuple:
    """Every packet out of a Defragmenter fed the frames as one batch, and its stats."""
    if times is None:
        b = decode_many(frames, 1)
    else:
        offsets, pos = [], 0
        for f in frames:
            offsets.append(pos)
            pos += len(f)
        lens = [len(f) for f in frames]
        b = batch_from_buffer(b"".join(frames), offsets, lens, lens, times, 1)
    d = Defragmenter(**caps)
    out = [p for batch in d.batches([b]) for p in batch]
    return out, d.stats


# ---------------------------------------------------------------- tshark as the oracle

@pytest.mark.parametrize("name", FRAGMENTED)
def test_captures_give_tsharks_reassembled_payloads(name: str) -> None:
    tshark = require_tool("tshark")
    path = CAPTURES / name
    # the frame that completes a datagram counts its fragments (ip/ipv6.fragment.count)
    r = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "frame.number",
                        "-e", "ip.fragment.count", "-e", "ipv6.fragment.count",
                        "-e", "ip.reassembled.data", "-e", "ipv6.reassembled.data"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    reassembled_at: dict[int, int] = {}
    payload: dict[int, str] = {}
    for line in r.stdout.splitlines():
        number, in4, in6, data4, data6 = (line.split("\t") + ["", "", "", ""])[:5]
        for where in (in4, in6):
            if where:
                reassembled_at[int(number)] = int(where)
        payload[int(number)] = (data4 or data6).replace(":", "")
    ours = list(wirecraft.read(path, defrag=True))
    # every frame read comes out once: inside a datagram or as itself
    covered = sorted(i for p in ours for i in (p.defrag.frames if p.defrag else (p.index,)))
    assert covered == list(range(len(payload)))
    made = {p.index + 1: p for p in ours if p.defrag is not None and p.defrag.reassembled}
    assert set(made) == set(reassembled_at)
    for number, pkt in made.items():
        assert len(pkt.defrag.frames) == reassembled_at[number]
        assert pkt.defrag.frames[-1] <= number - 1
        # the datagram's payload: what ends the frame put together
        whole = bytes.fromhex(payload[number])
        assert whole
        if "overlap_conflict" in pkt.defrag.flags:
            # where overlapping fragments disagree, tshark keeps the bytes of the one with
            # the lower offset and wirecraft those that came first (its documented IPv4
            # policy, as its TCP reassembler's): same length, both flag the conflict
            assert len(pkt.data) >= len(whole)
            assert {"overlap", "overlap_conflict", "too_long"} <= set(pkt.defrag.flags)
            continue
        assert pkt.data[-len(whole):] == whole, number
        assert "ip_fragment" not in pkt.problems
    for p in ours:
        if p.defrag is not None and not p.defrag.reassembled:
            assert p.index + 1 not in reassembled_at and p.defrag.reason


def test_fragmented_dns_answer_is_decoded_whole() -> None:
    path = CAPTURES / "zeek__ipv6-fragmented-dns.pcap"
    rows = {t["trans_id"]: t for t in wirecraft.dns.transactions(path)}
    big = rows[0x9F91]
    assert big["problems"] == []
    assert big["answers"][0].startswith('"This TXT record should be ignored"')
    # the raw per-frame read still shows each fragment as a frame
    assert sum(1 for _ in wirecraft.read(path)) == 8


# ---------------------------------------------------------------- crafted sets

def test_fragment_sizes_and_fields() -> None:
    frags = fragment(_v4(), mtu=576)
    assert all(len(bytes(f)) - 14 <= 576 for f in frags)
    pkts = [wirecraft.decode(bytes(f)) for f in frags]
    assert [p.ip.frag_offset for p in pkts] == [k * 552 for k in range(len(pkts))]
    assert [p.ip.flags & 1 for p in pkts] == [1] * (len(pkts) - 1) + [0]
    assert {p.ip.id for p in pkts} == {77}
    assert fragment(_v4(), mtu=9000) == [fragment(_v4(), mtu=9000)[0]]


@pytest.mark.parametrize("family", [4, 6])
def test_every_order_with_duplicates_gives_the_datagram(family: int) -> None:
    whole = _v4() if family == 4 else _v6()
    frags = [bytes(f) for f in fragment(whole, mtu=600)]
    assert len(frags) >= 3
    original = wirecraft.decode(bytes(whole))
    for order in itertools.islice(itertools.permutations(range(len(frags))), 0, None, 37):
        sent = [frags[k] for k in order] + [frags[order[0]]]       # one duplicate at the end
        out, stats = _run(sent)
        made = [p for p in out if p.defrag is not None and p.defrag.reassembled]
        assert len(made) == 1, order
        got = made[0]
        if family == 4:
            assert got.data == bytes(whole)                        # byte for byte
        else:
            assert got.payload == original.payload and got.udp.length == original.udp.length
            assert got.ip.payload_length == original.ip.payload_length + 8  # atomic header
        assert len(got.defrag.frames) == len(frags)
        assert set(got.defrag.frames) <= set(range(len(sent)))
        # the duplicate that came after completion starts a datagram that never ends
        left = [p for p in out if p.defrag is not None and not p.defrag.reassembled]
        assert [p.defrag.reason for p in left] == ["incomplete"]
        assert stats["reassembled"] == 1


def test_missing_piece_hands_the_fragments_back_at_the_end() -> None:
    frags = [bytes(f) for f in fragment(_v4(), mtu=600)]
    out, stats = _run(frags[:1] + frags[2:])
    assert all(not p.defrag.reassembled and p.defrag.reason == "incomplete" for p in out)
    assert len(out) == len(frags) - 1 and stats["incomplete"] == 1


def _cut(whole: object, cuts: list[tuple[int, int, bytes | None]]) -> list[bytes]:
    """IPv4 fragments of `whole`'s payload at (offset, length, replacement bytes)."""
    ip = bytes(whole)[14:]
    body = ip[20:]
    out = []
    for off, n, data in cuts:
        more = off + n < len(body)
        chunk = data if data is not None else body[off:off + n]
        out.append(bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=77,
                                          protocol=17, frag_offset=off,
                                          flags=1 if more else 0) / Raw(chunk)))
    return out


def test_ipv4_overlap_first_wins_and_conflicts_are_flagged() -> None:
    whole = _v4()
    n = len(bytes(whole)) - 14 - 20
    same = _cut(whole, [(0, 512, None), (256, 512, None), (512, n - 512, None)])
    out, stats = _run(same)
    (got,) = out
    assert got.data == bytes(whole) and got.defrag.flags == ("overlap",)
    # a later copy with other bytes: the first ones are kept, the datagram flagged
    evil = _cut(whole, [(0, 512, None), (256, 256, b"\xee" * 256), (512, n - 512, None)])
    out, stats = _run(evil)
    (got,) = out
    assert got.data == bytes(whole)
    assert set(got.defrag.flags) == {"overlap", "overlap_conflict"}
    assert stats["overlap_conflicts"] == 1


def test_ipv6_overlap_drops_the_whole_datagram() -> None:
    frags = fragment(_v6(), mtu=600)
    raw = [bytes(f) for f in frags]
    # a fragment re-cut to overlap its neighbour (RFC 5722)
    shifted = frags[1].copy()
    shifted.getlayer("ipv6_fragment").frag_offset -= 8
    out, stats = _run(raw[:1] + [bytes(shifted)] + raw[1:])
    assert not any(p.defrag.reassembled for p in out)
    assert {p.defrag.reason for p in out} == {"ipv6_overlap"}
    assert len(out) == len(raw) + 1 and stats["ipv6_overlap_dropped"] >= 1


def test_oversize_and_out_of_window_fragments() -> None:
    head = _cut(_v4(), [(0, 512, None)])
    last = bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=77, protocol=17,
                                   frag_offset=65528, flags=0) / Raw(b"x" * 64))
    out, stats = _run(head + [last])
    assert [p.defrag.reason for p in out] == ["oversize", "oversize"]
    assert stats["oversize"] == 1


def test_a_fragment_cut_by_the_snaplen_hands_its_datagram_back() -> None:
    frags = [bytes(f) for f in fragment(_v4(), mtu=600)]
    offsets, pos, caplens = [], 0, []
    data = b""
    for i, f in enumerate(frags):
        keep = len(f) - 100 if i == 1 else len(f)       # the middle one captured short
        offsets.append(pos)
        caplens.append(keep)
        data += f[:keep]
        pos += keep
    b = batch_from_buffer(data, offsets, caplens, [len(f) for f in frags],
                          [1_700_000_000 * 10**9 + i for i in range(len(frags))], 1)
    d = Defragmenter()
    out = [p for batch in d.batches([b]) for p in batch]
    assert sorted(p.index for p in out) == list(range(len(frags)))
    assert all(not p.defrag.reassembled for p in out)
    # the datagram is given up at the cut fragment (with the one before it); the last one
    # starts a datagram of its own, which the end of the input finds incomplete
    assert {p.index: p.defrag.reason for p in out} == {0: "fragment_cut", 1: "fragment_cut",
                                                        2: "incomplete"}
    assert out[[p.index for p in out].index(1)].data == frags[1][:-100]
    assert d.stats["cut"] == 1 and d.stats["reassembled"] == 0 and d.stats["held"] == 0


def test_tiny_first_fragment_is_flagged() -> None:
    whole = Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=5, protocol=6) / (
        b"\x00\x50\x00\x19" + b"\0" * 60)
    body = bytes(whole)[34:]
    frags = [bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=5, protocol=6,
                                     frag_offset=0, flags=1) / Raw(body[:8])),
             bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=5, protocol=6,
                                     frag_offset=8) / Raw(body[8:]))]
    out, stats = _run(frags)
    (got,) = out
    assert got.defrag.reassembled and "tiny_first_fragment" in got.defrag.flags
    assert "tiny_offset" in got.defrag.flags and got.tcp is not None


def test_timeout_runs_on_capture_time() -> None:
    frags = [bytes(f) for f in fragment(_v4(), mtu=600)]
    t0 = 1_700_000_000 * 10**9
    times = [t0] + [t0 + 61 * 10**9] * (len(frags) - 1)
    out, stats = _run(frags, times)
    assert stats["timeouts"] == 1
    assert out[0].defrag.reason == "timeout" and out[0].index == 0
    out, stats = _run(frags, times, timeout=120.0)
    assert [p.defrag.reassembled for p in out] == [True]


@pytest.mark.slow
def test_a_million_unfinished_datagrams_stay_under_the_caps() -> None:
    n = 1_000_000
    one = bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", id=0, protocol=17,
                                  frag_offset=0, flags=1) / Raw(b"x" * 16))
    size = len(one)
    step = 20_000

    def batches():
        # n first fragments, each its own datagram (id and source varied in the bytes)
        for start in range(0, n, step):
            frames = bytearray(one * step)
            for k in range(step):
                at, v = k * size, start + k
                frames[at + 18:at + 20] = (v & 0xFFFF).to_bytes(2, "big")   # IPv4 id
                frames[at + 27] = v >> 16                                   # source 192.0.2.x
            lens = [size] * step
            yield batch_from_buffer(bytes(frames), [k * size for k in range(step)], lens,
                                    lens, [0] * step, 1)

    d = Defragmenter(max_datagrams=50_000)
    t = time.perf_counter()
    peak = 0
    count = 0
    for batch in d.batches(batches()):
        count += len(batch)
        peak = max(peak, d.stats["held_bytes"])
    stats = d.stats
    assert count == n                                  # every frame handed back
    assert stats["evicted_datagrams"] == n - 50_000 and stats["incomplete"] == 50_000
    assert stats["held"] == 0 and peak <= 64 << 20
    assert time.perf_counter() - t < 120


LIVE = """
    import sys, threading, time
    import wirecraft
    from wirecraft.craft import UDP, Ethernet, IPv4, fragment
    from wirecraft.live import Sniffer
    iface, a, b = sys.argv[1:4]
    s = Sniffer(iface, filter="ip and udp or (ip[6:2] & 0x1fff != 0)", defrag=True,
                timeout=3, immediate=True)
    got = []
    t = threading.Thread(target=lambda: got.extend(s))
    t.start()
    time.sleep(0.5)
    big = (Ethernet(dst="ff:ff:ff:ff:ff:ff") / IPv4(src=a, dst=b, id=99)
           / UDP(src_port=5000, dst_port=9) / (b"z" * 3000))
    wirecraft.sendp(fragment(big, mtu=1400), iface)
    t.join()
    made = [p for p in got if p.defrag is not None and p.defrag.reassembled]
    print(len(made), made[0].ip.total_length if made else 0,
          made[0].payload == b"z" * 3000 if made else False)
"""


@pytest.mark.live
def test_live_capture_uses_the_same_engine() -> None:
    import sys
    import textwrap

    from conftest import WIRECRAFT_PATH
    from netns import VethPair

    with VethPair() as pair:
        r = pair.run("b", [sys.executable, "-c", textwrap.dedent(LIVE), pair.iface_b,
                           pair.addr_b, pair.addr_a], capture_output=True, text=True,
                     timeout=60, env={"PYTHONPATH": WIRECRAFT_PATH,
                                      "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "3028", "True"]
