# Included by _dns.pyx (in order): shares its cimports and module scope.
# Limits, name-status bits, the type/class/rcode/opcode/EDNS/SvcParam name tables
# and the typed rdata classes (named tuples) the parser builds.

# an escaped label byte takes at most 4 characters (\DDD); plus dots: NAME_BUF
cdef enum:
    MAX_JUMPS = 20
    MAX_NAME = 255
    NAME_BUF = 1100

# --- name status bits --------------------------------------------------------------------
cdef enum:
    N_TRUNCATED = 1       # the name ran past the end of the message (or of its rdata)
    N_LOOP = 2            # a pointer aimed at itself or at a pointer/run already visited
    N_FORWARD = 4         # a pointer aimed forward of where the current run started
    N_JUMPS = 8           # more than MAX_JUMPS pointers
    N_LABEL = 16          # a label length byte 0x40-0xBF (length > 63 / reserved label type)
    N_LONG = 32           # more than 255 bytes on the wire
    N_FATAL = 64          # the problem came before any pointer: where the name ends is unknown

cdef tuple _NAME_FLAGS = (
    (N_TRUNCATED, "name_truncated"),
    (N_LOOP, "name_pointer_loop"),
    (N_FORWARD, "name_pointer_forward"),
    (N_JUMPS, "name_too_many_pointers"),
    (N_LABEL, "label_too_long"),
    (N_LONG, "name_too_long"),
)

# --- type, class, rcode, opcode names -----------------------------------------------------
# the one copy of these tables is the catalogue's (wirecraft.proto._dns_names, re-exported
# by wirecraft.proto.dns; importing it builds no catalogue): crafting reads the same
# dicts, so every type named here can be crafted by its mnemonic
from wirecraft.proto._dns_names import (CLASS_NAMES, FLAG_BITS, OPCODE_NAMES,
                                        RCODE_NAMES, TYPE_CODES, TYPE_NAMES)
EDNS_OPTION_NAMES = {
    1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE",
    10: "COOKIE", 11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN", 14: "KEY-TAG", 15: "EDE",
    16: "CLIENT-TAG", 17: "SERVER-TAG", 18: "REPORT-CHANNEL", 19: "ZONEVERSION",
}
SVC_PARAM_NAMES = {
    0: "mandatory", 1: "alpn", 2: "no-default-alpn", 3: "port", 4: "ipv4hint", 5: "ech",
    6: "ipv6hint", 7: "dohpath", 8: "ohttp",
}


def type_name(int rtype):
    """Mnemonic of a record type, or TYPEnnn (RFC 3597) when it has none."""
    name = TYPE_NAMES.get(rtype)
    return name if name is not None else f"TYPE{rtype}"


def class_name(int rclass):
    """Mnemonic of a class, or CLASSnnn (RFC 3597) when it has none."""
    name = CLASS_NAMES.get(rclass)
    return name if name is not None else f"CLASS{rclass}"


def rcode_name(int rcode):
    """Mnemonic of an (extended) response code, or RCODEnnn."""
    name = RCODE_NAMES.get(rcode)
    return name if name is not None else f"RCODE{rcode}"


# --- typed rdata ------------------------------------------------------------------------
class MX(namedtuple("MX", "preference exchange")):
    """MX, RT and KX rdata: a preference and a host name."""
    __slots__ = ()


class SOA(namedtuple("SOA", "mname rname serial refresh retry expire minimum")):
    """SOA rdata (RFC 1035 3.3.13)."""
    __slots__ = ()


class SRV(namedtuple("SRV", "priority weight port target")):
    """SRV rdata (RFC 2782)."""
    __slots__ = ()


class NAPTR(namedtuple("NAPTR", "order preference flags services regexp replacement")):
    """NAPTR rdata (RFC 3403); flags, services and regexp are bytes."""
    __slots__ = ()


class CAA(namedtuple("CAA", "flags tag value")):
    """CAA rdata (RFC 8659); tag and value are bytes."""
    __slots__ = ()


