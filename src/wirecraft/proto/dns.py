"""DNS (RFC 1035; EDNS0 RFC 6891; mDNS RFC 6762; LLMNR RFC 4795): the field catalogue
and the one copy of DNS's vocabulary.

DNS is not in the decoder's fixed-width record: the message is decoded lazily, on first
access to `pkt.dns` (ext/wirecraft/_dns.pyx), so every field here is an `extra_value`
hook computing its value from that decoded Message. Fields that a message holds several
of (one per answer, say) give a list, in message order, as tshark prints several values;
a field absent from the message gives None. The hooks see only the message, so an LLMNR
message's C and T bits (RFC 4795 2.1.1) are read as dns.flags.authoritative and
dns.flags.recdesired, where tshark, knowing the port, names them conflict and tentative.

The tables (in _dns_names, re-exported here) are the only ones: the decoder (`wirecraft._dns`, re-exported by
`wirecraft.dns`) and crafting (`wirecraft.craft.dns`) both read them, so every type the
decoder names can be crafted by its mnemonic. `FLAGS` is the header's flag layout
(RFC 1035 4.1.1, RFC 4035 3.2 for AD/CD): crafting packs with it, the decoded Message's
flag properties read the same bits (tests/test_dns_catalogue.py checks they agree).
"""

from __future__ import annotations

# the tables live in _dns_names, importable without the catalogue; these names are theirs
from ._dns_names import (  # noqa: F401
    CLASS_CODES,
    CLASS_NAMES,
    FLAG_BITS,
    FLAGS,
    OPCODE_NAMES,
    RCODE_NAMES,
    TYPE_CODES,
    TYPE_NAMES,
    pack_flags,
    unpack_flags,
)
from ._spec import Field, Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any

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
