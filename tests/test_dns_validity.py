"""DNS: valid-but-unusual messages stay clean, semantic errors get named problems.

Messages are built in code (struct and dnspython) as classes of variants: UPDATE
prerequisites/updates with no rdata, LOC lengths, every ECS family/prefix shape, every
cookie length 0..48, EDE lengths and texts, SVCB/HTTPS parameter rules, TSIG and OPT
placement, and DNS over TCP cut by a gap or the end of the stream. dnspython serves as
an oracle where it has an opinion. Both the full decoder and the light/columnar one
(transactions) must report the same problems.
"""

from __future__ import annotations

import struct

import dns.exception
import dns.message
import dns.rdatatype
import dns.update
import pytest
from test_reassembly_helpers import ACK, FIN, PSH, SYN, fake_packet

from wirecraft import _dns
from wirecraft import dns as wdns


def name(text: str) -> bytes:
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner: str, rtype: int, rclass: int, ttl: int, rdata: bytes) -> bytes:
    return name(owner) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def message(*, flags: int = 0x0100, qd: list[bytes] = (), an: list[bytes] = (),
            ns: list[bytes] = (), ar: list[bytes] = (), ident: int = 0x1234) -> bytes:
    head = struct.pack("!HHHHHH", ident, flags, len(qd), len(an), len(ns), len(ar))
    return head + b"".join(qd) + b"".join(an) + b"".join(ns) + b"".join(ar)


def question(qname: str = "example.org", qtype: int = 1, qclass: int = 1) -> bytes:
    return name(qname) + struct.pack("!HH", qtype, qclass)


def opt(options: list[tuple[int, bytes]], owner: str = ".") -> bytes:
    data = b"".join(struct.pack("!HH", c, len(v)) + v for c, v in options)
    return rr(owner, 41, 1232, 0, data)


def problems(wire: bytes) -> set[str]:
    """Problems of the full decoder; asserts the light and columnar paths agree."""
    full = set(wdns.decode(wire).problems)
    light = set(_dns.decode_light(wire).problems)
    assert full == light, (full, light)
    assert _dns._columnar_agrees(wire)
    return full


def dnspython_accepts(wire: bytes) -> bool:
    """The oracle: dnspython parses the message (it checks ECS, cookie and EDE options)."""
    try:
        dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return False
    except ValueError:     # dnspython lets a UnicodeDecodeError of EDE text through
        return False
    return True


# ---------------------------------------------------------------- UPDATE (RFC 2136)

UPDATE = 5 << 11


@pytest.mark.parametrize("rtype", [1, 2, 5, 6, 15, 16, 28, 33, 255, 99, 64, 65, 257, 29])
@pytest.mark.parametrize("rclass,section", [(255, "an"), (254, "an"), (255, "ns")])
def test_update_rrs_without_rdata_are_valid(rtype, rclass, section):
    """Prerequisites (RFC 2136 2.4): class ANY or NONE, rdlength 0; updates (2.5):
    class ANY, rdlength 0 (delete an RRset, or all RRsets with type ANY)."""
    zone = question("example.org", 6, 1)
    empty = rr("host.example.org", rtype, rclass, 0, b"")
    wire = message(flags=UPDATE, qd=[zone], **{section: [empty]})
    assert problems(wire) == set()
    dns.message.from_wire(wire)   # dnspython reads it too


def test_update_built_by_dnspython_is_clean():
    up = dns.update.UpdateMessage("example.org")
    up.present("a.example.org")                       # class ANY, rdlength 0
    up.absent("b.example.org", "A")                   # class NONE, rdlength 0
    up.delete("c.example.org")                        # class ANY type ANY
    up.delete("d.example.org", "MX")                  # class ANY type MX
    up.delete("e.example.org", "A", "192.0.2.1")      # class NONE with rdata
    up.add("f.example.org", 300, "A", "192.0.2.2")
    assert problems(up.to_wire()) == set()


