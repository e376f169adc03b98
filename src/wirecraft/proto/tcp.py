"""TCP (RFC 9293; options RFC 7323, RFC 2018; AE bit RFC 9768): the field catalogue.

The C decoder that fills these slots is ext/wirecraft/proto/tcp.pxd; the view's
plain properties are generated from the rows below, the hand-written part of
the view (options, flag letters) lives with the decoder.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

# ---------------------------------------------------------------- vocabulary shared by view and crafting

# flag bits, lowest first, with tcpdump's letters ('.' is ACK) and scapy's letters
FLAGS: tuple[tuple[int, str, str, str], ...] = (
    # (bit, name, tcpdump letter, scapy letter)
    (0x001, "fin", "F", "F"),
    (0x002, "syn", "S", "S"),
    (0x004, "reset", "R", "R"),
    (0x008, "push", "P", "P"),
    (0x010, "ack", ".", "A"),
    (0x020, "urg", "U", "U"),
    (0x040, "ece", "E", "E"),
    (0x080, "cwr", "W", "C"),
    (0x100, "ae", "N", "N"),
)

# option kinds -> the one name used by Packet views, crafting layers and JSON
OPTION_NAMES: dict[int, str] = {
    0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sack_permitted", 5: "sack",
    8: "timestamp", 28: "user_timeout", 29: "tcp_ao", 30: "mptcp", 34: "tfo",
}
OPTION_KINDS: dict[str, int] = {v: k for k, v in OPTION_NAMES.items()}


def _option(view: object, name: str) -> object:
    for oname, value in view.options:  # type: ignore[attr-defined]
        if oname == name:
            return value
    return None


def _ts(view: object, i: int) -> int | None:
    ts = _option(view, "timestamp")
    return None if ts is None else ts[i]  # type: ignore[index]


# ---------------------------------------------------------------- the declaration

def _flag(bit: int, name: str, doc: str, **more: object) -> Field:
    return Field(f"tcp.flags.{name}", "FT_BOOLEAN", doc, slot="tcp_flags", getter="bool",
                 mask=bit, need=14, **more)  # type: ignore[arg-type]


PROTOCOL = Protocol(
    name="tcp",
    title="Transmission Control Protocol",
    reference="RFC 9293",
    view="TCPView",
    packet_attr="tcp",
    layer_bit="tcp",
    craft="TCP",
    json="tcp",
    header="l4_offset",
    slots=(
        Slot("l4_src_port", "u16", "transport source port (TCP or UDP)"),
        Slot("l4_dst_port", "u16", "transport destination port (TCP or UDP)"),
        Slot("tcp_seq", "u32", "TCP sequence number"),
        Slot("tcp_ack", "u32", "TCP acknowledgment number"),
        Slot("tcp_flags", "u16", "TCP's 12 flag bits (reserved, AE, CWR ... FIN)"),
        Slot("tcp_window", "u16", "TCP window (unscaled)"),
        Slot("tcp_urgent", "u16", "TCP urgent pointer"),
        Slot("tcp_checksum", "u16", "TCP checksum as on the wire"),
        Slot("tcp_header_length", "u8", "TCP header length in bytes (data offset x 4)"),
    ),
    fields=(
        Field("tcp.srcport", "FT_UINT16", "Source port", attr="src_port", slot="l4_src_port",
              column="tcp_src_port", json="src_port", craft="src_port", at=(0, 2), hot=True),
        Field("tcp.dstport", "FT_UINT16", "Destination port", attr="dst_port",
              slot="l4_dst_port", column="tcp_dst_port", json="dst_port", craft="dst_port",
              at=(2, 2), hot=True),
        Field("tcp.seq_raw", "FT_UINT32", "Sequence number (raw, not relative)", attr="seq",
              slot="tcp_seq", need=8, column="tcp_seq", json="seq", craft="seq", at=(4, 4)),
        Field("tcp.ack_raw", "FT_UINT32", "Acknowledgment number (raw, not relative)",
              attr="ack", slot="tcp_ack", need=12, column="tcp_ack", json="ack", craft="ack",
              at=(8, 4)),
        Field("tcp.flags", "FT_UINT16", "Flags (12 bits)", attr="flags", slot="tcp_flags",
              need=14, column="tcp_flags", json="flags", craft="flags", at=(12, 2),
              bits=(0, 0x1FF)),
        _flag(0x001, "fin", "Fin"),
        _flag(0x002, "syn", "Syn"),
        _flag(0x004, "reset", "Reset"),
        _flag(0x008, "push", "Push"),
        _flag(0x010, "ack", "Acknowledgment"),
        _flag(0x020, "urg", "Urgent"),
        _flag(0x040, "ece", "ECN-Echo"),
        _flag(0x080, "cwr", "Congestion Window Reduced"),
        # RFC 9768 renamed the nonce-sum bit (RFC 3540, historic) Accurate ECN; tshark
        # before 4.0 called it tcp.flags.ns
        _flag(0x100, "ae", "Accurate ECN (formerly NS, nonce sum)", attr="ae",
              column="tcp_flags_ae", json="ae", aliases=("tcp.flags.ns",)),
        _flag(0xE00, "res", "Reserved (any of the 3 bits above AE set)", attr="res",
              column="tcp_flags_res"),
        Field("tcp.flags.reserved", "FT_UINT8", "The 3 reserved bits as a number (0-7)",
              attr="reserved", slot="tcp_flags", shift=9, mask=7, need=14,
              column="tcp_flags_reserved", json="reserved", craft="reserved", at=(12, 2),
              bits=(9, 7)),
        # tshark's tcp.flags.str is a 12-character picture ('·······A··S·'), not these
        Field("tcp.flags.letters", "FT_STRING", "Flags as tcpdump's letters ('S.' for SYN-ACK)",
              attr="flags_str", getter="custom", json="flags_str"),
        Field("tcp.window_size_value", "FT_UINT16", "Window (unscaled)", attr="window",
              slot="tcp_window", need=16, column="tcp_window", json="window", craft="window",
              at=(14, 2)),
        Field("tcp.hdr_len", "FT_UINT8", "Header length in bytes", attr="header_length",
              slot="tcp_header_length", need=14, column="tcp_header_length",
              json="header_length", craft="header_length", at=(12, 1), bits=(4, 0xF),
              wire=lambda n: n * 4),
        Field("tcp.checksum", "FT_UINT16", "Checksum", attr="checksum", slot="tcp_checksum",
              need=18, column="tcp_checksum", craft="checksum", at=(16, 2)),
        Field("tcp.urgent_pointer", "FT_UINT16", "Urgent pointer", attr="urgent",
              slot="tcp_urgent", need=20, column="tcp_urgent", json="urgent", craft="urgent",
              at=(18, 2)),
        Field("tcp.options", "FT_BYTES", "Options, raw bytes", attr="options_bytes",
              getter="custom", craft="options"),
        Field("tcp.options.decoded", "FT_NONE", "Options as [(name, value)] (see "
              "TCPView.options)", attr="options", getter="custom"),
        Field("tcp.options.mss_val", "FT_UINT16", "MSS value", getter="custom",
              extra_value=lambda v: _option(v, "mss")),
        Field("tcp.options.wscale.shift", "FT_UINT8", "Window scale shift count",
              getter="custom", extra_value=lambda v: _option(v, "wscale")),
        Field("tcp.options.sack_perm", "FT_BOOLEAN", "SACK permitted option present",
              getter="custom", extra_value=lambda v: _option(v, "sack_permitted") is not None),
        Field("tcp.options.timestamp.tsval", "FT_UINT32", "Timestamp value",
              getter="custom", extra_value=lambda v: _ts(v, 0)),
        Field("tcp.options.timestamp.tsecr", "FT_UINT32", "Timestamp echo reply",
              getter="custom", extra_value=lambda v: _ts(v, 1)),
    ),
)
