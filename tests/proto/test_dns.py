"""DNS over UDP (RFC 1035; EDNS0 RFC 6891, cookies RFC 7873, mDNS RFC 6762): annotated
vectors, message decode, craft, round trip, catalogue names against tshark.

Frames are Ethernet / IPv4 / UDP / DNS, the messages written by hand from RFC 1035's
layout (names compressed by hand: `c00c` points at offset 12, the question name); the
comment above each is what `tcpdump -nn -v -t -S` prints for it.
"""

from __future__ import annotations

import pytest

from wirecraft.craft import DNS, UDP, Ethernet, IPv4, Question, Raw, Record

from .vectors import (
    Vector,
    catalogue,
    check_differences,
    check_fields_against_tshark,
    check_tcpdump_lines,
    ids,
    public_fields,
)

CLIENT, SERVER = "192.0.2.1", "198.51.100.53"

# IP (tos 0x0, ttl 64, id 64, offset 0, flags [DF], proto UDP (17), length 57) 192.0.2.1.40000 > 198.51.100.53.53: 6699+ A? example.com. (29)
QUERY_A = Vector("query_a", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4
    4500 0039 0040 4000 4011 4e0a c000 0201   # IPv4 192.0.2.1 > 198.51.100.53, UDP
    c633 6435
    9c40 0035 0025 8d2b                       # UDP 40000 > 53
    1a2b 0100 0001 0000 0000 0000             # DNS id 0x1a2b, RD; 1 question
    0765 7861 6d70 6c65 0363 6f6d 00          #   example.com
    0001 0001                                 #   A IN
""")

# IP (tos 0x0, ttl 64, id 65, offset 0, flags [DF], proto UDP (17), length 73) 198.51.100.53.53 > 192.0.2.1.40000: 6699 1/0/0 example.com. A 192.0.2.80 (45)
RESPONSE_A = Vector("response_a", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 0049 0041 4000 4011 4df9 c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0035 7d06                       # UDP 53 > 40000
    1a2b 8180 0001 0001 0000 0000             # DNS id 0x1a2b, QR RD RA, NOERROR; 1 q, 1 answer
    0765 7861 6d70 6c65 0363 6f6d 00          #   example.com
    0001 0001                                 #   A IN
    c00c 0001 0001 0000 012c 0004 c000 0250   #   answer: -> example.com A IN ttl 300 192.0.2.80
""")

# IP (tos 0x0, ttl 64, id 66, offset 0, flags [DF], proto UDP (17), length 107) 198.51.100.53.53 > 192.0.2.1.40000: 258 2/0/0 www.example.com. CNAME cdn.example.com., cdn.example.com. AAAA 2001:db8::80 (79)
RESPONSE_CNAME_AAAA = Vector("response_cname_aaaa", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 006b 0042 4000 4011 4dd6 c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0057 4ca8                       # UDP 53 > 40000
    0102 8180 0001 0002 0000 0000             # DNS id 0x0102, QR RD RA; 1 q, 2 answers
    0377 7777 0765 7861 6d70 6c65 0363 6f6d   #   www.example.com (example.com at offset 16)
    00 001c 0001                              #   AAAA IN
    c00c 0005 0001 0000 003c 0006             #   -> www.example.com CNAME IN ttl 60, 6 bytes:
    0363 646e c010                            #     cdn + -> example.com (cdn... at offset 45)
    c02d 001c 0001 0000 0078 0010             #   -> cdn.example.com AAAA IN ttl 120
    2001 0db8 0000 0000 0000 0000 0000 0080   #     2001:db8::80
""")

# IP (tos 0x0, ttl 64, id 67, offset 0, flags [DF], proto UDP (17), length 134) 198.51.100.53.53 > 192.0.2.1.40000: 2989 NXDomain 0/1/0 (106)
NXDOMAIN = Vector("nxdomain", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 0086 0043 4000 4011 4dba c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0072 4fc0                       # UDP 53 > 40000
    0bad 8183 0001 0000 0001 0000             # DNS id 0x0bad, QR RD RA, NXDOMAIN; 1 q, 1 authority
    046e 6f70 6507 6578 616d 706c 6503 636f   #   nope.example.com (example.com at offset 17)
    6d00 0001 0001                            #   A IN
    c011 0006 0001 0000 0e10 003c             #   authority: -> example.com SOA IN ttl 3600
    026e 7307 6578 616d 706c 6503 636f 6d00   #     mname ns.example.com (not compressed)
    0a68 6f73 746d 6173 7465 7207 6578 616d   #     rname hostmaster.example.com
    706c 6503 636f 6d00
    78a3 f175 0000 1c20 0000 0384 0012 7500   #     serial 2024010101, refresh 7200, retry 900,
    0000 012c                                 #     expire 1209600, minimum 300
""")

