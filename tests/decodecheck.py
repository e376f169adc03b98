"""The decoder's bounds invariant, checked on any decoded packet (captures, prefixes, fuzz).

Every byte range a record names lies inside the captured frame: the payload
(`payload_offset + payload_length <= caplen`) and each decoded layer's header
(its offset plus the header length the decoder walked). The payload view must
return exactly those bytes, so a view can never read past `caplen`.
"""

from __future__ import annotations

import numpy as np

from wirecraft import _ext
from wirecraft.table import RECORD_DTYPE

_core = _ext.load("_core")
L = _core.LAYER_BITS
LINK_HEADER = {1: 14, 113: 16, 276: 20, 0: 4, 108: 4}


def record_of(pkt) -> np.ndarray:
    return np.frombuffer(pkt.batch.record_bytes(), dtype=RECORD_DTYPE)[pkt.position]


def check_bounds(pkt) -> None:
    """Assert the bounds invariant for one packet (and that its payload view honours it)."""
    r = record_of(pkt)
    caplen = int(r["caplen"])
    data = pkt.data
    assert len(data) == caplen
    po, pl = int(r["payload_offset"]), int(r["payload_length"])
    where = (data.hex(), pkt.linktype, pkt.stop_layer, pkt.stop_reason)
    assert po <= caplen and po + pl <= caplen, ("payload", po, pl, caplen, where)
    assert pkt.payload == data[po:po + pl], where
    assert pkt.payload_length == pl
    l3, l4 = int(r["l3_offset"]), int(r["l4_offset"])
    assert l3 <= caplen and l4 <= caplen, ("offsets", l3, l4, where)
    layers = int(r["layers"])
    link = LINK_HEADER.get(pkt.linktype, 0)
    if layers & (L["eth"] | L["sll"] | L["null"]):
        assert link <= caplen, where
    if layers & L["vlan"]:
        assert link + 4 * int(r["vlan_count"]) <= caplen, where
        assert l3 == link + 4 * int(r["vlan_count"]), where
    if layers & L["arp"]:
        assert l3 + 8 <= caplen, where
        if r["arp_sender_ip"] or r["arp_target_ip"] or r["arp_sender_mac"]:
            assert l3 + 28 <= caplen, where
    l4_bits = L["tcp"] | L["udp"] | L["icmp"] | L["icmpv6"]
    if layers & (L["ipv4"] | L["ipv6"]):
        assert l3 + 1 <= caplen, where
        if layers & l4_bits:
            # the whole IP header (IPv6: with every extension header walked) came first
            if layers & L["ipv4"]:
                assert l4 == l3 + int(r["ip_header_length"]), where
            else:
                assert l3 + 40 <= l4, where
    if layers & l4_bits:
        assert l4 + 4 <= caplen, where
        assert l4 <= po, where
        complete = not (pkt.stop_layer == "transport"
                        and pkt.stop_reason in ("truncated header", "fragmented header",
                                                "bad length"))
        if layers & L["tcp"] and complete:
            assert l4 + int(r["tcp_header_length"]) <= caplen, where
            assert po == l4 + int(r["tcp_header_length"]), where
        if layers & L["udp"] and complete:
            assert l4 + 8 <= caplen and po == l4 + 8, where
    elif layers & (L["ipv4"] | L["ipv6"]) and pkt.stop_reason not in ("truncated header",):
        assert po >= l3, where
    if pkt.tcp is not None and pkt.tcp.header_length and pkt.tcp.header_length > 20:
        assert len(pkt.tcp.options_bytes) <= max(caplen - l4 - 20, 0), where