class HINFO(namedtuple("HINFO", "cpu os")):
    """HINFO rdata: two character-strings (bytes)."""
    __slots__ = ()


class MINFO(namedtuple("MINFO", "rmailbx emailbx")):
    """MINFO rdata: two mailbox names."""
    __slots__ = ()


class RP(namedtuple("RP", "mbox txt")):
    """RP rdata (RFC 1183): mailbox and TXT owner names."""
    __slots__ = ()


class AFSDB(namedtuple("AFSDB", "subtype hostname")):
    """AFSDB rdata (RFC 1183)."""
    __slots__ = ()


class SSHFP(namedtuple("SSHFP", "algorithm fp_type fingerprint")):
    """SSHFP rdata (RFC 4255)."""
    __slots__ = ()


class TLSA(namedtuple("TLSA", "usage selector mtype cert")):
    """TLSA/SMIMEA rdata (RFC 6698)."""
    __slots__ = ()


class DS(namedtuple("DS", "key_tag algorithm digest_type digest")):
    """DS/CDS/DLV rdata (RFC 4034 5)."""
    __slots__ = ()


class DNSKEY(namedtuple("DNSKEY", "flags protocol algorithm key")):
    """DNSKEY/CDNSKEY/KEY rdata (RFC 4034 2)."""
    __slots__ = ()


class RRSIG(namedtuple("RRSIG", "type_covered algorithm labels original_ttl expiration "
                                "inception key_tag signer signature")):
    """RRSIG/SIG rdata (RFC 4034 3); times are seconds since the epoch."""
    __slots__ = ()


class NSEC(namedtuple("NSEC", "next types")):
    """NSEC rdata (RFC 4034 4): next owner name and the type numbers of the bit map."""
    __slots__ = ()


class NSEC3(namedtuple("NSEC3", "algorithm flags iterations salt next types")):
    """NSEC3 rdata (RFC 5155); next is the raw hashed owner name."""
    __slots__ = ()


class NSEC3PARAM(namedtuple("NSEC3PARAM", "algorithm flags iterations salt")):
    """NSEC3PARAM rdata (RFC 5155 4)."""
    __slots__ = ()


class CSYNC(namedtuple("CSYNC", "serial flags types")):
    """CSYNC rdata (RFC 7477)."""
    __slots__ = ()


class URI(namedtuple("URI", "priority weight target")):
    """URI rdata (RFC 7553); target is bytes."""
    __slots__ = ()


class SVCB(namedtuple("SVCB", "priority target params")):
    """SVCB/HTTPS rdata (RFC 9460); params maps key name to a typed value."""
    __slots__ = ()


class TSIG(namedtuple("TSIG", "algorithm time_signed fudge mac original_id error other")):
    """TSIG rdata (RFC 8945)."""
    __slots__ = ()


class Edns(namedtuple("Edns", "payload_size ext_rcode version do z options")):
    """EDNS(0) from the OPT record (RFC 6891): ext_rcode is the upper 8 bits."""
    __slots__ = ()


class EdnsOption(namedtuple("EdnsOption", "code name value")):
    """One EDNS option; value is typed for ECS, COOKIE, KEEPALIVE, EDE, else bytes."""
    __slots__ = ()


class ClientSubnet(namedtuple("ClientSubnet", "family source_prefix scope_prefix address")):
    """EDNS client subnet (RFC 7871); address is text, zero-filled to the family's size."""
    __slots__ = ()


class Cookie(namedtuple("Cookie", "client server")):
    """DNS cookie (RFC 7873): 8-byte client cookie and an optional server cookie."""
    __slots__ = ()


class ExtendedError(namedtuple("ExtendedError", "code text")):
    """Extended DNS error (RFC 8914)."""
    __slots__ = ()


cdef str _option_name(unsigned int code):
    name = EDNS_OPTION_NAMES.get(code)
    return name if name is not None else f"OPT{code}"


cdef inline object _nt(object cls, tuple values):
    # tuple's own constructor: a named tuple without its Python-level __new__
    return tuple.__new__(cls, values)


class _Bad(Exception):
    """Internal: typed rdata did not fit its declared length."""
