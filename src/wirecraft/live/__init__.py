"""Live capture from a network interface through libpcap (pcapy-ng).

    with wirecraft.sniff("eth0", filter="udp port 53", count=100) as s:
        for pkt in s:                        # Packet views, as when reading a file
            print(pkt.ip.src, pkt.udp.dst_port)
    print(s.stats())                         # captured, received, dropped ...

    for table in wirecraft.sniff("any", timeout=5).batches():   # Tables, one per read
        print(len(table), table["wire_len"].sum())

    wirecraft.sniff("eth0", count=10, callback=print)           # callback form
    wirecraft.sniff("eth0", stop_filter=lambda p: p.tcp and p.tcp.flags & 1)  # until a FIN

The engine opens the handle with `pcapy.create` + `activate`, puts it in
non-blocking mode and waits with `select` on its descriptor and on a wake-up
pipe, so `stop()` from another thread (or a signal handler) ends a capture at
once, however quiet the link. Each read is one `next_batch(batch)` call: Python
crosses into C once per batch, not per packet.

Wire length and truncation (pcapy-ng's batch metadata has no original length):
libpcap on Linux (TPACKET_V3, 256 KiB frames) cuts a packet only at the
snapshot length, so a record with ``caplen < snaplen`` is whole and its wire
length is its caplen. For a record that reaches the snaplen the wire length is
read from the packet itself: the link header length plus the IPv4 total length
(or 40 + the IPv6 payload length), as found by the batch decoder. A record cut
at the snaplen whose length cannot be inferred (not IP, or the IP header
itself cut) keeps ``wire_len == caplen`` and is counted in
``LiveStats.wire_len_unknown``: nothing is invented. The alternative, reading
libpcap's own header through `next()` / `dispatch()`, costs one Python call
per packet. Measured on this 2-core machine over 500,000 packets of 74 bytes
(pcapy-ng 2.1.0, bundled libpcap 1.9.1): `next_batch(128)` 15.5 Mpkt/s,
`next_batch(256)` 16.1 Mpkt/s, `next()` + `getlen()` 1.87 Mpkt/s, `dispatch`
with a callback 1.91 Mpkt/s -- an eight-fold cost on the read path for an
answer that the inference gives exactly for IP traffic. The inference costs
one extra decode of a batch only when one of its records reaches the snaplen:
decoding 128-record batches of those 74-byte frames runs at 7.3 Mpkt/s whole
and 2.4 Mpkt/s when every frame is cut at 64 bytes (still above `next()` alone).
tests/test_live_engine.py checks the inferred lengths against libpcap's headers,
read with `next()` from a second handle on the same live traffic (IPv4, IPv6,
802.1Q, TCP segments larger than the MTU, non-IP frames), and against the
recorded lengths of every sample capture cut at 64, 96 and 200 bytes.

With `workers > 1` (see `Sniffer.results`) the handles join one
PACKET_FANOUT_HASH group and each is read by its own forked process.

The package: `handle` (interfaces, handles, privileges), `batch` (RawBatch and
wire-length inference), `sniffer` (Sniffer, sniff, stop signals) and `workers` (the
fanout pool of worker processes).
"""

from __future__ import annotations

# the names the single module had, for code that imports them from wirecraft.live
from .batch import META_DTYPE as META_DTYPE
from .batch import RawBatch
from .batch import _wire_from_records as _wire_from_records
from .handle import (
    EXIT_NO_PERMISSION,
    Interface,
    InterfaceError,
    LiveStats,
    drop_privileges,
    interfaces,
)
from .handle import PERMISSION_HINT as PERMISSION_HINT
from .handle import open_handle as open_handle
from .sniffer import STOP, Sniffer, sniff
from .sniffer import install_stop_signals as install_stop_signals
from .workers import _die_with_parent as _die_with_parent

__all__ = [
    "EXIT_NO_PERMISSION",
    "Interface",
    "InterfaceError",
    "LiveStats",
    "RawBatch",
    "STOP",
    "Sniffer",
    "drop_privileges",
    "interfaces",
    "sniff",
]
