"""Named values of the decoder record's bit and code fields, for Python code and users.

The core decoder (ext/wirecraft) stores, for each packet, which layers it decoded
(`layers`, a bit set), where and why decoding stopped (`stop_layer`, `stop_reason`) and
what looked wrong (`anomalies`, a bit set): C enums in the record declaration and the
reader. These are their Python mirrors, so code that works on records or Table columns
(wirecraft.live's wire-length inference, table.py's `truncated` column, a user's numpy mask)
names a bit instead of copying its number:

    rec["anomalies"] & Anomaly.IP6_JUMBO
    np.isin(rec["stop_reason"], StopReason.truncated())

tests/test_flags.py checks that every value here equals the C enum of the same name
(`A_IP6_JUMBO`, `L_TCP`, `S_NETWORK`, `R_BAD_LENGTH` ...) and the tables the extension
exports (`_core.LAYER_BITS`, `ANOMALIES`, `STOP_LAYERS`, `STOP_REASONS`). Importing this
module loads no compiled extension.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["LABELS", "Anomaly", "App", "Layer", "StopLayer", "StopReason", "labels"]


class Layer(IntFlag):
    """Bits of the record's `layers` field: the headers the decoder decoded (L_*)."""

    ETH = 1 << 0
    VLAN = 1 << 1
    SLL = 1 << 2
    ARP = 1 << 3
    IPV4 = 1 << 4
    IPV6 = 1 << 5
    TCP = 1 << 6
    UDP = 1 << 7
    ICMP = 1 << 8
    ICMPV6 = 1 << 9
    FRAG = 1 << 10       # an IP fragment (IPv4 MF/offset or an IPv6 fragment header)
    IPOPT = 1 << 11      # IPv4 options present
    NULL = 1 << 12       # BSD loopback / null link header

    @classmethod
    def of(cls, name: str) -> Layer:
        """The bit of a `_core.LAYER_BITS` key ("eth", "tcp", "fragment", "ip_options" ...)."""
        return cls[_LAYER_KEYS.get(name, name).upper()]


# LAYER_BITS keys that are not the member name in lower case
_LAYER_KEYS = {"fragment": "frag", "ip_options": "ipopt"}


class StopLayer(IntEnum):
    """The record's `stop_layer`: where decoding stopped (S_*); 0 when it did not stop."""

    NONE = 0
    LINK = 1
    VLAN = 2
    ARP = 3
    NETWORK = 4
    TRANSPORT = 5
    PAYLOAD = 6


class App(IntEnum):
    """The record's `app`: the application its ports suggest (APP_*); NONE for none."""

    NONE = 0
    DNS = 1
    MDNS = 2
    LLMNR = 3
    SMTP = 4


class StopReason(IntEnum):
    """The record's `stop_reason`: why decoding stopped (R_*); OK when it did not."""

    OK = 0
    TRUNCATED_HEADER = 1
    TRUNCATED_PAYLOAD = 2
    BAD_LENGTH = 3
    BAD_VERSION = 4
    UNSUPPORTED = 5
    NON_FIRST_FRAGMENT = 6
    FRAGMENTED_HEADER = 7  # first fragment: the transport header continues in the next

    @classmethod
    def truncated(cls) -> tuple[StopReason, StopReason]:
        """The reasons that mean "the capture cut the packet short" (Table's `truncated`)."""
        return cls.TRUNCATED_HEADER, cls.TRUNCATED_PAYLOAD


class Anomaly(IntFlag):
    """Bits of the record's `anomalies` field (A_*): the decoder's, then the reader's."""

    SNAPLEN_CUT = 1 << 0
    CAPLEN_GT_WIRE = 1 << 1
    IP_LEN_BEYOND_CAPTURE = 1 << 2
    IP_LEN_TOO_SHORT = 1 << 3
    IP_HEADER_LEN_BAD = 1 << 4
    UDP_LEN_MISMATCH = 1 << 5
    UDP_LEN_BAD = 1 << 6
    TCP_DOFF_BAD = 1 << 7
    TCP_HEADER_BEYOND = 1 << 8
    IP6_EXT_TRUNCATED = 1 << 9
    IP6_EXT_LIMIT = 1 << 10
    VLAN_LIMIT = 1 << 11
    IP6_JUMBO = 1 << 12        # IPv6 payload length 0: the length is in a jumbo option
    IP_FRAGMENT = 1 << 13      # informational
    TUNNEL = 1 << 14           # informational: IP in IP, not decoded
    ETH_LENGTH_FIELD = 1 << 15  # informational: 802.3 length, LLC not decoded
    # set only when checksums are verified (checksums=True)
    IP_BAD_CHECKSUM = 1 << 16
    TCP_BAD_CHECKSUM = 1 << 17
    UDP_BAD_CHECKSUM = 1 << 18
    ICMP_BAD_CHECKSUM = 1 << 19
    ICMPV6_BAD_CHECKSUM = 1 << 20
    # found by the reader, not the decoder
    BAD_TIMESTAMP = 1 << 28
    TIMESTAMP_RANGE = 1 << 29
    IFACE_DROPPED = 1 << 30

    @classmethod
    def informational(cls) -> Anomaly:
        """Bits that are facts about a packet, not problems (`_core.INFORMATIONAL_ANOMALIES`)."""
        return cls.IP_FRAGMENT | cls.TUNNEL | cls.ETH_LENGTH_FIELD


# the record's enumeration columns and their codes: the categories of the Table's typed
# exports (to_arrow, to_pandas, to_polars, to_parquet)
LABELS: dict[str, type[IntEnum]] = {"stop_layer": StopLayer, "stop_reason": StopReason,
                                    "app": App}


def labels(column: str) -> dict[int, str]:
    """{code: label} of an enumeration column (`stop_layer`, `stop_reason`, `app`): the
    member names in lower case, such as `truncated_header` or `smtp`."""
    return {int(m): m.name.lower() for m in LABELS[column]}
