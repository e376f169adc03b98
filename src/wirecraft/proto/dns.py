"""DNS (RFC 1035; EDNS0 RFC 6891; mDNS RFC 6762; LLMNR RFC 4795): the field catalogue
and the one copy of DNS's vocabulary.

DNS is not in the decoder's fixed-width record: the message is decoded lazily, on first
access to `pkt.dns` (ext/wirecraft/_dns.pyx), so every field here is an `extra_value`
hook computing its value from that decoded Message. Fields that a message holds several
of (one per answer, say) give a list, in message order, as tshark prints several values;
a field absent from the message gives None. The hooks see only the message, so an LLMNR
message's C and T bits (RFC 4795 2.1.1) are read as dns.flags.authoritative and
dns.flags.recdesired, where tshark, knowing the port, names them conflict and tentative.

The tables below are the only ones: the decoder (`wirecraft._dns`, re-exported by
`wirecraft.dns`) and crafting (`wirecraft.craft.dns`) both read them, so every type the
decoder names can be crafted by its mnemonic. `FLAGS` is the header's flag layout
(RFC 1035 4.1.1, RFC 4035 3.2 for AD/CD): crafting packs with it, the decoded Message's
flag properties read the same bits (tests/test_dns_catalogue.py checks they agree).
"""

from __future__ import annotations

from typing import Any

from ._spec import Field, Protocol

# ---------------------------------------------------------------- type, class, rcode, opcode names

TYPE_NAMES: dict[int, str] = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR",
    24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT",
    31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT",
    38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
    45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
    51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY",
    58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD",
    64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
    103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP", 108: "EUI48",
    109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
    254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 258: "AVC", 259: "DOA",
    260: "AMTRELAY", 32768: "TA", 32769: "DLV",
}
TYPE_CODES: dict[str, int] = {v: k for k, v in TYPE_NAMES.items()}
CLASS_NAMES: dict[int, str] = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
CLASS_CODES: dict[str, int] = {v: k for k, v in CLASS_NAMES.items()}
RCODE_NAMES: dict[int, str] = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
    11: "DSOTYPENI", 16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE",
    20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
}
OPCODE_NAMES: dict[int, str] = {
    0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}

# ---------------------------------------------------------------- the header's flag layout

# (crafting field / decoded property, shift, width, tshark name, dig's flag text or None)
FLAGS: tuple[tuple[str, int, int, str, str | None], ...] = (
    ("qr", 15, 1, "dns.flags.response", "qr"),
    ("opcode", 11, 4, "dns.flags.opcode", None),
    ("aa", 10, 1, "dns.flags.authoritative", "aa"),
    ("tc", 9, 1, "dns.flags.truncated", "tc"),
    ("rd", 8, 1, "dns.flags.recdesired", "rd"),
    ("ra", 7, 1, "dns.flags.recavail", "ra"),
    ("z", 6, 1, "dns.flags.z", "z"),
    ("ad", 5, 1, "dns.flags.authenticated", "ad"),
    ("cd", 4, 1, "dns.flags.checkdisable", "cd"),
    ("rcode", 0, 4, "dns.flags.rcode", None),
)
# the single-bit flags as dig names them, highest bit first: (mask, text)
FLAG_BITS: tuple[tuple[int, str], ...] = tuple(
    (1 << shift, text) for _, shift, width, _, text in FLAGS if text is not None)


def _make_packer() -> Any:
    # one expression made from FLAGS, as dataclasses make their __init__: crafting packs
    # the word per message, and this is as fast as the expression written out by hand
    expr = " | ".join(f"(v.{name} & {(1 << width) - 1}) << {shift}"
                      for name, shift, width, _, _ in FLAGS)
    fn = eval(f"lambda v: {expr}", {})  # noqa: S307 - built from the constant table above
    fn.__name__ = fn.__qualname__ = "pack_flags"
    fn.__doc__ = ("The 16-bit flags word from an object with one attribute per FLAGS name "
                  "(a crafted DNS layer); each value is masked to its width.")
    return fn


pack_flags = _make_packer()


