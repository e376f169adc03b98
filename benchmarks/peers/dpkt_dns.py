"""dpkt DNS: decode every DNS message (names, types, TTLs, typed rdata) and pair transactions."""

import time

T0 = time.perf_counter()
import socket  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dpkt  # noqa: E402
from common import args, emit, now  # noqa: E402

T1 = now()
a = args()
ntoa, ntop, AF6 = socket.inet_ntoa, socket.inet_ntop, socket.AF_INET6
D = dpkt.dns
A, AAAA, CNAME, NS, MX, TXT, SOA = (D.DNS_A, D.DNS_AAAA, D.DNS_CNAME, D.DNS_NS, D.DNS_MX,
                                    D.DNS_TXT, D.DNS_SOA)
IP, IP6, UDP = dpkt.ip.IP, dpkt.ip6.IP6, dpkt.udp.UDP


def rdata(rr):
    t = rr.type
    if t == A:
        return ntoa(rr.ip)
    if t == AAAA:
        return ntop(AF6, rr.ip6)
    if t == CNAME:
        return rr.cname
    if t == NS:
        return rr.nsname
    if t == MX:
        return (rr.preference, rr.mxname)
    if t == TXT:
        return rr.text
    if t == SOA:
        return (rr.mname, rr.rname, rr.serial, rr.refresh, rr.retry, rr.expire, rr.minimum)
    return rr.rdata


def scan(a):
    """The measured loop, in a function so that its variables are fast locals (the
    same for every library: module-level globals would add a dict lookup per use)."""
    c = Counter()
    pending = {}
    n = 0
    size = 0
    with open(a.file, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            n += 1
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, IP):
                src, dst = ntoa(ip.src), ntoa(ip.dst)
            elif isinstance(ip, IP6):
                src, dst = ntop(AF6, ip.src), ntop(AF6, ip.dst)
            else:
                continue
            udp = ip.data
            if not isinstance(udp, UDP) or 53 not in (udp.sport, udp.dport):
                continue
            msg = D.DNS(udp.data)
            c["dns_messages"] += 1
            questions = [(q.name, q.type, q.cls) for q in msg.qd]
            records = [(rr.name, rr.type, rr.cls, rr.ttl, rdata(rr))
                       for section in (msg.an, msg.ns, msg.ar) for rr in section]
            size += len(records)
            if msg.qr == D.DNS_Q:
                pending[(src, udp.sport, dst, msg.id, questions[0][0] if questions else "")] = (
                    questions)
            else:
                c["dns_answers"] += len(msg.an)
                key = (dst, udp.dport, src, msg.id, questions[0][0] if questions else "")
                if pending.pop(key, None) is not None:
                    c["dns_transactions"] += 1
            if a.limit and n >= a.limit:
                break
    return n, c, size


n, c, size = scan(a)
c["packets"] = n
emit(T0, T1, now(), c["dns_messages"], c, records=size)
