"""Probes people know by name, built on `wirecraft.sr`: ping, arping, traceroute, a port
scan and a DNS query.

    for hop in wirecraft.traceroute("192.0.2.9", method="udp"):
        print(hop.ttl, hop.replies)            # [(address, rtt seconds) or None, ...]
    result = wirecraft.ping("192.0.2.9", count=3)
    print(result.received, result.rtts)

Each probe is a crafted packet and each answer a decoded one, matched by `sr` (an echo
reply by identifier and sequence number, a router's time-exceeded by the probe it
quotes). The `wirecraft ping` and `wirecraft traceroute` commands print these the way
iputils' ping and traceroute do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Hop", "PingResult", "PortState", "QueryResult", "arping", "parse_ports", "ping",
           "query", "scan",
           "traceroute"]

TRACE_PORT = 33434          # traceroute's first UDP destination port


class PingResult:
    """What `ping` saw: one entry per echo request, its round trip in seconds or None."""

    __slots__ = ("host", "rtts", "ttls", "errors", "started", "elapsed")

    def __init__(self, host: str) -> None:
        self.host = host
        self.rtts: list[float | None] = []
        self.ttls: list[int | None] = []
        self.errors = 0             # requests answered by an ICMP error, not a reply
        self.started = time.monotonic()
        self.elapsed = 0.0

    @property
    def transmitted(self) -> int:
        return len(self.rtts)

    @property
    def received(self) -> int:
        return sum(r is not None for r in self.rtts)


def _family(host: str) -> int:
    return 6 if ":" in host else 4


def _echo(host: str, ident: int, seq: int, ttl: int | None = None, size: int = 56) -> Any:
    from .craft import ICMP, ICMPv6, IPv4, IPv6

    data = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
    if _family(host) == 6:
        ip = IPv6(dst=host) if ttl is None else IPv6(dst=host, hop_limit=ttl)
        return ip / ICMPv6(id=ident, seq=seq) / data[:size]
    ip4 = IPv4(dst=host) if ttl is None else IPv4(dst=host, ttl=ttl)
    return ip4 / ICMP(id=ident, seq=seq) / data[:size]


def ping(host: str, *, count: int = 4, interval: float = 1.0, timeout: float = 1.0,
         size: int = 56, iface: str | None = None,
         on_reply: Any = None) -> PingResult:
    """Echo requests to `host`, one every `interval` seconds, each waited for `timeout`.

    `on_reply(seq, answer, rtt)` is called as each answer (or None at its timeout)
    comes, so a command can print as ping does. An answer is the echo reply, or an ICMP
    error quoting the request (counted in `errors`, not as received)."""
    from .exchange import sr

    result = PingResult(host)
    ident = os.getpid() & 0xFFFF
    for seq in range(1, count + 1):
        start = time.monotonic()
        answered, _ = sr(_echo(host, ident, seq, size=size), iface=iface, timeout=timeout)
        answer, rtt = (answered[0][1], answered.rtt(0)) if answered else (None, None)
        if answer is not None and not is_echo_reply(answer):
            result.errors += 1              # an ICMP error quoting the request
            result.rtts.append(None)
            result.ttls.append(None)
        else:
            result.rtts.append(rtt if answer is not None else None)
            result.ttls.append(answer.ip.ttl if answer is not None else None)
        if on_reply is not None:
            on_reply(seq, answer, rtt)
        if seq < count:
            time.sleep(max(0.0, interval - (time.monotonic() - start)))
    result.elapsed = time.monotonic() - result.started
    return result


def is_echo_reply(answer: Any) -> bool:
    """Whether an answer to an echo request is its reply (not an ICMP error)."""
    icmp = answer.icmp if answer.icmp is not None else answer.icmpv6
    return icmp is not None and icmp.type in (0, 129)


# the text iputils' ping prints for an ICMP error, by (version, type, code)
ICMP_ERRORS = {
    (4, 3, 0): "Destination Net Unreachable", (4, 3, 1): "Destination Host Unreachable",
    (4, 3, 2): "Destination Protocol Unreachable", (4, 3, 3): "Destination Port Unreachable",
    (4, 3, 4): "Frag needed", (4, 3, 9): "Destination Net Prohibited",
    (4, 3, 10): "Destination Host Prohibited", (4, 3, 13): "Packet filtered",
    (4, 11, 0): "Time to live exceeded", (4, 11, 1): "Frag reassembly time exceeded",
    (6, 1, 0): "Destination unreachable: No route",
    (6, 1, 1): "Destination unreachable: Administratively prohibited",
    (6, 1, 3): "Destination unreachable: Address unreachable",
    (6, 1, 4): "Destination unreachable: Port unreachable",
    (6, 3, 0): "Time exceeded: Hop limit", (6, 2, 0): "Packet too big",
}


def icmp_error_text(answer: Any) -> str:
    """iputils' words for an ICMP error answer."""
    icmp = answer.icmp if answer.icmp is not None else answer.icmpv6
    version = 6 if answer.icmp is None else 4
    return ICMP_ERRORS.get((version, icmp.type, icmp.code),
                           f"ICMP type {icmp.type} code {icmp.code}")