def unpack_flags(word: int) -> dict[str, int]:
    """The FLAGS names and their values in a 16-bit flags word."""
    return {name: (word >> shift) & ((1 << width) - 1) for name, shift, width, _, _ in FLAGS}


# ---------------------------------------------------------------- hooks over the decoded Message

def _first_question(attr: str) -> Any:
    def get(msg: Any) -> Any:
        qs = msg.questions
        return [getattr(q, attr) for q in qs] if qs else None
    return get


def _records(msg: Any) -> list[Any]:
    return msg.answers + msg.authorities + msg.additionals


def _resp(attr: str, skip_opt: bool) -> Any:
    # tshark's dns.resp.* cover every section; OPT has a name and a type but no TTL/class
    def get(msg: Any) -> Any:
        values = [getattr(r, attr) for r in _records(msg) if not (skip_opt and r.type == 41)]
        return values or None
    return get


def _data_of(rtype: int, pick: Any = None) -> Any:
    # the typed data of every record of one type, in every section (as tshark's dns.a
    # and kin); a record whose rdata did not parse has no typed data and is left out
    def get(msg: Any) -> Any:
        values = [r.data if pick is None else pick(r.data) for r in _records(msg)
                  if r.type == rtype and not r.malformed]
        return values or None
    return get


# flags only a response carries: tshark shows them on responses only, so they are absent
# (None) on a query here too and `dns.flags.rcode == 0` matches only responses. AD may
# be set in a query (RFC 6840 5.7): there it is present when set, as tshark shows it.
_RESPONSE_ONLY = frozenset({"aa", "ra", "ad", "rcode"})


def _flag(name: str, shift: int, width: int, tshark: str, doc: str) -> Field:
    mask = (1 << width) - 1
    ftype = "FT_BOOLEAN" if width == 1 else "FT_UINT16"
    if name == "rcode":  # the header's 4 bits; msg.rcode adds OPT's extended bits
        def get(m: Any) -> Any:
            return m.header_rcode if m.flags & 0x8000 else None
    elif name == "ad":
        def get(m: Any) -> Any:
            return bool((m.flags >> shift) & 1) if m.flags & 0x8020 else None
    elif width == 1 and name in _RESPONSE_ONLY:
        def get(m: Any) -> Any:
            return bool((m.flags >> shift) & 1) if m.flags & 0x8000 else None
    elif width == 1:
        def get(m: Any) -> Any:
            return bool((m.flags >> shift) & 1)
    else:
        def get(m: Any) -> Any:
            return (m.flags >> shift) & mask
    return Field(tshark, ftype, doc, craft=name, extra_value=get)


_FLAG_DOCS = {
    "qr": "Response (QR): the message is a response", "opcode": "Opcode",
    "aa": "Authoritative answer (AA; responses only)", "tc": "Truncated (TC)",
    "rd": "Recursion desired (RD)", "ra": "Recursion available (RA; responses only)",
    "z": "Z: reserved bit", "ad": "Answer authenticated (AD; responses only)",
    "cd": "Checking disabled (CD)",
    "rcode": "Reply code (the header's 4 bits; responses only)",
}


def _flat_txt(msg: Any) -> Any:
    # text, one byte one character (latin-1), as tshark shows a character-string; the
    # record's data (Record.data) keeps the bytes
    values = [s.decode("latin-1") for r in _records(msg) if r.type == 16 and not r.malformed
              for s in r.data]
    return values or None