# IP (tos 0x0, ttl 64, id 68, offset 0, flags [DF], proto UDP (17), length 80) 192.0.2.1.40000 > 198.51.100.53.53: 30583+ [1au] DNSKEY? example.org. (52)
EDNS_QUERY = Vector("edns_query", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0050 0044 4000 4011 4def c000 0201   # IPv4 192.0.2.1 > 198.51.100.53, UDP
    c633 6435
    9c40 0035 003c 685e                       # UDP 40000 > 53
    7777 0120 0001 0000 0000 0001             # DNS id 0x7777, RD AD; 1 q, 1 additional
    0765 7861 6d70 6c65 036f 7267 00          #   example.org
    0030 0001                                 #   DNSKEY IN
    00 0029 04d0 0000 8000 000c               #   OPT: root, udp 1232, ext-rcode 0, v0, DO; 12 bytes
    000a 0008 0102 0304 0506 0708             #     COOKIE (10): client cookie 0102030405060708
""")

# IP (tos 0x0, ttl 64, id 69, offset 0, flags [DF], proto UDP (17), length 108) 198.51.100.53.53 > 192.0.2.1.40000: 771* 2/0/0 example.net. MX mail.example.net. 10, example.net. TXT "v=spf1 -all" "hello" (80)
MX_TXT = Vector("mx_txt", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 006c 0045 4000 4011 4dd2 c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0058 1aeb                       # UDP 53 > 40000
    0303 8580 0001 0002 0000 0000             # DNS id 0x0303, QR AA RD RA; 1 q, 2 answers
    0765 7861 6d70 6c65 036e 6574 00          #   example.net
    000f 0001                                 #   MX IN
    c00c 000f 0001 0000 0e10 0009             #   -> example.net MX IN ttl 3600
    000a 046d 6169 6c c00c                    #     preference 10, mail + -> example.net
    c00c 0010 0001 0000 0e10 0012             #   -> example.net TXT IN ttl 3600
    0b 763d 7370 6631 202d 616c 6c            #     "v=spf1 -all"
    05 6865 6c6c 6f                           #     "hello"
""")

# IP (tos 0x0, ttl 64, id 70, offset 0, flags [DF], proto UDP (17), length 71) 198.51.100.53.53 > 192.0.2.1.40000: 1028 1/0/0 <BAD PTR> [|domain]
POINTER_LOOP = Vector("pointer_loop", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 0047 0046 4000 4011 4df6 c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0033 6fa2                       # UDP 53 > 40000
    0404 8180 0001 0001 0000 0000             # DNS id 0x0404; 1 q, 1 answer
    0161 0765 7861 6d70 6c65 00 0001 0001     #   a.example A IN
    c01b 0001 0001 0000 0001 0004 c000 0201   #   answer at offset 27, its name a pointer to 27
""")

# IP (tos 0x0, ttl 64, id 71, offset 0, flags [DF], proto UDP (17), length 57) 198.51.100.53.53 > 192.0.2.1.40000: 1285 1/0/0  [|domain]
COUNT_BEYOND_MESSAGE = Vector("count_beyond_message", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet, IPv4
    4500 0039 0047 4000 4011 4e03 c633 6435   # IPv4 198.51.100.53 > 192.0.2.1, UDP
    c000 0201
    0035 9c40 0025 21d0                       # UDP 53 > 40000
    0505 8180 0001 0001 0000 0000             # DNS id 0x0505: 1 answer announced...
    0765 7861 6d70 6c65 0363 6f6d 00          #   example.com
    0001 0001                                 #   A IN (... and the message ends here)
""")

