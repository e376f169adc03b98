"""The frame: capture metadata and the record's bookkeeping (pcap / pcapng record).

Not a protocol on the wire: what the capture file says about each frame (its
time, lengths, interface, comment) and what the decoder notes while walking it
(the offsets of each layer, the layers found, where and why it stopped). The
view is the Packet itself; its fields are top-level keys of `read --json`.
tshark's `frame.*` names where tshark has the field; `frame.time_ns`,
`frame.index`, `frame.linktype` and the decoder's own notes (`frame.layers`,
`frame.stop_layer`, ...) are wirecraft's, in the same style.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

# `read --json` keys emitted after the layers' objects (the rest come before them)
JSON_TAIL = ("payload_length", "app", "stop_layer", "stop_reason", "problems", "comment")

PROTOCOL = Protocol(
    name="frame",
    title="Frame",
    reference="pcap (RFC 9793 draft), pcapng (draft-ietf-opsawg-pcapng)",
    view="Packet",
    packet_attr=None,
    json="",            # top-level keys
    header="frame",
    extra={"json_tail": JSON_TAIL},
    slots=(
        Slot("ts_ns", "i64", "capture time, nanoseconds since the epoch"),
        Slot("index", "u64", "0-based position in the source (counting filtered packets)"),
        Slot("frame_offset", "u32", "offset of the frame in its batch's buffer", column=False),
        Slot("caplen", "u32", "bytes captured"),
        Slot("wire_len", "u32", "bytes on the wire"),
        Slot("l3_offset", "u32", "offset of the network header"),
        Slot("l4_offset", "u32", "offset of the transport header"),
        Slot("payload_offset", "u32", "offset of the bytes after the deepest decoded header"),
        Slot("payload_length", "u32", "payload bytes (bounded by the IP length and capture)"),
        Slot("anomalies", "u32", "anomaly bits (see _core.ANOMALIES)"),
        Slot("linktype", "u16", "LINKTYPE_* of the frame's interface"),
        Slot("iface", "u16", "pcapng interface id (0 for pcap)"),
        Slot("layers", "u16", "bits of the layers decoded (see _core.LAYER_BITS)"),
        Slot("app", "u8", "application guessed from the ports (APP_*)"),
        Slot("stop_layer", "u8", "deepest layer the decoder reached (S_*)"),
        Slot("stop_reason", "u8", "why decoding ended there (R_*)"),
    ),
    fields=(
        Field("frame.index", "FT_UINT64", "0-based position in the source (frame.number - 1)",
              attr="index", slot="index", json="index"),
        Field("frame.number", "FT_UINT32", "Frame number (1-based, as tshark counts)",
              getter="custom", packet_value=lambda p: p.index + 1),
        Field("frame.time_ns", "FT_INT64", "Arrival time, nanoseconds since the epoch",
              attr="time_ns", slot="ts_ns", json="time_ns"),
        Field("frame.time_epoch", "FT_RELATIVE_TIME", "Epoch time (seconds, a float)",
              attr="time", getter="custom"),
        Field("frame.cap_len", "FT_UINT32", "Frame length stored into the capture file",
              attr="caplen", slot="caplen", json="caplen"),
        Field("frame.len", "FT_UINT32", "Frame length on the wire", attr="wire_len",
              slot="wire_len", json="wire_len"),
        Field("frame.linktype", "FT_UINT16", "Link type (LINKTYPE_* number) of the interface",
              attr="linktype", slot="linktype", json="linktype"),
        Field("frame.interface_id", "FT_UINT32", "Interface id (pcapng; 0 for pcap)",
              attr="iface", slot="iface"),
        Field("frame.interface", "FT_NONE", "Interface description (pcapng IDB fields)",
              attr="interface", getter="custom"),
        Field("frame.comment", "FT_STRING", "Comment", attr="comment", getter="custom",
              json="comment"),
        Field("frame.data", "FT_BYTES", "The captured frame's bytes", attr="data",
              getter="custom"),
        Field("frame.layers", "FT_UINT16", "Bits of the layers decoded (LAYER_BITS)",
              attr="layers", slot="layers"),
        Field("frame.payload", "FT_BYTES", "Bytes after the deepest decoded header",
              attr="payload", getter="custom"),
        Field("frame.payload_offset", "FT_UINT32", "Offset of the payload in the frame",
              attr="payload_offset", slot="payload_offset"),
        Field("frame.payload_length", "FT_UINT32", "Payload length in bytes",
              attr="payload_length", slot="payload_length", getter="custom",
              json="payload_length"),
        Field("frame.app", "FT_STRING", "Application guessed from the ports (dns, smtp, ...)",
              attr="app", slot="app", getter="custom", json="app"),
        Field("frame.stop_layer", "FT_STRING", "Deepest layer the decoder reached",
              attr="stop_layer", slot="stop_layer", getter="custom", json="stop_layer"),
        Field("frame.stop_reason", "FT_STRING", "Why decoding ended there (None: clean)",
              attr="stop_reason", slot="stop_reason", getter="custom", json="stop_reason"),
        Field("frame.anomalies", "FT_UINT32", "Anomaly bits (see ANOMALIES)", attr="anomalies",
              slot="anomalies"),
        Field("frame.truncated", "FT_BOOLEAN", "Bytes the headers promise are missing",
              attr="truncated", getter="custom"),
        Field("frame.problems", "FT_STRING", "What was wrong with the packet (a list)",
              attr="problems", getter="custom", json="problems"),
    ),
)
