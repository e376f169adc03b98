"""One-line packet summaries in the spirit of `tcpdump -n`, and JSON records."""

from __future__ import annotations

import time as _time
from typing import Any

_ICMP4 = {0: "echo reply", 3: "unreachable", 5: "redirect", 8: "echo request",
          11: "time exceeded", 12: "parameter problem", 13: "timestamp request",
          14: "timestamp reply"}
_ICMP6 = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
          4: "parameter problem", 128: "echo request", 129: "echo reply",
          130: "multicast listener query", 131: "multicast listener report",
          132: "multicast listener done", 133: "router solicitation",
          134: "router advertisement", 135: "neighbor solicitation",
          136: "neighbor advertisement", 137: "redirect", 143: "multicast listener report v2"}
_ETHERTYPES = {0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x8100: "802.1Q",
               0x88A8: "802.1ad", 0x88CC: "LLDP", 0x8035: "RARP", 0x8863: "PPPoE-D",
               0x8864: "PPPoE-S", 0x8847: "MPLS", 0x888E: "EAPOL"}
_PROTOS = {1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE",
           50: "ESP", 51: "AH", 58: "ICMPv6", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}
# IPv6 -v names the first next header as tcpdump does (its extension headers too)
_IP6_NEXT = {**_PROTOS, 0: "Options", 43: "Routing", 44: "Fragment", 60: "DSTOPT"}