@pytest.mark.parametrize("rtype", [1, 2, 15, 28])
def test_update_delete_rr_needs_its_rdata(rtype):
    """Class NONE in the update section deletes one RR (RFC 2136 2.5.4): rdata needed."""
    wire = message(flags=UPDATE, qd=[question("example.org", 6, 1)],
                   ns=[rr("host.example.org", rtype, 254, 0, b"")])
    assert "rdata_malformed" in problems(wire)
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(wire)


def test_zero_length_rdata_outside_update_is_still_malformed():
    wire = message(flags=0x8180, qd=[question()], an=[rr("example.org", 1, 255, 0, b"")])
    assert "rdata_malformed" in problems(wire)
    wire = message(flags=UPDATE, qd=[question()], an=[rr("example.org", 1, 1, 0, b"")])
    assert "rdata_malformed" in problems(wire)


# ---------------------------------------------------------------- LOC (RFC 1876)

@pytest.mark.parametrize("length", range(0, 24))
def test_loc_length(length):
    rdata = bytes([0]) + bytes(range(1, length)) if length else b""
    wire = message(flags=0x8180, qd=[question(qtype=29)],
                   an=[rr("example.org", 29, 1, 60, rdata[:length])])
    got = problems(wire)
    assert ("rdata_malformed" in got) == (length != 16)


def test_loc_from_dnspython_is_clean():
    m = dns.message.from_text(
        "id 1\nflags QR\n;ANSWER\nexample.org. 60 IN LOC 52 22 23.000 N 4 53 32.000 E "
        "-2.00m 0.00m 10000m 10m\n")
    assert problems(m.to_wire()) == set()


# ---------------------------------------------------------------- EDNS options

def ecs(family: int, source: int, scope: int, addr: bytes) -> bytes:
    return struct.pack("!HBB", family, source, scope) + addr


def _prefix_bytes(source: int, fill: int = 0xA5) -> bytes:
    """The fewest bytes holding `source` prefix bits, every bit past the prefix zero."""
    need = (source + 7) // 8
    out = bytearray([fill] * need)
    if source % 8:
        out[-1] &= (0xFF << (8 - source % 8)) & 0xFF
    return bytes(out)


@pytest.mark.parametrize("family", [0, 1, 2, 3, 9, 65535])
def test_ecs_every_family_and_prefix(family):
    bits = {1: 32, 2: 128}.get(family, 32)
    for source in [*range(0, 130), 200, 255]:
        for extra in (0, 1):
            addr = _prefix_bytes(source) + bytes(extra)
            wire = message(qd=[question()], ar=[opt([(8, ecs(family, source, 0, addr))])])
            got = {p for p in problems(wire) if p.startswith("edns_ecs")}
            valid = family in (1, 2) and source <= bits and extra == 0
            assert (got == set()) == valid, (family, source, extra, got)
            assert dnspython_accepts(wire) == valid, (family, source, extra)


@pytest.mark.parametrize("family", [1, 2])
def test_ecs_bits_past_the_prefix(family):
    for source in range(1, 33 if family == 1 else 129):
        if source % 8 == 0:
            continue
        addr = bytearray(_prefix_bytes(source))
        addr[-1] |= 1 << (7 - source % 8)      # the first bit past the prefix
        wire = message(qd=[question()], ar=[opt([(8, ecs(family, source, 0, bytes(addr)))])])
        assert "edns_ecs_address_bits_past_prefix" in problems(wire), source


@pytest.mark.parametrize("family,source,addr,flag", [
    (1, 200, b"\xc0" * 25, "edns_ecs_bad_prefix"),
    (2, 200, b"\x20" * 25, "edns_ecs_bad_prefix"),
    (1, 33, b"\xc0" * 5, "edns_ecs_bad_prefix"),
    (9, 24, b"\xc0\x00\x02", "edns_ecs_bad_family"),
    (1, 24, b"\xc0\x00\x02\x01", "edns_ecs_bad_address_length"),
    (1, 24, b"\xc0\x00", "edns_ecs_bad_address_length"),
    (1, 20, b"\xc0\x00\x0f", "edns_ecs_address_bits_past_prefix"),
    (2, 1, b"\x7f", "edns_ecs_address_bits_past_prefix"),
])
def test_ecs_named_problems(family, source, addr, flag):
    wire = message(qd=[question()], ar=[opt([(8, ecs(family, source, 0, addr))])])
    assert flag in problems(wire)