# IP (tos 0x0, ttl 255, id 72, offset 0, flags [none], proto UDP (17), length 66) 192.0.2.1.5353 > 224.0.0.251.5353: 0*- [0q] 1/0/0 host.local. (Cache flush) A 192.0.2.7 (38)
MDNS = Vector("mdns_announcement", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0042 0048 0000 ff11 1866 c000 0201   # IPv4 192.0.2.1 > 224.0.0.251, UDP, ttl 255
    e000 00fb
    14e9 14e9 002e 4889                       # UDP 5353 > 5353
    0000 8400 0000 0001 0000 0000             # mDNS response, AA; 1 answer
    0468 6f73 7405 6c6f 6361 6c00             #   host.local
    0001 8001 0000 0078 0004 c000 0207        #   A, cache-flush + IN, ttl 120, 192.0.2.7
""")

VECTORS = [QUERY_A, RESPONSE_A, RESPONSE_CNAME_AAAA, NXDOMAIN, EDNS_QUERY, MX_TXT, POINTER_LOOP,
           COUNT_BEYOND_MESSAGE, MDNS]

EX = "example.com"
SOA_DATA = ("ns.example.com", "hostmaster.example.com", 2024010101, 7200, 900, 1209600, 300)


def _header(id: int, flags: int, counts: tuple, rcode: int = 0, problems: list | None = None,
            size: int = 0) -> dict:
    """The Message header fields, each flag from `flags` by RFC 1035's bit positions."""
    bit = lambda n: bool(flags >> n & 1)  # noqa: E731
    names = [n for n, b in (("qr", 15), ("aa", 10), ("tc", 9), ("rd", 8), ("ra", 7), ("z", 6),
                            ("ad", 5), ("cd", 4)) if bit(b)]
    return dict(id=id, flags=flags, qr=bit(15), opcode=flags >> 11 & 0xF, opcode_name="QUERY",
                aa=bit(10), tc=bit(9), rd=bit(8), ra=bit(7), z=bit(6), ad=bit(5), cd=bit(4),
                header_rcode=flags & 0xF, rcode=rcode,
                rcode_name={0: "NOERROR", 3: "NXDOMAIN"}[rcode], flag_names=names,
                counts=counts, problems=problems or [], size=size, end=size, tsig=None)


# message header and sections; records as (name, type, type_name, class, ttl, data,
# cache_flush, malformed); questions as (name, type, class, unicast_response)
MESSAGE = {
    "query_a": (_header(0x1A2B, 0x0100, (1, 0, 0, 0), size=29), [(EX, 1, 1, False)], [], [], []),
    "response_a": (_header(0x1A2B, 0x8180, (1, 1, 0, 0), size=45), [(EX, 1, 1, False)],
                   [(EX, 1, "A", 1, 300, "192.0.2.80", False, False)], [], []),
    "response_cname_aaaa": (
        _header(0x0102, 0x8180, (1, 2, 0, 0), size=79), [("www.example.com", 28, 1, False)],
        [("www.example.com", 5, "CNAME", 1, 60, "cdn.example.com", False, False),
         ("cdn.example.com", 28, "AAAA", 1, 120, "2001:db8::80", False, False)], [], []),
    "nxdomain": (_header(0x0BAD, 0x8183, (1, 0, 1, 0), rcode=3, size=106),
                 [("nope.example.com", 1, 1, False)], [],
                 [("example.com", 6, "SOA", 1, 3600, SOA_DATA, False, False)], []),
    "edns_query": (_header(0x7777, 0x0120, (1, 0, 0, 1), size=52), [("example.org", 48, 1, False)],
                   [], [], ["OPT"]),
    "mx_txt": (_header(0x0303, 0x8580, (1, 2, 0, 0), size=80), [("example.net", 15, 1, False)],
               [("example.net", 15, "MX", 1, 3600, (10, "mail.example.net"), False, False),
                ("example.net", 16, "TXT", 1, 3600, (b"v=spf1 -all", b"hello"), False, False)],
               [], []),
    # the looping name is dropped to the root and flagged; the record is kept
    "pointer_loop": (_header(0x0404, 0x8180, (1, 1, 0, 0), problems=["name_pointer_loop"],
                             size=43),
                     [("a.example", 1, 1, False)],
                     [(".", 1, "A", 1, 1, "192.0.2.1", False, False)], [], []),
    "count_beyond_message": (_header(0x0505, 0x8180, (1, 1, 0, 0),
                                     problems=["count_exceeds_data"], size=29),
                             [(EX, 1, 1, False)], [], [], []),
    # mDNS: the top bit of the class is cache-flush, not part of the class
    "mdns_announcement": (_header(0, 0x8400, (0, 1, 0, 0), size=38), [],
                          [("host.local", 1, "A", 1, 120, "192.0.2.7", True, False)], [], []),
}


def _records(records: list) -> list:
    return [(r.name, r.type, r.type_name, r.cls, r.ttl, r.data, r.cache_flush, r.malformed)
            for r in records]


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert pkt.app == ("mdns" if v is MDNS else "dns")
    m = pkt.dns
    header, questions, answers, authorities, additionals = MESSAGE[v.name]
    got = {name: getattr(m, name) for name in header}
    assert got == header
    assert [(q.name, q.type, q.cls, q.unicast_response) for q in m.questions] == questions
    assert m.question == (m.questions[0] if m.questions else None)
    assert _records(m.answers) == answers
    assert _records(m.authorities) == authorities
    if additionals == ["OPT"]:
        assert [r.type for r in m.additionals] == [41]
    else:
        assert _records(m.additionals) == additionals
    sections = {"questions", "answers", "authorities", "additionals", "question", "edns"}
    assert public_fields(m) - sections - set(header) == set(), "Message fields not checked"
    assert m.edns is None or v is EDNS_QUERY
    assert len(pkt.payload) == header["size"]


def test_edns() -> None:
    edns = EDNS_QUERY.decode().dns.edns
    assert (edns.payload_size, edns.ext_rcode, edns.version, edns.do, edns.z) == (
        1232, 0, 0, True, 0)
    assert [(o.code, o.name) for o in edns.options] == [(10, "COOKIE")]
    cookie = edns.options[0].value
    assert (cookie.client, cookie.server) == (bytes.fromhex("0102030405060708"), b"")


def test_record_text() -> None:
    """Presentation format (RFC 1035 5.1): names absolute, TXT strings quoted."""
    texts = {v.name: [r.text for r in v.decode().dns.records()] for v in VECTORS}
    assert texts["response_a"] == ["192.0.2.80"]
    assert texts["response_cname_aaaa"] == ["cdn.example.com.", "2001:db8::80"]
    assert texts["nxdomain"] == [
        "ns.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"]
    assert texts["mx_txt"] == ["10 mail.example.net.", '"v=spf1 -all" "hello"']


@pytest.mark.parametrize("cut", [12, 20, 33, 40])
def test_response_cut_by_snaplen(cut: int) -> None:
    """The response captured with `cut` of its 45 DNS bytes: the message decodes as far
    as it goes and says what is missing, never raises."""
    pkt = Vector(f"cut_{cut}", RESPONSE_A.hex, cut=42 + cut).decode()
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "truncated payload")
    m = pkt.dns
    assert m.id == 0x1A2B and m.counts == (1, 1, 0, 0)
    assert m.problems and len(m.answers) == 0