class Hop:
    """One TTL of a traceroute: each probe's (address, rtt seconds) or None (`*`)."""

    __slots__ = ("ttl", "replies", "reached")

    def __init__(self, ttl: int, replies: list[tuple[str, float | None] | None],
                 reached: bool) -> None:
        self.ttl = ttl
        self.replies = replies
        self.reached = reached

    def __repr__(self) -> str:
        return f"Hop({self.ttl}, {self.replies}, reached={self.reached})"


def _trace_probe(host: str, method: str, ttl: int, n: int, ident: int, port: int) -> Any:
    from .craft import TCP, UDP, IPv4, IPv6

    if method == "icmp":
        return _echo(host, ident, ttl * 16 + n, ttl=ttl, size=32)
    ip = (IPv6(dst=host, hop_limit=ttl) if _family(host) == 6 else IPv4(dst=host, ttl=ttl))
    if method == "udp":
        return ip / UDP(src_port=ident | 0x8000, dst_port=port + (ttl - 1) * 3 + n) / bytes(32)
    if method == "tcp":
        return ip / TCP(src_port=(ident | 0x8000) ^ (ttl * 16 + n), dst_port=port,
                        seq=ttl * 16 + n, flags=0x02)
    raise ValueError(f"traceroute method {method!r}: use icmp, udp or tcp")


def _reached(answer: Any, host: str) -> bool:
    """Whether an answer comes from the destination itself (the trace ends there: its
    port unreachable, echo reply, SYN/ACK or RST)."""
    return answer.ip is not None and answer.ip.src == host


def traceroute(host: str, *, method: str = "udp", max_ttl: int = 30, queries: int = 3,
               timeout: float = 1.0, port: int | None = None,
               iface: str | None = None) -> Iterator[Hop]:
    """Hops to `host`, one `Hop` per TTL from 1, until the destination answers or
    `max_ttl`. `method`: "udp" (to ports from 33434, as traceroute), "icmp" (echo
    requests, traceroute -I) or "tcp" (SYNs to `port`, 80 by default, traceroute -T)."""
    from .exchange import sr

    if method not in ("udp", "icmp", "tcp"):
        raise ValueError(f"traceroute method {method!r}: use icmp, udp or tcp")
    dport = port if port is not None else (TRACE_PORT if method == "udp" else 80)
    ident = os.getpid() & 0x7FFF
    for ttl in range(1, max_ttl + 1):
        probes = [_trace_probe(host, method, ttl, n, ident, dport) for n in range(queries)]
        answered, _ = sr(probes, iface=iface, timeout=timeout)
        replies: list[tuple[str, float | None] | None] = [None] * queries
        reached = False
        for k, (_, answer) in enumerate(answered):
            replies[answered.probe_index[k]] = (answer.ip.src, answered.rtt(k))
            reached = reached or _reached(answer, host)
        yield Hop(ttl, replies, reached)
        if reached:
            return


class PortState:
    """One scanned port: nmap's state name and the reason for it."""

    __slots__ = ("port", "proto", "state", "reason")

    def __init__(self, port: int, proto: str, state: str, reason: str) -> None:
        self.port = port
        self.proto = proto
        self.state = state
        self.reason = reason

    def __repr__(self) -> str:
        return f"PortState({self.port}/{self.proto}, {self.state!r}, {self.reason!r})"


