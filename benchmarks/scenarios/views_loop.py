"""The per-packet scenario's loop over wirecraft Packet views (wc_packets.py times it over
wirecraft.read(); per_packet_floor.py also runs it over plain pre-built objects)."""

from common import COUNT_KEYS


def count_views(packets):
    """The measured loop over Packet views, in a function so that its variables are fast
    locals (the same for every library: module-level globals would add a dict lookup per
    use). Returns (packets, counts, digest)."""
    c = dict.fromkeys(COUNT_KEYS, 0)  # a plain dict: see METHOD.md, per-packet
    n = 0
    digest = 0
    for pkt in packets:
        n += 1
        if pkt.vlan:
            c["vlan"] += 1
        ip = pkt.ip
        if ip is None:
            if pkt.arp is not None:
                c["arp"] += 1
            continue
        c["ipv4" if ip.version == 4 else "ipv6"] += 1
        src, dst = ip.src, ip.dst
        digest += len(src) + len(dst)
        tcp = pkt.tcp
        if tcp is not None:
            c["tcp"] += 1
            sp, dp = tcp.src_port, tcp.dst_port
            if sp == 25 or dp == 25:
                c["tcp_port_25"] += 1
            digest += sp + dp
            continue
        udp = pkt.udp
        if udp is not None:
            c["udp"] += 1
            sp, dp = udp.src_port, udp.dst_port
            if sp == 53 or dp == 53:
                c["dns_messages"] += 1
            digest += sp + dp
        elif pkt.icmp is not None:
            c["icmp"] += 1
        elif pkt.icmpv6 is not None:
            c["icmpv6"] += 1
    return n, c, digest
