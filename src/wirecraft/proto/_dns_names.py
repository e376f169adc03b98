"""DNS's vocabulary, the one copy: type, class, rcode and opcode names, and the header's
flag layout.

Kept apart from the DNS field catalogue (wirecraft.proto.dns, which re-exports all of it)
so that the decoder (`wirecraft._dns`, imported by every `wirecraft.dns` user) and
crafting read these tables without building the catalogue. Plain dicts and tuples: this
module imports nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