# ---------------------------------------------------------------- craft

def _udp(dns: object, reply: bool = False, sport: int = 40000, dport: int = 53,
         ip_id: int = 0) -> object:
    src, dst = (SERVER, CLIENT) if reply else (CLIENT, SERVER)
    macs = ("02:00:00:00:00:02", "02:00:00:00:00:01") if reply else (
        "02:00:00:00:00:01", "02:00:00:00:00:02")
    ports = (dport, sport) if reply else (sport, dport)
    return (Ethernet(src=macs[0], dst=macs[1]) / IPv4(src=src, dst=dst, id=ip_id, flags="DF")
            / UDP(src_port=ports[0], dst_port=ports[1]) / dns)


CRAFT = {
    "query_a": lambda: _udp(DNS.query(EX, "A", id=0x1A2B), ip_id=0x40),
    "response_a": lambda: _udp(DNS(id=0x1A2B, qr=1, ra=1, questions=[Question(EX, "A")],
                                   answers=[Record(EX, "A", "192.0.2.80", 300)]),
                               reply=True, ip_id=0x41),
    "response_cname_aaaa": lambda: _udp(DNS(
        id=0x0102, qr=1, ra=1, questions=[Question("www.example.com", "AAAA")],
        answers=[Record("www.example.com", "CNAME", "cdn.example.com", 60),
                 Record("cdn.example.com", "AAAA", "2001:db8::80", 120)]), reply=True,
        ip_id=0x42),
    # the SOA's names go as written (uncompressed), so its rdata is given as bytes
    "nxdomain": lambda: _udp(DNS(
        id=0x0BAD, qr=1, ra=1, rcode=3, questions=[Question("nope.example.com", "A")],
        authorities=[Record(EX, "SOA", NXDOMAIN.frame[88:], 3600)]), reply=True, ip_id=0x43),
    "edns_query": lambda: _udp(DNS(
        id=0x7777, ad=1, questions=[Question("example.org", "DNSKEY")],
        additionals=[Record.opt(1232, do=True,
                                options=[(10, bytes.fromhex("0102030405060708"))])]),
        ip_id=0x44),
    "mx_txt": lambda: _udp(DNS(
        id=0x0303, qr=1, aa=1, ra=1, questions=[Question("example.net", "MX")],
        answers=[Record("example.net", "MX", (10, "mail.example.net"), 3600),
                 Record("example.net", "TXT", ["v=spf1 -all", "hello"], 3600)]), reply=True,
        ip_id=0x45),
    # a looping pointer cannot be crafted from names: the message is given as bytes
    "pointer_loop": lambda: _udp(Raw(POINTER_LOOP.frame[42:]), reply=True, ip_id=0x46),
    "count_beyond_message": lambda: _udp(DNS(id=0x0505, qr=1, ra=1, ancount=1,
                                             questions=[Question(EX, "A")]), reply=True,
                                         ip_id=0x47),
    "mdns_announcement": lambda: (
        Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IPv4(src=CLIENT, dst="224.0.0.251", id=0x48, ttl=255)
        / UDP(src_port=5353, dst_port=5353)
        / DNS(qr=1, aa=1, rd=0, answers=[Record("host.local", "A", "192.0.2.7", 120,
                                                rclass=0x8001)])),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


def test_crafted_udp_dns_gets_port_53() -> None:
    """The binding table: UDP()/DNS() fills destination port 53."""
    frame = bytes(Ethernet() / IPv4() / UDP(src_port=40000) / DNS.query(EX))
    assert frame[36:38] == (53).to_bytes(2, "big")


# ---------------------------------------------------------------- round trip

ROUND_TRIP_XFAIL = {
    "nxdomain": "an SOA whose names are not compressed the way the crafting writer compresses "
                "comes back from to_layers() as Raw, not as a DNS layer",
    "pointer_loop": "a message with a looping name comes back from to_layers() as Raw",
    "count_beyond_message": "a message whose answer count exceeds its data comes back from "
                            "to_layers() as Raw, though the decoder reads its header and question",
}


@pytest.mark.parametrize("v", [
    pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
    if v.name in ROUND_TRIP_XFAIL else v for v in VECTORS], ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    """to_layers() rebuilds the frame with a DNS layer saying what the decoded message says."""
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    dns = layers.getlayer(DNS)
    assert dns is not None, repr(layers)
    m = pkt.dns
    for name in ("id", "qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad", "cd"):
        assert dns.value(name) == getattr(m, name), name
    assert dns.value("rcode") == m.header_rcode
    assert [(q.name, q.type) for q in dns.questions] == [(q.name, q.type) for q in m.questions]
    assert [(r.name, r.type, r.ttl) for r in dns.answers] == [
        (r.name, r.type, r.ttl) for r in m.answers]


def test_round_trip_class_field_name() -> None:
    dns = RESPONSE_A.decode().to_layers().getlayer(DNS)
    assert dns.questions[0].cls == 1 and dns.answers[0].cls == 1


# ---------------------------------------------------------------- field names

# (vector, catalogue field) -> why wirecraft's value is not tshark's
TSHARK_DIFFERS_AT = {
    ("pointer_loop", "dns.resp.name"): "a name whose pointer loops: tshark writes an error text "
                                       "in its place, wirecraft the root '.' (and flags the "
                                       "message name_pointer_loop)",
}


def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("dns").fields]
    check_fields_against_tshark(VECTORS, names, differs=TSHARK_DIFFERS_AT)


@pytest.mark.parametrize("pair", [pytest.param(pair, marks=pytest.mark.xfail(strict=True,
                                                                            reason=reason))
                                  for pair, reason in TSHARK_DIFFERS_AT.items()],
                         ids=[f"{v}-{f}" for v, f in TSHARK_DIFFERS_AT])
def test_known_differences_from_tshark(pair: tuple[str, str]) -> None:
    catalogue("dns")
    check_differences(VECTORS, {pair: TSHARK_DIFFERS_AT[pair]})


def test_dnspython_cross_check() -> None:
    dns_message = pytest.importorskip("dns.message")
    for v in VECTORS:
        if v in (POINTER_LOOP, COUNT_BEYOND_MESSAGE):
            continue    # dnspython raises on these; wirecraft flags them
        theirs = dns_message.from_wire(v.frame[42:])
        m = v.decode().dns
        assert (theirs.id, theirs.flags, theirs.rcode()) == (m.id, m.flags, m.rcode), v.name
        assert [str(rr.name).rstrip(".") or "." for rr in theirs.question] == [
            q.name for q in m.questions]
        assert sum(len(rrset) for rrset in theirs.answer) == len(m.answers), v.name


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