@pytest.mark.parametrize("ln", [0, 1, 2, 3])
def test_ecs_too_short(ln):
    wire = message(qd=[question()], ar=[opt([(8, b"\x00\x01\x18"[:ln])])])
    assert "edns_ecs_truncated" in problems(wire)


def test_ecs_scope_over_the_address_size():
    wire = message(qd=[question()], ar=[opt([(8, ecs(1, 24, 40, b"\xc0\x00\x02"))])])
    assert "edns_ecs_bad_prefix" in problems(wire)


def test_ecs_from_dnspython_is_clean():
    import dns.edns
    for addr, prefix in (("192.0.2.0", 24), ("192.0.2.128", 25), ("2001:db8::", 56),
                         ("0.0.0.0", 0), ("::", 0), ("192.0.2.1", 32)):
        q = dns.message.make_query("example.org", "A", use_edns=0,
                                   options=[dns.edns.ECSOption(addr, prefix)])
        assert problems(q.to_wire()) == set(), (addr, prefix)


@pytest.mark.parametrize("length", range(0, 49))
def test_cookie_every_length(length):
    wire = message(qd=[question()], ar=[opt([(10, bytes(range(length)))])])
    bad = "edns_cookie_bad_length" in problems(wire)
    assert bad == (not (length == 8 or 16 <= length <= 40))
    assert bad == (not dnspython_accepts(wire))


@pytest.mark.parametrize("length", range(0, 6))
def test_keepalive_lengths(length):
    wire = message(qd=[question()], ar=[opt([(11, bytes(length))])])
    assert ("edns_keepalive_bad_length" in problems(wire)) == (length not in (0, 2))


@pytest.mark.parametrize("info", [b"", b"\x00", b"\x00\x12", b"\x00\x12text",
                                  b"\x00\x12\xff\xfe", b"\x00\x06caf\xc3\xa9",
                                  b"\x00\x06\xc3", b"\x00\x06\xed\xa0\x80"])
def test_ede_length_and_text(info):
    wire = message(flags=0x8180, qd=[question()], ar=[opt([(15, info)])])
    got = problems(wire)
    assert ("edns_ede_truncated" in got) == (len(info) < 2)
    try:
        info[2:].decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    assert ("edns_ede_bad_text" in got) == (len(info) >= 2 and not utf8)
    assert bool(got) == (not dnspython_accepts(wire))


def test_multiple_opt_and_opt_outside_additional():
    wire = message(qd=[question()], ar=[opt([]), opt([])])
    assert "multiple_opt" in problems(wire)
    wire = message(flags=0x8180, qd=[question()], an=[opt([])])
    assert "opt_outside_additional" in problems(wire)
    wire = message(qd=[question()], ns=[opt([])])
    assert "opt_outside_additional" in problems(wire)
    assert problems(message(qd=[question()], ar=[opt([])])) == set()


# ---------------------------------------------------------------- SVCB / HTTPS (RFC 9460)

def svcb(priority: int, params: list[tuple[int, bytes]], target: str = ".") -> bytes:
    return struct.pack("!H", priority) + name(target) + b"".join(
        struct.pack("!HH", k, len(v)) + v for k, v in params)


ALPN = (1, b"\x02h2")
PORT = (3, b"\x01\xbb")
V4 = (4, b"\xc0\x00\x02\x01")


def _svcb_wire(rtype: int, rdata: bytes) -> bytes:
    return message(flags=0x8180, qd=[question("example.org", rtype)],
                   an=[rr("example.org", rtype, 1, 60, rdata)])


