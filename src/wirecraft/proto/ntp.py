"""NTP (RFC 5905, version 4; versions 1-3 share the header): the field catalogue.

A payload protocol (wirecraft.proto._payload): the 48-byte header is declared here,
field by field, and everything else is derived from these rows - `pkt.ntp`, Table
columns, `read --json`, `wirecraft fields ntp`, and the crafting layer
`wirecraft.craft.NTP`. The binding table carries it on UDP port 123.

Timestamps are NTP's 64-bit fixed point (seconds since 1900 in the high 32 bits):
`ntp.xmt` and its siblings read them as Unix time (float seconds; 0.0 when the
field is 0, NTP's "unknown"), `ntp.xmt_raw` and siblings as the exact integers the
crafting layer takes (a float given to the layer is converted).
"""

from __future__ import annotations

from ._spec import Field, Protocol

NTP_EPOCH_OFFSET = 2208988800   # seconds from 1900-01-01 to 1970-01-01


def _unix(n: int) -> float:
    return 0.0 if n == 0 else n / 4294967296 - NTP_EPOCH_OFFSET


def _ntp64(value: int | float) -> int:
    if isinstance(value, int):
        return value
    return 0 if value == 0 else round((value + NTP_EPOCH_OFFSET) * 4294967296)


def _stamp(name: str, at: int, doc: str) -> tuple[Field, Field]:
    return (Field(f"ntp.{name}", "FT_ABSOLUTE_TIME", f"{doc} (Unix time)", attr=name,
                  at=(at, 8), wire=_unix, json=name),
            Field(f"ntp.{name}_raw", "FT_UINT64", f"{doc} (NTP 64-bit fixed point)",
                  attr=f"{name}_raw", at=(at, 8), craft=name, encode=_ntp64))


PROTOCOL = Protocol(
    name="ntp",
    title="Network Time Protocol",
    reference="RFC 5905",
    packet_attr="ntp",
    craft="NTP",
    json="ntp",
    extra={"payload": True},
    fields=(
        Field("ntp.flags", "FT_UINT8", "Flags (leap indicator, version, mode)", attr="flags",
              at=(0, 1)),
        Field("ntp.flags.li", "FT_UINT8", "Leap indicator", attr="li", at=(0, 1),
              bits=(6, 3), craft="li", json="li"),
        Field("ntp.flags.vn", "FT_UINT8", "Version number", attr="version", at=(0, 1),
              bits=(3, 7), craft="version", default=4, json="version"),
        Field("ntp.flags.mode", "FT_UINT8", "Mode (3 client, 4 server, 5 broadcast...)",
              attr="mode", at=(0, 1), bits=(0, 7), craft="mode", default=3, json="mode"),
        Field("ntp.stratum", "FT_UINT8", "Peer clock stratum", attr="stratum", at=(1, 1),
              craft="stratum", json="stratum"),
        Field("ntp.ppoll", "FT_UINT8", "Peer polling interval (log2 seconds)", attr="poll",
              at=(2, 1), craft="poll", json="poll"),
        Field("ntp.precision", "FT_UINT8", "Peer clock precision (log2 seconds, signed)",
              attr="precision", at=(3, 1), craft="precision", json="precision"),
        Field("ntp.rootdelay", "FT_UINT32", "Root delay (16.16 fixed-point seconds)",
              attr="root_delay", at=(4, 4), craft="root_delay", json="root_delay"),
        Field("ntp.rootdispersion", "FT_UINT32", "Root dispersion (16.16 fixed point)",
              attr="root_dispersion", at=(8, 4), craft="root_dispersion",
              json="root_dispersion"),
        Field("ntp.refid", "FT_BYTES", "Reference ID", attr="refid", at=(12, 4),
              craft="refid", default=b"\0\0\0\0"),
        *_stamp("reftime", 16, "Reference timestamp"),
        *_stamp("org", 24, "Origin timestamp"),
        *_stamp("rec", 32, "Receive timestamp"),
        *_stamp("xmt", 40, "Transmit timestamp"),
    ),
)
