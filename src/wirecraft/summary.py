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


def _present(d: dict[str, Any]) -> dict[str, Any]:
    """`d` without the fields a cut header did not carry (absent, not invented)."""
    return {k: v for k, v in d.items() if v is not None}


def to_json(pkt: Any) -> dict[str, Any]:
    """The decoded fields of a packet as a JSON-ready dict (documented in README).

    Fields whose bytes were not captured are left out, never written as 0."""
    out: dict[str, Any] = {
        "index": pkt.index,
        "time_ns": pkt.time_ns,
        "caplen": pkt.caplen,
        "wire_len": pkt.wire_len,
        "linktype": pkt.linktype,
    }
    eth = pkt.eth
    if eth is not None:
        out["eth"] = {"src": eth.src, "dst": eth.dst, "type": eth.type}
    vlan = pkt.vlan
    if vlan:
        out["vlan"] = [{"id": t.id, "pcp": t.pcp, "dei": t.dei, "tpid": t.tpid} for t in vlan]
    arp = pkt.arp
    if arp is not None:
        out["arp"] = {"opcode": arp.opcode, "sender_mac": arp.sender_mac,
                      "sender_ip": arp.sender_ip, "target_mac": arp.target_mac,
                      "target_ip": arp.target_ip}
    ip = pkt.ip
    if ip is not None:
        d = {"version": ip.version, "src": ip.src, "dst": ip.dst, "ttl": ip.ttl,
             "protocol": ip.protocol, "total_length": ip.total_length, "id": ip.id,
             "frag_offset": ip.frag_offset}
        if ip.version == 4:
            d["flags"] = ip.flags
            d["header_length"] = ip.header_length
        else:
            d["flow_label"] = ip.flow_label
            d["extension_headers"] = ip.extension_headers
        out["ip"] = _present(d)
    tcp = pkt.tcp
    if tcp is not None:
        out["tcp"] = _present({"src_port": tcp.src_port, "dst_port": tcp.dst_port,
                               "seq": tcp.seq, "ack": tcp.ack, "flags": tcp.flags,
                               "flags_str": tcp.flags_str, "window": tcp.window,
                               "header_length": tcp.header_length, "urgent": tcp.urgent})
    udp = pkt.udp
    if udp is not None:
        out["udp"] = _present({"src_port": udp.src_port, "dst_port": udp.dst_port,
                               "length": udp.length})
    ic = pkt.icmp if pkt.icmp is not None else pkt.icmpv6
    if ic is not None:
        out["icmp"] = _present({"version": ic.version, "type": ic.type, "code": ic.code,
                                "id": ic.id, "seq": ic.seq})
    out["payload_length"] = len(pkt.payload)
    if pkt.app:
        out["app"] = pkt.app
    out["stop_layer"] = pkt.stop_layer
    out["stop_reason"] = pkt.stop_reason
    out["problems"] = pkt.problems
    if pkt.comment:
        out["comment"] = pkt.comment
    return out