@pytest.mark.parametrize("rtype", [64, 65])
@pytest.mark.parametrize("params,flag", [
    ([PORT, ALPN], "svcb_key_order"),
    ([V4, PORT], "svcb_key_order"),
    ([ALPN, ALPN], "svcb_duplicate_key"),
    ([(0, b"\x00\x00\x00\x01"), ALPN], "svcb_mandatory_self"),
    ([(0, b"\x00\x03"), ALPN], "svcb_mandatory_missing"),
    ([(0, b"\x00\x04\x00\x01"), ALPN, V4], "svcb_mandatory_order"),
    ([(0, b"\x00\x01\x00\x01"), ALPN], "svcb_mandatory_order"),
    ([(0, b""), ALPN], "svcb_param_empty"),
    ([(1, b"")], "svcb_param_empty"),
    ([(1, b"\x00")], "svcb_param_empty"),
    ([(1, b"\x02h2\x00")], "svcb_param_empty"),
    ([ALPN, (4, b"")], "svcb_param_empty"),
    ([ALPN, (5, b"")], "svcb_param_empty"),
    ([ALPN, (6, b"")], "svcb_param_empty"),
    ([(2, b"")], "svcb_no_default_alpn_without_alpn"),
    ([(2, b""), PORT], "svcb_no_default_alpn_without_alpn"),
])
def test_svcb_rules(rtype, params, flag):
    wire = _svcb_wire(rtype, svcb(1, params, "svc.example.org"))
    assert flag in problems(wire)
    assert not dnspython_accepts(wire)


@pytest.mark.parametrize("rtype", [64, 65])
def test_svcb_alias_mode_with_params(rtype):
    assert "svcb_alias_with_params" in problems(_svcb_wire(rtype, svcb(0, [ALPN], "a.org")))
    assert problems(_svcb_wire(rtype, svcb(0, [], "a.org"))) == set()


@pytest.mark.parametrize("text", [
    '1 . alpn="h2,h3" port=443 ipv4hint=192.0.2.1',
    '1 svc.example.org. mandatory=alpn,port alpn=h2 port=8443',
    '2 . mandatory=ipv4hint,ipv6hint ipv4hint=192.0.2.1 ipv6hint=2001:db8::1',
    "0 alias.example.org.",
])
def test_valid_svcb_from_dnspython_is_clean(text):
    for rtype in ("SVCB", "HTTPS"):
        m = dns.message.from_text(f"id 1\nflags QR\n;ANSWER\nexample.org. 60 IN {rtype} {text}\n")
        assert problems(m.to_wire()) == set(), (rtype, text)


def test_duplicate_key_keeps_the_first_value():
    msg = wdns.decode(_svcb_wire(64, svcb(1, [PORT, (3, b"\x00\x50")], "s.org")))
    assert msg.answers[0].data.params["port"] == 443


# ---------------------------------------------------------------- TSIG (RFC 8945)

def tsig_rr() -> bytes:
    rdata = (name("hmac-sha256") + struct.pack("!HIH", 0, 1700000000, 300)
             + struct.pack("!H", 32) + bytes(32) + struct.pack("!HHH", 0x1234, 0, 0))
    return rr("key.example.org", 250, 255, 0, rdata)


def test_tsig_placement():
    a = rr("x.example.org", 1, 1, 60, b"\xc0\x00\x02\x01")
    assert problems(message(qd=[question()], ar=[opt([]), tsig_rr()])) == set()
    assert problems(message(qd=[question()], ar=[tsig_rr()])) == set()
    assert "tsig_not_last" in problems(message(qd=[question()], ar=[tsig_rr(), opt([])]))
    assert "tsig_not_last" in problems(message(qd=[question()], ar=[tsig_rr(), a]))
    assert "tsig_not_last" in problems(message(qd=[question()], ar=[tsig_rr(), tsig_rr()]))
    assert "tsig_not_last" in problems(message(qd=[question()], an=[tsig_rr()]))
    assert "tsig_not_last" in problems(message(qd=[question()], ns=[tsig_rr()], ar=[a]))