def clock(ts_ns: int) -> str:
    """HH:MM:SS.ffffff in UTC, as tcpdump prints with TZ=UTC."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    return _time.strftime("%H:%M:%S", _time.gmtime(sec)) + f".{ns // 1000:06d}"


def _known(value: Any) -> Any:
    return "?" if value is None else value


def summarize(pkt: Any) -> str:
    """The packet as one line, tcpdump-style, with truncation and problem marks."""
    parts: list[str] = []
    vlan = pkt.vlan
    if vlan:
        parts.append(", ".join(f"vlan {t.id}, p {t.pcp}" for t in vlan) + ",")
    ip = pkt.ip
    if ip is not None:
        family = "IP" if ip.version == 4 else "IP6"
        # a header cut short leaves fields absent (None): show what is known, "?" for the rest
        src, dst = _known(ip.src), _known(ip.dst)
        tcp, udp = pkt.tcp, pkt.udp
        if tcp is not None:
            s = f"{family} {src}.{tcp.src_port} > {dst}.{tcp.dst_port}:"
            if tcp.flags is not None:
                s += f" Flags [{tcp.flags_str}],"
            if tcp.seq is not None:
                s += f" seq {tcp.seq},"
            if tcp.flags is not None and tcp.flags & 16 and tcp.ack is not None:
                s += f" ack {tcp.ack},"
            if tcp.window is not None:
                s += f" win {tcp.window},"
            s += f" length {len(pkt.payload)}"
        elif udp is not None:
            s = f"{family} {src}.{udp.src_port} > {dst}.{udp.dst_port}: UDP"
            if udp.length is not None:
                s += f", length {max(udp.length - 8, 0)}"
            app = pkt.app
            if app in ("dns", "mdns", "llmnr"):
                s += f" ({app.upper()})"
        elif pkt.icmp is not None or pkt.icmpv6 is not None:
            ic = pkt.icmp if pkt.icmp is not None else pkt.icmpv6
            names = _ICMP4 if ic.version == 4 else _ICMP6
            label = names.get(ic.type, f"type {ic.type}")
            s = f"{family} {src} > {dst}: ICMP{'6' if ic.version == 6 else ''} {label}"
            if ic.id is not None:
                s += f", id {ic.id}"
            if ic.seq is not None:
                s += f", seq {ic.seq}"
            s += f", length {len(pkt.payload) + 8}"
        else:
            s = f"{family} {src} > {dst}:"
            if ip.protocol is not None:
                s += " " + _PROTOS.get(ip.protocol, f"proto {ip.protocol}")
            if ip.frag_offset or ip.mf:
                s += f" (frag id {ip.id} offset {ip.frag_offset}{'+' if ip.mf else ''})"
            s += f"{',' if ip.protocol is not None else ''} length {len(pkt.payload)}"
        parts.append(s)
    elif pkt.arp is not None:
        a = pkt.arp
        if a.opcode == 1:
            parts.append(f"ARP, Request who-has {a.target_ip} tell {a.sender_ip}")
        elif a.opcode == 2:
            parts.append(f"ARP, Reply {a.sender_ip} is-at {a.sender_mac}")
        else:
            parts.append(f"ARP, opcode {a.opcode}")
    else:
        eth = pkt.eth
        if eth is not None:
            et = eth.type
            name = _ETHERTYPES.get(et, f"ethertype 0x{et:04x}") if et > 1500 else f"802.3, length {et}"
            parts.append(f"{eth.src} > {eth.dst}, {name}, length {pkt.wire_len}")
        else:
            parts.append(f"linktype {pkt.linktype}, length {pkt.wire_len}")
    if pkt.truncated:
        parts.append(f"[|{pkt.stop_layer}]")
    problems = [p for p in pkt.problems if p != "frame cut by snaplen"]
    if problems:
        parts.append("[" + "; ".join(problems) + "]")
    return " ".join(parts)


def _endpoints(src: str, dst: str, exts: str, sport: int, dport: int) -> str:
    """`src.sport > dst.dport: `, or after IPv6 extension headers tcpdump's
    `src > dst: EXTS sport > dport: `."""
    if exts:
        return f"{src} > {dst}: {exts}{sport} > {dport}: "
    return f"{src}.{sport} > {dst}.{dport}: "


class LinePrinter:
    """tcpdump's text for each packet, after its timestamp (`tcpdump -t` prints exactly
    this). One printer per run, because tcpdump's relative TCP sequence numbers are
    relative to the first segment of each connection seen in that run.

    `verbose` is the number of -v, `link` is -e, `absolute_seq` is -S, `quiet` is -q.
    The per-protocol printers are in wirecraft.proto._lines; this class walks the layers.
    """

    __slots__ = ("verbose", "link", "absolute_seq", "quiet", "_tcp")

    def __init__(self, *, verbose: int = 0, link: bool = False, absolute_seq: bool = False,
                 quiet: bool = False) -> None:
        from .proto._lines import TcpSeqTracker
        self.verbose = verbose
        self.link = link
        self.absolute_seq = absolute_seq
        self.quiet = quiet
        self._tcp = None if absolute_seq else TcpSeqTracker()

    def line(self, pkt: Any) -> str:
        """The packet's line without its timestamp (may hold newlines with -v)."""
        from .proto import _lines as L
        head = ""
        sll = pkt.sll
        if sll is not None and sll.version == 2:
            head = L.sll2_prefix(pkt)
        linked = False
        if self.link:
            if sll is not None:
                head += L.sll_link_prefix(pkt)
                linked = True
            elif pkt.eth is not None:
                head += L.ethernet_prefix(pkt)
                linked = True
        ip = pkt.ip
        if ip is not None:
            return head + self._ip(pkt, L, linked)
        if pkt.arp is not None:
            return head + L.arp_text(pkt, linked, self.verbose)
        cut = L.cut_link_text(pkt)
        if cut is not None:
            return head + cut
        unknown = L.unknown_ethertype_text(pkt, self.quiet)
        if unknown is not None:
            return unknown if linked else head + unknown
        if linked:   # a protocol wirecraft does not decode: the link part says what it is
            return head.rstrip(": ")
        return head + summarize(pkt)

    def _ip(self, pkt: Any, L: Any, linked: bool) -> str:
        ip = pkt.ip
        v4 = ip.version == 4
        family = "IP" if v4 else "IP6"
        if ip.src is None or ip.dst is None:
            if linked:
                return " [|ip]" if v4 else " [|ip6]"
            return f"{family}  [|ip]" if v4 else " [|ip6]"
        l4_length = (ip.total_length or 0) - (ip.header_length or 0)
        pre = ""
        if self.verbose and v4:
            pre = f"{'' if linked else family + ' '}{self._ip4_verbose(pkt)}\n    "
            family = ""
        elif self.verbose:
            family = f"{'' if linked else family + ' '}{L.ipv6_verbose(pkt, _IP6_NEXT)}"
        else:
            family = "" if linked else family + " "
        exts = ""
        if not v4:
            exts = self._ip6_exts(pkt, l4_length)
        src, dst = ip.src, ip.dst
        if ip.frag_offset:
            if v4:
                return f"{pre}{family}{src} > {dst}: ip-proto-{ip.protocol}"
            return f"{pre}{family}{src} > {dst}: {exts.rstrip()}"
        tcp, udp = pkt.tcp, pkt.udp
        if tcp is None and udp is None and pkt.truncated and pkt.stop_layer == "transport":
            # the transport header was cut before its ports: tcpdump's marks
            mark = {6: " [|tcp]", 17: "  [|udp]", 1: "  [|icmp]", 58: "  [|icmp6]"}
            if ip.protocol in mark and pkt.icmp is None and pkt.icmpv6 is None:
                return f"{pre}{family}{src} > {dst}:{' ' + exts.rstrip() if exts else ''}" + \
                    mark[ip.protocol]
        if tcp is not None:
            if tcp.src_port is None:
                return f"{pre}{family}{src} > {dst}: [|tcp]"
            addr = pre + family + _endpoints(src, dst, exts, tcp.src_port, tcp.dst_port)
            if self.quiet and tcp.header_length is not None and tcp.header_length >= 20:
                # -q: `tcp N`, the payload length, nothing about flags or the application
                return addr + f"tcp {l4_length - tcp.header_length}"
            app = self._tcp_app(pkt, l4_length - (tcp.header_length or 20))
            return addr + L.tcp_text(pkt, self._tcp, l4_length, app, self.verbose)
        if udp is not None:
            return (pre + family + _endpoints(src, dst, exts, udp.src_port, udp.dst_port)
                    + self._udp_app(pkt, L))
        if pkt.icmp is not None:
            text = f"{pre}{family}{src} > {dst}: {exts}" + L.icmp_text(pkt, l4_length)
            if self.verbose and pkt.icmp.type in (3, 4, 5, 11, 12):
                # tcpdump -v shows the quoted packet too, decoded by the one decoder
                from .capture import decode
                inner = decode(bytes(pkt.payload), linktype=228)
                if inner.ip is not None and inner.ip.src is not None:
                    # tcpdump prints it as its IP printer does after a -e link part
                    text += "\n\t" + self._ip(inner, L, self.link)
            return text
        if pkt.icmpv6 is not None:
            sum_ok = ""
            if self.verbose:
                ok = pkt.verify_checksums().get("icmpv6")
                if ok is not None:
                    sum_ok = "[icmp6 sum ok] " if ok else "[bad icmp6 cksum] "
            return (f"{pre}{family}{src} > {dst}: {exts}{sum_ok}"
                    + L.icmpv6_text(pkt, l4_length, self.verbose))
        return f"{pre}{family}{src} > {dst}: {exts}ip-proto-{ip.protocol} {l4_length}"

    def _ip6_exts(self, pkt: Any, l4_len: int) -> str:
        from .proto import _lines as L
        out = ""
        for h in pkt.ipv6.extension_headers:
            if h == 0:
                out += "HBH "
            elif h == 60:
                out += "DSTOPT "
            elif h == 43:
                out += L.ipv6_routing_text(pkt)
            elif h == 44:
                ip = pkt.ipv6
                ident = f"0x{ip.id:08x}:" if self.verbose else ""
                out += f"frag ({ident}{ip.frag_offset or 0}|{l4_len}) "
        return out

    def _ip4_verbose(self, pkt: Any) -> str:
        ip = pkt.ip
        flags = []
        if ip.mf:
            flags.append("+")
        if ip.df:
            flags.append("DF")
        tos = f"tos 0x{ip.tos:x}"
        ecn = ip.tos & 3
        if ecn:
            tos += {1: ",ECT(1)", 2: ",ECT(0)", 3: ",CE"}[ecn]
        proto = _PROTOS.get(ip.protocol, "unknown")
        text = (f"({tos}, ttl {ip.ttl}, id {ip.id}, offset {ip.frag_offset}, "
                f"flags [{'+'.join(flags) if flags else 'none'}], proto {proto} ({ip.protocol}), "
                f"length {ip.total_length}")
        if pkt.verify_checksums().get("ip") is False:
            from .proto._lines import ipv4_expected_checksum
            text += f", bad cksum {ip.checksum:x} (->{ipv4_expected_checksum(pkt):x})!"
        return text + ")"

    def _tcp_app(self, pkt: Any, length: int) -> str:
        if length <= 0:
            return ""
        from .proto import _lines as L
        tcp = pkt.tcp
        ports = (tcp.src_port, tcp.dst_port)
        if 53 in ports:
            from .dns import decode
            if length < 2 or len(pkt.payload) < length:
                return ""
            msg = decode(bytes(pkt.payload)[2:])
            return " " + L.dns_text(msg, length - 2, False, self.verbose)
        if 25 in ports or pkt.app == "smtp":
            return L.smtp_text(pkt, self.verbose, length)
        return ""

    def _udp_app(self, pkt: Any, L: Any) -> str:
        udp = pkt.udp
        if udp.length is None or udp.checksum is None:
            return " [|udp]"     # tcpdump reads the whole UDP header first
        length = udp.length - 8
        sum_ok = ""
        if self.verbose > (1 if pkt.ip.version == 4 else 0):
            ok = pkt.verify_checksums().get("udp")
            if udp.checksum == 0:
                sum_ok = "[no cksum] "
            elif ok is not None:
                sum_ok = ("[udp sum ok] " if ok else f"[bad udp cksum 0x{udp.checksum:04x} -> "
                          f"0x{L.udp_expected_checksum(pkt):04x}!] ")
        # tcpdump 4.99 prints DNS on port 53 and mDNS on 5353 (LLMNR's 5355 stays UDP)
        ports = (udp.src_port, udp.dst_port)
        dns_port = (53 in ports or 5353 in ports) and not self.quiet
        if dns_port and length < 12:
            return sum_ok + f"domain [length {length} < 12] (invalid)"
        msg = pkt.dns if dns_port else None
        if msg is not None:
            mdns = 5353 in (udp.src_port, udp.dst_port)
            return sum_ok + L.dns_text(msg, length, mdns, self.verbose,
                                       cut=len(pkt.payload) < length)
        return sum_ok + L.udp_text(pkt)


