"""Differential fuzz target: wirecraft's DNS decoder against dnspython's.

Input: one DNS message. When dnspython accepts it (`dns.message.from_wire`, one record
per RRset so that nothing is merged, TSIG taken without a key), wirecraft (mDNS class
bits not split, as dnspython does not split them) must agree on the id, the header
flags, the rcode, every question's name, type and class, every record's owner name,
type and class in every section in order, and EDNS (present, version, payload size, DO
bit); records it types must not be flagged malformed, and the text it prints for their
rdata must be presentation format that dnspython reads back to the same rdata. Names
are compared label by label, exactly (both read the same octets; dnspython's escapes
are decoded by reading wirecraft's text with `dns.name.from_text`).

What dnspython rejects is not compared: wirecraft decodes it as far as it goes and
flags it, which the `dns` target checks.
"""

from __future__ import annotations

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from fuzzkit import Input

from wirecraft import dns as wdns

OPT, TSIG = 41, 250
# types whose rdata text is compared, in class IN (both implementations type them; the
# others are compared by name, type and class only)
TEXT_TYPES = frozenset({1, 2, 5, 6, 12, 13, 15, 16, 17, 18, 28, 33, 35, 39, 43, 44, 46, 47,
                        48, 50, 51, 52, 62, 64, 65, 256, 257})


def _name(text: str) -> tuple[bytes, ...]:
    """The labels of a name printed by wirecraft, read as presentation format."""
    return dns.name.from_text(text, origin=dns.name.root).labels


def _mnemonics_dnspython_lacks() -> dict[str, str]:
    """wirecraft's type mnemonics that dnspython does not read (IANA names such as NIMLOC;
    RFC 3597's TYPEnnn is the same type), each with its TYPEnnn spelling."""
    out = {}
    for code, name in wdns.TYPE_NAMES.items():
        try:
            dns.rdatatype.from_text(name)
        except dns.exception.DNSException:
            out[name] = f"TYPE{code}"
    return out


LACKED = _mnemonics_dnspython_lacks()


def _for_dnspython(rdtype: int, text: str) -> str:
    """wirecraft's rdata text with the type mnemonics dnspython lacks as TYPEnnn (in the
    types that name types: RRSIG, NSEC, NSEC3, CSYNC)."""
    if not LACKED or rdtype not in (46, 47, 50, 62):
        return text
    return " ".join(LACKED.get(token, token) for token in text.split(" "))


def _dp_records(m: dns.message.Message, section: int) -> list[tuple]:
    out = []
    for rrset in m.sections[section]:
        rdatas = list(rrset) or [None]
        for rd in rdatas:
            out.append((rrset.name, rrset.rdtype, rrset.rdclass, rd))
    return out


def _parse(wire: bytes) -> dns.message.Message | None:
    try:
        return dns.message.from_wire(wire, keyring=False, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, TypeError, KeyError, IndexError,
            UnicodeError, OverflowError, AttributeError, AssertionError):
        return None


def compare(wire: bytes) -> None:
    m = _parse(wire)
    if m is None:
        return
    w = wdns.decode(wire, mdns=False)
    where = wire.hex()
    assert w.id == m.id, ("id", w.id, m.id, where)
    assert w.flags == int(m.flags), ("flags", w.flags, int(m.flags), where)
    assert w.rcode == int(m.rcode()), ("rcode", w.rcode, int(m.rcode()), where)
    questions = [(rr.name, rr.rdtype, rr.rdclass) for rr in m.sections[0]]
    assert len(w.questions) == len(questions), ("questions", w.questions, questions, where)
    for q, (name, rdtype, rdclass) in zip(w.questions, questions, strict=True):
        assert (_name(q.name), q.type, q.cls) == (name.labels, rdtype, rdclass), (
            "question", q.name, q.type, q.cls, name, rdtype, rdclass, where)
    sections = (w.answers, w.authorities,
                [r for r in w.additionals if r.type not in (OPT, TSIG)])
    for k, got in enumerate(sections, start=1):
        want = _dp_records(m, k)
        assert len(got) == len(want), ("records in section", k, [str(r) for r in got],
                                       [str(x) for x in want], where)
        for r, (name, rdtype, rdclass, rd) in zip(got, want, strict=True):
            assert (_name(r.name), r.type, r.cls) == (name.labels, rdtype, rdclass), (
                "record", k, str(r), name, rdtype, rdclass, where)
            if rd is None:
                continue
            if r.type in TEXT_TYPES and rdclass == 1:    # other classes: generic rdata
                assert not r.malformed, ("typed rdata flagged malformed", k, str(r), rd, where)
                back = dns.rdata.from_text(rdclass, rdtype, _for_dnspython(rdtype, r.text),
                                           origin=dns.name.root,
                                           relativize=False)
                assert back == rd, ("rdata text", k, r.text, rd.to_text(), where)
    assert (w.edns is not None) == (m.opt is not None), ("edns", w.edns, m.opt, where)
    if m.opt is not None:
        e = w.edns
        assert (e.version, e.payload_size, e.do) == (m.edns, m.payload,
                                                     bool(m.ednsflags & 0x8000)), (
            "edns", e, m.edns, m.payload, m.ednsflags, where)
    assert (w.tsig is not None) == (m.tsig is not None), ("tsig", w.tsig, m.tsig, where)


def TestOneInput(data: bytes) -> None:
    compare(Input(data).rest())


def seeds() -> list[bytes]:
    """The sample captures' DNS messages (the `dns` target's payloads) and messages
    dnspython makes for each record type both implementations type."""
    from fuzz_dns import payloads

    out = payloads()
    examples = {
        "A": "192.0.2.1", "NS": "ns.example.", "CNAME": "a.example.", "SOA":
        "ns.example. host.example. 1 2 3 4 5", "PTR": "p.example.", "HINFO": '"cpu" "os"',
        "MX": "10 mx.example.", "TXT": '"a b" "c\\"d" "\\255"', "AAAA": "2001:db8::1",
        "SRV": "1 2 3 t.example.", "NAPTR": '1 2 "u" "E2U+sip" "!^.*$!x!" .',
        "DNAME": "d.example.", "DS": "1 8 2 " + "ab" * 32, "SSHFP": "1 1 " + "cd" * 20,
        "RRSIG": "A 8 2 300 20250101000000 20240101000000 1 s.example. AAAA",
        "NSEC": "n.example. A MX RRSIG NSEC", "DNSKEY": "257 3 8 AwEAAQ==",
        "NSEC3": "1 0 10 aabb 2t7b4g4vsa5smi47k61mv5bv1a22bojr A",
        "NSEC3PARAM": "1 0 10 aabb", "TLSA": "3 1 1 " + "ef" * 32,
        "SVCB": '1 . alpn="h2,h3" port=443', "HTTPS": "1 . alpn=h2 ipv4hint=192.0.2.1",
        "CAA": '0 issue "ca.example"', "URI": '1 2 "https://x/"', "AFSDB": "1 a.example.",
        "RP": "m.example. t.example.", "CSYNC": "1 3 A NS",
    }
    for rdtype, text in examples.items():
        try:
            q = dns.message.make_query("Q.example.", rdtype, use_edns=0, want_dnssec=True)
            r = dns.message.make_response(q)
            rrset = r.find_rrset(r.answer, dns.name.from_text("Q.example."),
                                 dns.rdataclass.IN, dns.rdatatype.from_text(rdtype),
                                 create=True)
            rrset.add(dns.rdata.from_text("IN", rdtype, text), 300)
            out.append(r.to_wire())
        except dns.exception.DNSException:
            continue
    return out