# ---------------------------------------------------------------- DNS over TCP cut short

CL, SV = "192.0.2.10", "192.0.2.53"


def tcp_packets(client_bytes: bytes, server_bytes: bytes, *, drop: tuple[int, int] | None = None,
                seg: int = 40) -> list:
    """A DNS-over-TCP connection; drop=(lo, hi) leaves server stream bytes out."""
    ic, isv = 100, 900
    pkts = [fake_packet(CL, 5300, SV, 53, ic, SYN),
            fake_packet(SV, 53, CL, 5300, isv, SYN | ACK, ack=ic + 1),
            fake_packet(CL, 5300, SV, 53, ic + 1, ACK, ack=isv + 1),
            fake_packet(CL, 5300, SV, 53, ic + 1, ACK | PSH, client_bytes, ack=isv + 1,
                        time_ns=1000)]
    t = 2000
    for i in range(0, len(server_bytes), seg):
        t += 1000
        chunk = server_bytes[i:i + seg]
        if drop and drop[0] <= i < drop[1]:
            continue
        pkts.append(fake_packet(SV, 53, CL, 5300, isv + 1 + i, ACK | PSH, chunk,
                                ack=ic + 1 + len(client_bytes), time_ns=t))
    end = isv + 1 + len(server_bytes)
    pkts.append(fake_packet(SV, 53, CL, 5300, end, FIN | ACK, ack=ic + 1 + len(client_bytes),
                            time_ns=t + 1000))
    pkts.append(fake_packet(CL, 5300, SV, 53, ic + 1 + len(client_bytes), FIN | ACK,
                            ack=end + 1, time_ns=t + 2000))
    for i, p in enumerate(pkts):   # what the DNS readers look at besides reassembly
        p.udp = None
        p.index = i
        p.ip.flags = 0
    return pkts


def _answer(ident: int, count: int) -> bytes:
    return message(ident=ident, flags=0x8180, qd=[question("big.example.org", 16)],
                   an=[rr("big.example.org", 16, 1, 60, b"\x20" + b"t" * 32)] * count)


@pytest.mark.parametrize("cut", [1, 2, 3, 11, 12, 40, 100, 300])
def test_tcp_message_cut_at_fin_is_a_flagged_row(cut):
    query = message(ident=7, qd=[question("big.example.org", 16)])
    resp = _answer(7, 10)
    framed = struct.pack("!H", len(resp)) + resp
    pkts = tcp_packets(struct.pack("!H", len(query)) + query, framed[:2 + cut])
    table = wdns.transactions(pkts)
    rows = table.to_dicts()
    flagged = [r for r in rows if "tcp_message_truncated" in r["problems"]]
    assert len(flagged) == 1 and table.stats["tcp_messages_truncated"] == 1
    if cut >= 4:      # id and flags arrived: the cut response still answers its query
        assert len(rows) == 1 and rows[0]["status"] == "answered"
    events = [e for e in wdns.messages(pkts) if e.src == SV]
    assert len(events) == 1 and "tcp_message_truncated" in events[0].message.problems
    assert events[0].message.size == cut


def test_tcp_gap_inside_a_message_keeps_the_next_ones_framed():
    resps = [_answer(i, 6) for i in (1, 2, 3)]
    framed = b"".join(struct.pack("!H", len(r)) + r for r in resps)
    queries = b"".join(struct.pack("!H", len(q)) + q for q in (
        message(ident=i, qd=[question("big.example.org", 16)]) for i in (1, 2, 3)))
    lost = (80, 120)          # inside the first response (len > 200)
    assert len(resps[0]) > 200
    pkts = tcp_packets(queries, framed, drop=lost)
    events = [e for e in wdns.messages(pkts) if e.src == SV]
    ids = [e.message.id for e in events]
    assert ids == [1, 2, 3]
    assert "tcp_message_truncated" in events[0].message.problems
    assert events[1].message.problems == [] and events[2].message.problems == []
    table = wdns.transactions(pkts)
    rows = {r["trans_id"]: r for r in table.to_dicts()}
    assert rows[2]["problems"] == [] and rows[3]["problems"] == []
    assert "tcp_message_truncated" in rows[1]["problems"]
    assert table.stats["tcp_messages_truncated"] == 1
    # the rest of the cut message after the hole was skipped, not framed
    assert table.stats["tcp_bytes_dropped"] == len(resps[0]) + 2 - 80 - 40