def _json_plan() -> tuple[list[tuple[str, str]], list[tuple[str, str, bool, list[tuple[str, str]]]],
                         list[tuple[str, str]]]:
    """What `to_json` emits, from the catalogue: the frame's keys before the layers,
    each layer's (object key, Packet attribute, is-a-list, [(key, view attribute)]),
    and the frame's keys after the layers."""
    from .proto import PROTOCOLS, protocol
    frame = protocol("frame")
    tail_keys: tuple[str, ...] = frame.extra.get("json_tail", ())  # type: ignore[assignment]
    head = [(f.json, f.attr) for f in frame.fields
            if f.json and f.attr and f.json not in tail_keys]
    tail = [(f.json, f.attr) for f in frame.fields if f.json and f.attr and f.json in tail_keys]
    tail.sort(key=lambda kv: tail_keys.index(kv[0]))
    layers = []
    for p in PROTOCOLS:
        if p.json and p.packet_attr:
            keys = [(f.json, f.attr) for f in p.fields if f.json and f.attr]
            if keys:
                layers.append((p.json, p.packet_attr, bool(p.extra.get("list")), keys))
    return head, layers, tail  # type: ignore[return-value]


# _json_plan()'s result, made by the first to_json (a process that prints no JSON does
# not build the catalogue)
_JSON_PLAN: Any = None
_JSON_IF_SET = {"app", "comment"}   # left out when empty rather than written as null


def to_json(pkt: Any) -> dict[str, Any]:
    """The decoded fields of a packet as a JSON-ready dict (documented in README).

    Built from the field catalogue (wirecraft.proto: every field with a `json` key, in
    declaration order). Fields whose bytes were not captured are left out, never
    written as 0."""
    global _JSON_PLAN
    if _JSON_PLAN is None:
        _JSON_PLAN = _json_plan()
    head, layers, tail = _JSON_PLAN
    out: dict[str, Any] = {key: getattr(pkt, attr) for key, attr in head}
    for key, attr, many, fields in layers:
        view = getattr(pkt, attr)
        if view is None or (many and not view):
            continue
        if many:
            out[key] = [{k: getattr(v, a) for k, a in fields} for v in view]
            continue
        d = {}
        for k, a in fields:
            v = getattr(view, a)
            if v is not None:
                d[k] = v
        out[key] = d
    for key, attr in tail:
        v = getattr(pkt, attr)
        if key in _JSON_IF_SET and not v:
            continue
        out[key] = v
    return out
