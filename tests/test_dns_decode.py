"""Round trip with dnspython: messages it builds decode to the fields it parses back.

Also the presentation forms (str(record)) against dnspython's to_text for types whose
text form is unambiguous, and mDNS/LLMNR/EDNS/TSIG specifics.
"""

from __future__ import annotations

import base64
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest

import wirecraft.dns as wdns

ECH = base64.b64encode(b"\x00\x06abcdef").decode()

RECORDS = [
    ("www.example.com.", "A", "192.0.2.1"),
    ("www.example.com.", "AAAA", "2001:db8::1"),
    ("www.example.com.", "AAAA", "::ffff:192.0.2.1"),
    ("example.com.", "NS", "ns1.example.com."),
    ("alias.example.com.", "CNAME", "www.example.com."),
    ("sub.example.com.", "DNAME", "other.example.net."),
    ("1.2.0.192.in-addr.arpa.", "PTR", "www.example.com."),
    ("example.com.", "MX", "10 mail.example.com."),
    ("example.com.", "TXT", '"v=spf1 -all" "second \\"quoted\\" string" "\\000\\255"'),
    ("example.com.", "TXT", '""'),
    ("example.com.", "SPF", '"v=spf1 ~all"'),
    ("example.com.", "SOA", "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
                            "1209600 300"),
    ("_sip._tcp.example.com.", "SRV", "10 60 5060 sip.example.com."),
    ("example.com.", "NAPTR", '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("example.com.", "CAA", '0 issue "letsencrypt.org"'),
    ("example.com.", "CAA", '128 iodef "mailto:security@example.com"'),
    ("host.example.com.", "HINFO", '"x86_64" "Linux"'),
    ("example.com.", "RP", "admin.example.com. info.example.com."),
    ("example.com.", "AFSDB", "1 afs.example.com."),
    ("host.example.com.", "SSHFP", "4 2 " + "ab" * 32),
    ("_443._tcp.www.example.com.", "TLSA", "3 1 1 " + "cd" * 32),
    ("_443._tcp.www.example.com.", "SMIMEA", "3 0 1 " + "ef" * 32),
    ("example.com.", "DS", "12345 13 2 " + "01" * 32),
    ("example.com.", "CDS", "12345 13 2 " + "02" * 32),
    ("example.com.", "DNSKEY", "257 3 13 " + base64.b64encode(bytes(range(64))).decode()),
    ("example.com.", "CDNSKEY", "256 3 8 " + base64.b64encode(bytes(range(100))).decode()),
    ("example.com.", "RRSIG", "A 13 2 300 20250101000000 20241201000000 12345 example.com. "
                              + base64.b64encode(bytes(range(64))).decode()),
    ("a.example.com.", "NSEC", "d.example.com. A MX RRSIG NSEC TYPE1234 CAA"),
    ("example.com.", "NSEC3", "1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA RRSIG "
                              "DNSKEY NSEC3PARAM"),
    ("example.com.", "NSEC3", "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A"),
    ("example.com.", "NSEC3PARAM", "1 0 10 AABBCCDD"),
    ("example.com.", "CSYNC", "66 3 A NS AAAA"),
    ("_ftp._tcp.example.com.", "URI", '10 1 "ftp://ftp1.example.com/public"'),
    ("example.com.", "SVCB", "1 svc.example.net. alpn=h2,h3 port=8443 ipv4hint=192.0.2.1,"
                             "192.0.2.2 ipv6hint=2001:db8::1"),
    ("example.com.", "HTTPS", f"1 . mandatory=alpn,port alpn=h3 no-default-alpn port=443 "
                              f"ech={ECH} key65000=\\001\\002"),
    ("example.com.", "HTTPS", "0 alias.example.com."),
    ("example.com.", "DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="),
    ("example.com.", "OPENPGPKEY", base64.b64encode(b"not really a key").decode()),
    ("example.com.", "TYPE65280", "\\# 4 DEADBEEF"),
    ("example.com.", "TYPE65281", "\\# 0"),
]


def _names(n: dns.name.Name) -> str:
    text = n.to_text(omit_final_dot=True)
    return text if text != "" else "."


def _windows_types(windows) -> tuple[int, ...]:
    out = []
    for window, bitmap in windows:
        for i, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    out.append(window * 256 + i * 8 + bit)
    return tuple(out)


def _expected(rd) -> object:
    """What wirecraft's .data should be for dnspython's rdata object."""
    t = rd.rdtype
    if t in (1, 28):
        return rd.address
    if t in (2, 5, 12, 39):
        return _names(rd.target)
    if t == 15:
        return wdns.MX(rd.preference, _names(rd.exchange))
    if t in (16, 99):
        return tuple(rd.strings)
    if t == 6:
        return wdns.SOA(_names(rd.mname), _names(rd.rname), rd.serial, rd.refresh, rd.retry,
                        rd.expire, rd.minimum)
    if t == 33:
        return wdns.SRV(rd.priority, rd.weight, rd.port, _names(rd.target))
    if t == 35:
        return wdns.NAPTR(rd.order, rd.preference, rd.flags, rd.service, rd.regexp,
                          _names(rd.replacement))
    if t == 257:
        return wdns.CAA(rd.flags, rd.tag, rd.value)
    if t == 13:
        return wdns.HINFO(rd.cpu, rd.os)
    if t == 14:
        return wdns.MINFO(_names(rd.rmailbx), _names(rd.emailbx))
    if t == 17:
        return wdns.RP(_names(rd.mbox), _names(rd.txt))
    if t == 18:
        return wdns.AFSDB(rd.subtype, _names(rd.hostname))
    if t == 44:
        return wdns.SSHFP(rd.algorithm, rd.fp_type, rd.fingerprint)
    if t in (52, 53):
        return wdns.TLSA(rd.usage, rd.selector, rd.mtype, rd.cert)
    if t in (43, 59):
        return wdns.DS(rd.key_tag, rd.algorithm, rd.digest_type, rd.digest)
    if t in (48, 60):
        return wdns.DNSKEY(rd.flags, rd.protocol, rd.algorithm, rd.key)
    if t == 46:
        return wdns.RRSIG(rd.type_covered, rd.algorithm, rd.labels, rd.original_ttl,
                          rd.expiration, rd.inception, rd.key_tag, _names(rd.signer),
                          rd.signature)
    if t == 47:
        return wdns.NSEC(_names(rd.next), _windows_types(rd.windows))
    if t == 50:
        return wdns.NSEC3(rd.algorithm, rd.flags, rd.iterations, rd.salt, rd.next,
                          _windows_types(rd.windows))
    if t == 51:
        return wdns.NSEC3PARAM(rd.algorithm, rd.flags, rd.iterations, rd.salt)
    if t == 62:
        return wdns.CSYNC(rd.serial, rd.flags, _windows_types(rd.windows))
    if t == 256:
        return wdns.URI(rd.priority, rd.weight, rd.target)
    if t in (64, 65):
        params = {}
        for key, value in sorted(rd.params.items()):
            name = wdns._dns.SVC_PARAM_NAMES.get(int(key), f"key{int(key)}")
            if value is None:
                params[name] = True
            elif hasattr(value, "ids"):
                params[name] = tuple(value.ids)
            elif hasattr(value, "port"):
                params[name] = value.port
            elif hasattr(value, "addresses"):
                params[name] = tuple(value.addresses)
            elif hasattr(value, "keys"):
                params[name] = tuple(int(k) for k in value.keys)
            elif hasattr(value, "ech"):
                params[name] = value.ech
            else:
                params[name] = value.value
        return wdns.SVCB(rd.priority, _names(rd.target), params)
    if t == 49:
        return rd.data
    if t == 61:
        return rd.key
    return rd.data  # generic rdata: raw bytes


def _build_response() -> dns.message.Message:
    query = dns.message.make_query("example.com.", "ANY", want_dnssec=True)
    resp = dns.message.make_response(query)
    resp.flags |= dns.flags.AA | dns.flags.AD
    for i, (owner, rtype, text) in enumerate(RECORDS):
        section = (resp.answer, resp.authority, resp.additional)[i % 3]
        section.append(dns.rrset.from_text(owner, 300 + i, "IN", rtype, text))
    return resp


def _section_fields(rrsets) -> list[tuple]:
    out = []
    for rrset in rrsets:
        for rd in rrset:
            out.append((_names(rrset.name), int(rrset.rdtype), int(rrset.rdclass), rrset.ttl,
                        _expected(rd)))
    return out


def _mine(records) -> list[tuple]:
    return [(r.name, r.type, r.cls, r.ttl, r.data) for r in records
            if r.type not in (41, 250)]


def test_round_trip_many_types() -> None:
    resp = _build_response()
    wire = resp.to_wire(max_size=65535)
    back = dns.message.from_wire(wire)
    msg = wdns.decode(wire)
    assert msg.problems == []
    assert msg.id == back.id and msg.flags == back.flags
    assert (msg.qr, msg.aa, msg.ad, msg.rd) == (True, True, True, True)
    assert [(q.name, q.type, q.cls) for q in msg.questions] == [("example.com", 255, 1)]
    assert _mine(msg.answers) == _section_fields(back.answer)
    assert _mine(msg.authorities) == _section_fields(back.authority)
    assert _mine(msg.additionals) == _section_fields(back.additional)
    assert len(msg.records()) == len(RECORDS) + 1  # + OPT
    # every typed record got typed data, none fell back to raw bytes by accident
    for r in msg.records():
        assert not r.malformed
        if r.type < 65280 and r.type not in (49, 61):
            assert not isinstance(r.data, bytes), r


def test_presentation_matches_dnspython() -> None:
    resp = _build_response()
    msg = wdns.decode(resp.to_wire(max_size=65535))
    back = dns.message.from_wire(resp.to_wire(max_size=65535))
    theirs = {}
    for rrset in back.answer + back.authority + back.additional:
        for rd in rrset:
            theirs.setdefault((_names(rrset.name), int(rrset.rdtype)), []).append(
                rd.to_text())
    # types whose text form dnspython and dig write the same way
    same_form = {"A", "AAAA", "NS", "CNAME", "DNAME", "PTR", "MX", "TXT", "SPF", "SOA", "SRV",
                 "NAPTR", "HINFO", "MINFO", "RP", "AFSDB", "DS", "CDS", "NSEC",
                 "NSEC3PARAM", "CSYNC", "URI"}
    checked = 0
    for r in msg.records():
        if r.type_name in same_form:
            assert r.text.lower() in [t.lower() for t in theirs[(r.name, r.type)]], r
            checked += 1
        # the zone-file line is owner, TTL, class, type, rdata
        owner, ttl, cls, rtype, text = str(r).split("\t")
        assert owner == (r.name + "." if r.name != "." else ".") and int(ttl) == r.ttl
        if r.type != 41:
            assert (cls, rtype, text) == (r.class_name, r.type_name, r.text)
    assert checked >= 20
    unknown = [r for r in msg.records() if r.type == 65280]
    assert str(unknown[0]).endswith("TYPE65280\t\\# 4 DEADBEEF")


def test_edns_options_and_extended_rcode() -> None:
    query = dns.message.make_query("example.com.", "A", use_edns=0, payload=1232,
                                   want_dnssec=True)
    resp = dns.message.make_response(query)
    resp.use_edns(0, dns.flags.DO, 1232, options=[
        dns.edns.ECSOption("192.0.2.0", 24, 20),
        dns.edns.ECSOption("2001:db8::", 48, 0),
        dns.edns.CookieOption(b"clientck", b"servercookie1234"),
        dns.edns.NSIDOption(b"ns1.example"),
        dns.edns.EDEOption(dns.edns.EDECode.STALE_ANSWER, "served stale"),
        dns.edns.GenericOption(11, b"\x00\x96"),
        dns.edns.GenericOption(12, bytes(20)),
        dns.edns.GenericOption(65001, b"xyz"),
    ])
    resp.set_rcode(dns.rcode.BADVERS)
    wire = resp.to_wire(max_size=65535)
    back = dns.message.from_wire(wire)
    msg = wdns.decode(wire)
    assert msg.problems == []
    assert msg.rcode == back.rcode() == 16 and msg.rcode_name == "BADVERS"
    assert msg.header_rcode == 0
    e = msg.edns
    assert (e.payload_size, e.version, e.do, e.ext_rcode) == (1232, 0, True, 1)
    values = [(o.code, o.name, o.value) for o in e.options]
    assert values == [
        (8, "ECS", wdns.ClientSubnet(1, 24, 20, "192.0.2.0")),
        (8, "ECS", wdns.ClientSubnet(2, 48, 0, "2001:db8::")),
        (10, "COOKIE", wdns.Cookie(b"clientck", b"servercookie1234")),
        (3, "NSID", b"ns1.example"),
        (15, "EDE", wdns.ExtendedError(3, "served stale")),
        (11, "KEEPALIVE", 150),
        (12, "PADDING", bytes(20)),
        (65001, "OPT65001", b"xyz"),
    ]
    assert [o.otype for o in back.options] == [o.code for o in e.options]
    assert msg.additionals[0].data is e


def test_tsig_signed_message() -> None:
    keyring = dns.tsigkeyring.from_text({"key.example.": base64.b64encode(b"k" * 32).decode()})
    query = dns.message.make_query("example.com.", "SOA")
    query.use_tsig(keyring, "key.example.", algorithm=dns.tsig.HMAC_SHA256)
    wire = query.to_wire()
    back = dns.message.from_wire(wire, keyring=keyring)
    msg = wdns.decode(wire)
    assert msg.problems == []
    t = msg.tsig.data
    assert msg.tsig is msg.additionals[-1]
    assert t.algorithm == "hmac-sha256"
    assert t.mac == back.mac and t.original_id == back.id and t.fudge == 300
    assert str(msg.tsig).startswith("key.example.\t0\tANY\tTSIG\thmac-sha256. ")


def test_name_escapes_like_dig() -> None:
    name = dns.name.Name([b"a.b", b"sp ace", b"\x00\xff", b'q"(;)@$\\', b"com", b""])
    query = dns.message.make_query(name, "A")
    msg = wdns.decode(query.to_wire())
    assert msg.questions[0].name == name.to_text(omit_final_dot=True)
    assert msg.questions[0].name == 'a\\.b.sp\\032ace.\\000\\255.q\\"\\(\\;\\)\\@\\$\\\\.com'


def test_mdns_bits() -> None:
    # QU question and cache-flush answer (RFC 6762 5.4, 10.2)
    data = struct.pack("!HHHHHH", 0, 0x8400, 1, 1, 0, 0)
    data += b"\x04host\x05local\x00" + struct.pack("!HH", 1, 0x8001)
    data += b"\xc0\x0c" + struct.pack("!HHIH", 1, 0x8001, 120, 4) + bytes([10, 0, 0, 7])
    msg = wdns.decode(data)
    assert msg.questions[0].unicast_response and msg.questions[0].cls == 1
    rr = msg.answers[0]
    assert rr.cache_flush and rr.cls == 1 and rr.data == "10.0.0.7"
    raw = wdns.decode(data, mdns=False)
    assert raw.answers[0].cls == 0x8001 and not raw.answers[0].cache_flush
    # CH class with the top bit: only split when asked (mdns=True)
    data2 = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + b"\x00" + struct.pack(
        "!HHIH", 1, 0x8003, 120, 4) + bytes(4)
    assert wdns.decode(data2).answers[0].cls == 0x8003
    assert wdns.decode(data2, mdns=True).answers[0].cls == 3


def test_minfo_and_compressed_rdata_names() -> None:
    # MINFO (dnspython has no class for it): two names, the second compressed
    rdata = b"\x05admin\x07example\x03com\x00" + b"\x06errors" + struct.pack("!H", 0xC000 | 29)
    data = struct.pack("!HHHHHH", 1, 0x8000, 0, 1, 0, 0) + b"\x00" + struct.pack(
        "!HHIH", 14, 1, 60, len(rdata)) + rdata
    msg = wdns.decode(data)
    assert msg.problems == []
    assert msg.answers[0].data == wdns.MINFO("admin.example.com", "errors.example.com")
    assert msg.answers[0].text == "admin.example.com. errors.example.com."


def test_llmnr_header_bits() -> None:
    # LLMNR (RFC 4795 2.1.1): C is where AA is, T where RD is
    data = struct.pack("!HHHHHH", 77, 0x8500, 1, 0, 0, 0) + b"\x04host\x00" + struct.pack(
        "!HH", 1, 1)
    msg = wdns.decode(data)
    assert msg.qr and msg.aa and msg.rd and msg.id == 77
    assert msg.questions[0].name == "host"


@pytest.mark.parametrize("rtype", ["A", "AAAA", "MX", "TXT", "SOA", "HTTPS", "NSEC"])
def test_query_round_trip(rtype: str) -> None:
    query = dns.message.make_query("Mixed.Case.Example.", rtype, use_edns=0)
    msg = wdns.decode(query.to_wire())
    assert msg.problems == [] and not msg.qr and msg.rd
    assert msg.questions[0].name == "Mixed.Case.Example"
    assert msg.questions[0].type_name == rtype
    assert msg.edns.payload_size == query.payload