def test_framer_cut_and_skip():
    f = wdns.TCPMessageFramer()
    assert f.feed(b"\x00\x05ab") == []
    assert f.cut(2) == b"ab" and f.truncated == 1
    assert f.feed(b"c\x00\x01z") == [b"z"]      # "c" ends the cut message
    assert f.cut(0) is None
    # a second gap inside the skipped rest of a cut message keeps the framing
    assert f.feed(b"\x00\x0aabc") == []
    assert f.cut(2) == b"abc"                    # 7 more were due: 2 lost, 5 to skip
    assert f.cut(1) is None                      # 1 of those 5 lost too
    assert f.feed(b"wxyz\x00\x02ok") == [b"ok"]
    assert f.truncated == 2


def test_svcb_param_orders_and_mandatory_lists_agree_with_dnspython():
    import itertools

    others = [ALPN, (2, b""), PORT, V4, (6, bytes(15) + b"\x01")]
    mandatories = [None, [], [1], [3], [1, 3], [3, 1], [0], [4], [1, 1], [6, 4], [2]]
    checked = 0
    for mand in mandatories:
        for size in range(0, 4):
            for params in itertools.permutations(others, size):
                plist = list(params)
                if mand is not None:
                    plist = [(0, b"".join(struct.pack("!H", k) for k in mand)), *plist]
                for priority in (0, 1):
                    wire = _svcb_wire(65, svcb(priority, plist, "svc.example.org"))
                    ours = problems(wire) == set()
                    assert ours == dnspython_accepts(wire), (priority, mand, params)
                    checked += 1
    assert checked > 500


@pytest.mark.parametrize("ending", ["fin", "rst", "none"])
def test_tcp_message_cut_by_any_end_of_stream(ending):
    query = message(ident=9, qd=[question("big.example.org", 16)])
    resp = _answer(9, 5)
    framed = struct.pack("!H", len(resp)) + resp
    pkts = tcp_packets(struct.pack("!H", len(query)) + query, framed[:60])
    if ending != "fin":
        pkts = [p for p in pkts if not p.tcp.flags & FIN]
    if ending == "rst":
        last = pkts[-1]
        rst = fake_packet(SV, 53, CL, 5300, last.tcp.seq + len(last.payload), 4 | ACK,
                          ack=last.tcp.ack, time_ns=10**6)
        rst.udp, rst.index, rst.ip.flags = None, len(pkts), 0
        pkts.append(rst)
    rows = wdns.transactions(pkts).to_dicts()
    assert len(rows) == 1 and rows[0]["status"] == "answered"
    assert "tcp_message_truncated" in rows[0]["problems"]
    tracker = wdns.TransactionTracker()
    live = [row for p in pkts for row in tracker.feed(p)] + tracker.flush()
    assert len(live) == 1 and "tcp_message_truncated" in live[0]["problems"]


def test_whole_tcp_messages_are_not_flagged():
    query = message(ident=5, qd=[question("big.example.org", 16)])
    resp = _answer(5, 5)
    pkts = tcp_packets(struct.pack("!H", len(query)) + query,
                       struct.pack("!H", len(resp)) + resp)
    table = wdns.transactions(pkts)
    (row,) = table.to_dicts()
    assert row["problems"] == [] and row["status"] == "answered"
    assert table.stats == {"tcp_messages_truncated": 0, "tcp_bytes_dropped": 0}
