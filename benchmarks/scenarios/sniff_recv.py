"""Live-capture receiver for the veth benchmark: capture COUNT frames on IFACE with wirecraft.

    python sniff_recv.py IFACE COUNT TIMEOUT raw|decode|write [OUT.pcap]

Prints READY once the capture handle is open, then one JSON line with the packets captured
and libpcap's kernel counters when COUNT frames arrived or TIMEOUT seconds passed.
"""

import json
import sys

import wirecraft.live
from wirecraft.writers import PcapWriter

iface, count, timeout, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
n = 0
digest = 0
with wirecraft.live.Sniffer(iface, count=count, timeout=timeout,
                            buffer_size=4 << 20) as sniffer:
    print("READY", flush=True)
    if mode == "raw":
        for raw in sniffer.raw_batches():
            n += len(raw)
    else:
        writer = PcapWriter(sys.argv[5], sniffer.linktype) if mode == "write" else None
        for batch in sniffer.packet_batches():
            for pkt in batch:
                n += 1
                ip = pkt.ip
                if ip is not None:
                    digest += len(ip.src) + len(ip.dst)
                    udp = pkt.udp
                    if udp is not None:
                        digest += udp.src_port + udp.dst_port
                if writer is not None:
                    writer.write(pkt.data, pkt.time_ns, pkt.wire_len)
        if writer is not None:
            writer.close()
    stats = sniffer.stats().as_dict()
print(json.dumps({"captured": n, "stats": stats, "digest": digest}), flush=True)