def parse_ports(spec: str) -> list[int]:
    """nmap's -p: "22", "1-1024", "22,80,8000-8010", "-" (every port); ValueError
    otherwise."""
    ports: dict[int, None] = {}
    for part in spec.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            first = int(lo) if lo else 1
            last = (int(hi) if hi else 65535) if dash else first
        except ValueError:
            raise ValueError(f"bad port list {spec!r}: use 22,80,1000-2000 or -") from None
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"bad port range {part!r} in {spec!r}: ports are 1-65535")
        for port in range(first, last + 1):
            ports.setdefault(port)
    return list(ports)


# ICMP unreachable codes nmap reads as "filtered", with its reason names
_FILTERED = {(4, 0): "net-unreach", (4, 1): "host-unreach", (4, 2): "proto-unreach",
             (4, 9): "net-prohibited", (4, 10): "host-prohibited", (4, 13): "admin-prohibited",
             (6, 0): "no-route", (6, 1): "admin-prohibited", (6, 3): "addr-unreach"}


def _port_state(method: str, answer: Any) -> tuple[str, str]:
    """nmap's state and reason for a probe's answer (None: none came)."""
    if answer is None:
        return ("filtered", "no-response") if method == "syn" else ("open|filtered",
                                                                   "no-response")
    if answer.tcp is not None:
        flags = answer.tcp.flags
        if flags & 0x04:
            return "closed", "reset"
        if flags & 0x12 == 0x12:
            return "open", "syn-ack"
        return "filtered", "unexpected"
    if answer.udp is not None:
        return "open", "udp-response"
    icmp = answer.icmp if answer.icmp is not None else answer.icmpv6
    version = 4 if answer.icmp is not None else 6
    if icmp is not None and (version, icmp.type, icmp.code) in ((4, 3, 3), (6, 1, 4)):
        return ("closed", "port-unreach") if method == "udp" else ("filtered", "port-unreach")
    if icmp is not None and icmp.type in (3, 1):
        return "filtered", _FILTERED.get((version, icmp.code), f"icmp-{icmp.type}-{icmp.code}")
    return "filtered", "unexpected"


def scan(host: str, ports: list[int], *, method: str = "syn", timeout: float = 1.0,
         retry: int = 1, rate: float | None = None, iface: str | None = None,
         src_port: int | None = None, suppress_rst: bool = False) -> list[PortState]:
    """nmap's SYN scan (-sS) or UDP scan (-sU) of `ports` on `host`: a state per port.

    SYN: open (SYN/ACK), closed (RST), filtered (no answer after `retry` more tries, or an
    ICMP unreachable). UDP: open (a UDP answer), closed (port unreachable), filtered
    (another unreachable), open|filtered (nothing). The local kernel answers each SYN/ACK
    with a RST, as it does for nmap: it has no socket for the probe (`suppress_rst=True`
    drops those RSTs while the scan runs, see wirecraft.exchange)."""
    from .craft import TCP, UDP, IPv4, IPv6
    from .craft.template import Template, Values
    from .exchange import sr

    if method not in ("syn", "udp"):
        raise ValueError(f"scan method {method!r}: use syn or udp")
    if not ports:
        return []
    sport = src_port if src_port is not None else 40000 + os.getpid() % 20000
    seq = int.from_bytes(os.urandom(4), "big")
    ip = IPv6(dst=host) if _family(host) == 6 else IPv4(dst=host)
    if method == "syn":
        probe = ip / TCP(src_port=sport, dst_port=ports[0], seq=seq, flags=0x02,
                         window=1024, options=[("mss", 1460)])
    else:
        probe = ip / UDP(src_port=sport, dst_port=ports[0])
    # one probe built, the ports stamped into copies of it (no object per port)
    proto = "tcp" if method == "syn" else "udp"
    t = Template(probe, linktype=101).vary(f"{proto}.dst_port", Values(ports))
    answered, _ = sr(t, count=len(ports), iface=iface, timeout=timeout, retry=retry,
                     rate=rate, suppress_rst=suppress_rst, rtt=False)
    answers: dict[int, Any] = {answered.probe_index[k]: a for k, (_, a) in enumerate(answered)}
    return [PortState(port, proto, *_port_state(method, answers.get(i)))
            for i, port in enumerate(ports)]