PROTOCOL = Protocol(
    name="dns",
    title="Domain Name System",
    reference="RFC 1035",
    packet_attr="dns",
    craft="DNS",
    json=None,   # `read --json` does not decode DNS (a packet's JSON stays L2-L4)
    extra={"lazy": "pkt.dns: a wirecraft.dns.Message, decoded on first access"},
    fields=(
        Field("dns.id", "FT_UINT16", "Transaction ID", craft="id", at=(0, 2),
              extra_value=lambda m: m.id),
        Field("dns.flags", "FT_UINT16", "Flags (the 16-bit word)", at=(2, 2),
              extra_value=lambda m: m.flags),
        *(_flag(name, shift, width, tshark, _FLAG_DOCS[name])
          for name, shift, width, tshark, _ in FLAGS),
        Field("dns.count.queries", "FT_UINT16", "Questions (QDCOUNT as on the wire)",
              craft="qdcount", at=(4, 2), extra_value=lambda m: m.counts[0]),
        Field("dns.count.answers", "FT_UINT16", "Answer RRs (ANCOUNT as on the wire)",
              craft="ancount", at=(6, 2), extra_value=lambda m: m.counts[1]),
        Field("dns.count.auth_rr", "FT_UINT16", "Authority RRs (NSCOUNT as on the wire)",
              craft="nscount", at=(8, 2), extra_value=lambda m: m.counts[2]),
        Field("dns.count.add_rr", "FT_UINT16", "Additional RRs (ARCOUNT as on the wire)",
              craft="arcount", at=(10, 2), extra_value=lambda m: m.counts[3]),
        Field("dns.qry.name", "FT_STRING", "Question name (one per question)",
              extra_value=_first_question("name")),
        Field("dns.qry.type", "FT_UINT16", "Question type (one per question)",
              extra_value=_first_question("type")),
        Field("dns.qry.class", "FT_UINT16", "Question class (one per question)",
              extra_value=_first_question("cls")),
        Field("dns.resp.name", "FT_STRING", "Record owner name (every record, every section)",
              extra_value=_resp("name", False)),
        Field("dns.resp.type", "FT_UINT16", "Record type (every record, every section)",
              extra_value=_resp("type", False)),
        Field("dns.resp.class", "FT_UINT16", "Record class (every record but OPT)",
              extra_value=_resp("cls", True)),
        Field("dns.resp.ttl", "FT_UINT32", "Record time to live (every record but OPT)",
              extra_value=_resp("ttl", True)),
        Field("dns.resp.len", "FT_UINT16", "Record data length (every record)",
              extra_value=lambda m: [len(r.rdata) for r in _records(m)] or None),
        Field("dns.a", "FT_IPv4", "A record address", extra_value=_data_of(1)),
        Field("dns.aaaa", "FT_IPv6", "AAAA record address", extra_value=_data_of(28)),
        Field("dns.cname", "FT_STRING", "CNAME record target", extra_value=_data_of(5)),
        Field("dns.ns", "FT_STRING", "NS record name server", extra_value=_data_of(2)),
        Field("dns.ptr.domain_name", "FT_STRING", "PTR record domain name",
              extra_value=_data_of(12)),
        Field("dns.mx.preference", "FT_UINT16", "MX record preference",
              extra_value=_data_of(15, lambda d: d.preference)),
        Field("dns.mx.mail_exchange", "FT_STRING", "MX record mail exchange",
              extra_value=_data_of(15, lambda d: d.exchange)),
        Field("dns.txt", "FT_STRING", "TXT record strings (each character-string, as text: "
              "one byte one character)",
              extra_value=_flat_txt),
        Field("dns.soa.mname", "FT_STRING", "SOA primary name server",
              extra_value=_data_of(6, lambda d: d.mname)),
        Field("dns.soa.rname", "FT_STRING", "SOA responsible authority's mailbox",
              extra_value=_data_of(6, lambda d: d.rname)),
        Field("dns.soa.serial_number", "FT_UINT32", "SOA serial number",
              extra_value=_data_of(6, lambda d: d.serial)),
        Field("dns.srv.priority", "FT_UINT16", "SRV priority",
              extra_value=_data_of(33, lambda d: d.priority)),
        Field("dns.srv.weight", "FT_UINT16", "SRV weight",
              extra_value=_data_of(33, lambda d: d.weight)),
        Field("dns.srv.port", "FT_UINT16", "SRV port",
              extra_value=_data_of(33, lambda d: d.port)),
        Field("dns.srv.target", "FT_STRING", "SRV target",
              extra_value=_data_of(33, lambda d: d.target)),
        Field("dns.problems", "FT_STRING", "What was wrong with the message's bytes "
              "(wirecraft's problem names; absent when clean)",
              extra_value=lambda m: list(m.problems) or None),
    ),
)