def query(server: str, name: str, qtype: str = "A", *, port: int = 53, timeout: float = 2.0,
          retry: int = 1, rd: bool = True, iface: str | None = None,
          tcp: bool | None = None) -> QueryResult | None:
    """One DNS question to `server` as crafted packets: a `QueryResult` (the response's
    decoded Packet, its message, the round trip, the transport), or None when none came
    in `timeout` (after `retry` more tries).

    `tcp=None` (dig's default) asks over UDP and, when the response has TC set, again
    over TCP; `tcp=True` asks over TCP only, `tcp=False` over UDP only. Over TCP the
    handshake, the question and the close are crafted segments and the response is put
    together by the TCP reassembler and the DNS-over-TCP framer; the kernel's RSTs to
    the server's segments are suppressed meanwhile (see wirecraft.exchange), which needs
    root and nftables' `nft`."""
    from .craft import DNS, UDP, IPv4, IPv6
    from .exchange import sr

    ident = int.from_bytes(os.urandom(2), "big")
    question = DNS.query(name, qtype, id=ident, rd=int(rd))
    if tcp:
        return _query_tcp(server, port, bytes(question), ident, timeout=timeout,
                          retry=retry, iface=iface)
    ip = IPv6(dst=server) if _family(server) == 6 else IPv4(dst=server)
    probe = ip / UDP(src_port=40000 + ident % 20000, dst_port=port) / question
    answered, _ = sr(probe, iface=iface, timeout=timeout, retry=retry)
    if not answered:
        return None
    result = QueryResult(answered[0][1], answered.rtt(0), server, port)
    msg = result.dns
    if tcp is None and msg is not None and msg.tc:
        over_tcp = _query_tcp(server, port, bytes(question), ident, timeout=timeout,
                              retry=retry, iface=iface)
        if over_tcp is not None:
            over_tcp.retried_from = result
            return over_tcp
    return result


def _query_tcp(server: str, port: int, question: bytes, ident: int, *, timeout: float,
               retry: int, iface: str | None) -> QueryResult | None:
    """DNS over TCP with crafted segments (see `query`)."""
    from .craft import TCP, IPv4, IPv6
    from .dns import TCPMessageFramer
    from .dns import decode as decode_dns
    from .exchange import sr, suppress_resets
    from .inject import send_l3
    from .live import Sniffer
    from .reassembly import Reassembler
    from .sending import _Tables

    source: list[Any] = [None]      # the route's source, once sr has filled it in

    def ip() -> Any:
        cls = IPv6 if _family(server) == 6 else IPv4
        return cls(dst=server) if source[0] is None else cls(src=source[0], dst=server)

    sport = 40000 + (ident + 1) % 20000
    isn = int.from_bytes(os.urandom(4), "big")
    data = len(question).to_bytes(2, "big") + question
    device = iface or _Tables(iface).device(server)
    # the capture of the server's segments is open before the handshake starts
    sniffer = Sniffer(device, filter=f"tcp and src host {server} and src port {port} "
                      f"and dst port {sport}", immediate=True,
                      timeout=(retry + 2) * timeout + 1)
    with sniffer, suppress_resets([server], [sport]):
        started = time.monotonic()
        answered, _ = sr(ip() / TCP(src_port=sport, dst_port=port, seq=isn, flags=0x02,
                                    window=65535, options=[("mss", 1460)]),
                         iface=iface, timeout=timeout, retry=retry)
        if not answered:
            return None
        synack = answered[0][1]
        source[0] = answered[0][0].layers()[0].src
        if synack.tcp is None or synack.tcp.flags & 0x12 != 0x12:
            # refused (RST) or an ICMP error: reported as the UDP path reports it
            return QueryResult(synack, answered.rtt(0), server, port, transport="TCP")
        peer_isn = synack.tcp.seq
        messages: list[bytes] = []
        framer = TCPMessageFramer()
        received = [0]
        fin = [False]

        def on_data(conn: Any, direction: int, chunk: bytes) -> None:
            received[0] += len(chunk)
            messages.extend(framer.feed(chunk))

        reasm = Reassembler(on_data=on_data)
        reasm.feed(synack)
        last = synack
        try:
            send_l3([bytes(ip() / TCP(src_port=sport, dst_port=port, seq=isn + 1,
                                      ack=peer_isn + 1, flags=0x18, window=65535) / data)],
                    iface=iface)
            for pkt in sniffer:
                reasm.feed(pkt)
                if pkt.tcp is not None and pkt.tcp.flags & 0x05:
                    fin[0] = True
                if messages:
                    last = pkt
                    break
            # from the SYN leaving to the response complete, both as the capture saw them
            sent = answered.sent_ns[0]
            rtt = (last.time_ns - sent) / 1e9 if sent is not None else (
                time.monotonic() - started)
            # close: our FIN acknowledging what came, the server's FIN acknowledged
            acked = (peer_isn + 1 + received[0]) & 0xFFFFFFFF
            mine = (isn + 1 + len(data)) & 0xFFFFFFFF
            send_l3([bytes(ip() / TCP(src_port=sport, dst_port=port, seq=mine, ack=acked,
                                      flags=0x11, window=65535))], iface=iface)
            deadline = time.monotonic() + min(timeout, 0.5)
            if not fin[0]:
                for pkt in sniffer:
                    if pkt.tcp is not None and pkt.tcp.flags & 0x05:
                        fin[0] = bool(pkt.tcp.flags & 0x01)
                        acked = (pkt.tcp.seq + len(pkt.payload) + 1) & 0xFFFFFFFF
                        break
                    if time.monotonic() > deadline:
                        break
                if fin[0]:
                    send_l3([bytes(ip() / TCP(src_port=sport, dst_port=port,
                                              seq=(mine + 1) & 0xFFFFFFFF, ack=acked,
                                              flags=0x10, window=65535))], iface=iface)
        finally:
            sniffer.stop()
    if not messages:
        return None
    return QueryResult(last, rtt, server, port, message=decode_dns(messages[0]),
                       transport="TCP")


class QueryResult:
    """A DNS response to `query`: the decoded `packet` that completed it, its message
    `dns`, the round trip `rtt` in seconds (None if the question was not seen leaving),
    the `transport` ("UDP" or "TCP") and, when a truncated UDP response was asked again
    over TCP, `retried_from` (that UDP result)."""

    __slots__ = ("packet", "rtt", "server", "port", "message", "transport", "retried_from")

    def __init__(self, packet: Any, rtt: float | None, server: str, port: int, *,
                 message: Any = None, transport: str = "UDP") -> None:
        self.packet = packet
        self.rtt = rtt
        self.server = server
        self.port = port
        self.message = message
        self.transport = transport
        self.retried_from: QueryResult | None = None

    @property
    def dns(self) -> Any:
        return self.message if self.message is not None else self.packet.dns


def arping(target: str, *, iface: str | None = None, count: int = 3, interval: float = 1.0,
           timeout: float = 1.0, on_reply: Any = None) -> list[tuple[str, float | None] | None]:
    """ARP requests for `target` (an IPv4 address), broadcast on `iface` (by default the
    interface of the route to it), one every `interval` seconds: per request the replier's
    MAC address and round trip, or None. `on_reply(n, answer, rtt)` is called as each
    comes (None at a timeout), so a command can print as arping does."""
    from .craft import ARP, Ethernet
    from .exchange import srp
    from .sending import _Tables

    tables = _Tables(iface)
    device = iface or tables.device(target)
    tables.iface = device
    mine = tables.interface_mac(device)
    source = tables.source(target)
    out: list[tuple[str, float | None] | None] = []
    for n in range(1, count + 1):
        start = time.monotonic()
        probe = (Ethernet(src=mine, dst="ff:ff:ff:ff:ff:ff")
                 / ARP(opcode=1, sender_mac=mine, sender_ip=source, target_ip=target))
        answered, _ = srp(probe, iface=device, timeout=timeout)
        if answered:
            answer, rtt = answered[0][1], answered.rtt(0)
            out.append((answer.arp.sender_mac, rtt))
        else:
            answer, rtt = None, None
            out.append(None)
        if on_reply is not None:
            on_reply(n, answer, rtt)
        if n < count:
            time.sleep(max(0.0, interval - (time.monotonic() - start)))
    return out
