"""tcpdump's output text, one printer per protocol, reading the decoded Packet views.

The protocol modules next to this one are field catalogues (declarations only); the
printers live here, one section per protocol, and summary.LinePrinter calls them layer
by layer. Nothing here parses bytes: every value comes from a Packet view or from the
catalogue (`_value.value`).
"""

from __future__ import annotations

import socket
from typing import Any

from ._value import value

# ---------------------------------------------------------------- Ethernet / SLL (-e)

ETHERTYPE_NAMES: dict[int, str] = {
    0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x8035: "Reverse ARP", 0x8100: "802.1Q",
    0x88A8: "802.1Q-QinQ", 0x88CC: "LLDP", 0x8863: "PPPoE D", 0x8864: "PPPoE S",
    0x8847: "MPLS unicast", 0x888E: "EAPOL",
}


def ethertype_name(et: int) -> str:
    """tcpdump's `-e` name for an ethertype (`IPv4 (0x0800)`)."""
    return f"{ETHERTYPE_NAMES.get(et, 'Unknown')} (0x{et:04x})"


def ethernet_prefix(pkt: Any) -> str:
    """The -e part of an Ethernet frame: `src > dst, ethertype IPv4 (0x0800), length N: `,
    with 802.1Q tags between the addresses and the final type."""
    eth = pkt.eth
    s = f"{eth.src} > {eth.dst}, "
    if eth.type <= 1500:    # an IEEE 802.3 frame: the field is its length
        return s + f"802.3, length {eth.type}: "
    tags = pkt.vlan or []
    if tags:
        for i, t in enumerate(tags):
            # only the outer tag is preceded by the frame length
            s += (f"ethertype {ethertype_name(t.tpid)}, "
                  f"{f'length {pkt.wire_len}: ' if i == 0 else ''}vlan {t.id}, "
                  f"p {t.pcp}{', DEI' if t.dei else ''}, ")
        s += f"ethertype {ethertype_name(eth.type)}, "
        return s
    return s + f"ethertype {ethertype_name(eth.type)}, length {pkt.wire_len}: "


def hex_and_ascii(data: bytes) -> str:
    """tcpdump's dump of bytes no printer took (`\\n\\t0x0000:  4500 0054 ...  E..T`):
    16 bytes a line, in 2-byte groups, then the printable characters."""
    out = []
    for at in range(0, len(data), 16):
        chunk = data[at:at + 16]
        groups = "".join(f" {chunk[i:i + 2].hex()}" for i in range(0, len(chunk), 2))
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in chunk)
        out.append(f"\n\t0x{at:04x}: {groups:<40}  {text}")
    return "".join(out)


def unknown_ethertype_text(pkt: Any, quiet: bool = False) -> str | None:
    """The generic line of a frame whose ethertype wirecraft does not decode: the
    Ethernet part as with -e, then its bytes (what tcpdump prints for an unknown type)."""
    eth = pkt.eth
    if eth is None or pkt.sll is not None or eth.type < 0x600:
        return None
    if eth.type in ETHERTYPE_NAMES:   # tcpdump has a printer for these
        return None
    if quiet:    # -q: the type in other words, and no bytes
        return (f"{eth.src} > {eth.dst}, Unknown Ethertype (0x{eth.type:04x}), "
                f"length {pkt.wire_len}: ")
    return ethernet_prefix(pkt) + hex_and_ascii(bytes(pkt.payload))


SLL_DIRECTIONS = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}


def sll_link_prefix(pkt: Any) -> str:
    """The -e part of a Linux cooked capture: SLL's direction and address, SLL2's
    interface index and address, then `ethertype IPv4 (0x0800), length N: `."""
    sll = pkt.sll
    direction = SLL_DIRECTIONS.get(sll.packet_type, "?")
    if sll.version == 2:
        s = f"ifindex {value(pkt, 'sll.ifindex')} "
    else:
        s = f"{direction:>3} "
    if sll.src is not None:
        s += f"{sll.src} "
    return s + f"ethertype {ethertype_name(sll.protocol)}, length {pkt.wire_len}: "


def sll2_prefix(pkt: Any) -> str:
    """SLL2's interface and direction (`lo    In  `), printed without -e too."""
    index = value(pkt, "sll.ifindex")
    try:
        name = socket.if_indextoname(index) if index is not None else "?"
    except OSError:
        name = "?"
    return f"{name:<5} {SLL_DIRECTIONS.get(pkt.sll.packet_type, '?'):<3} "


def cut_link_text(pkt: Any) -> str | None:
    """tcpdump's mark for a frame cut inside a VLAN tag or the IP header (` [|vlan]`,
    ` [|ip]`, ` [|ip6]`), or None when the frame was not cut there."""
    if not pkt.truncated:
        return None
    if pkt.stop_layer == "vlan":
        return " [|vlan]"
    if pkt.stop_layer == "arp":
        return " [|arp]"
    if pkt.stop_layer == "network":
        et = pkt.sll.protocol if pkt.sll is not None else pkt.eth.type if pkt.eth else None
        return None if et is None else {0x0800: " [|ip]", 0x86DD: " [|ip6]",
                                         0x0806: " [|arp]"}.get(et)
    return None


# ---------------------------------------------------------------- ARP

def arp_text(pkt: Any, link: bool = False, verbose: int = 0) -> str:
    """`ARP, Request who-has A tell B, length N` / `ARP, Reply A is-at M, length N`
    (without `ARP, ` after a -e link part, which names the ethertype)."""
    a = pkt.arp
    if None in (a.opcode, a.sender_ip, a.target_ip, a.sender_mac, a.target_mac):
        return " [|arp]"       # the capture stopped inside the ARP message
    if a.opcode == 1:
        s = f"Request who-has {a.target_ip} tell {a.sender_ip}"
    elif a.opcode == 2:
        s = f"Reply {a.sender_ip} is-at {a.sender_mac}"
    elif a.opcode == 3:
        s = f"Reverse Request who-is {a.target_mac} tell {a.sender_mac}"
    elif a.opcode == 4:
        s = f"Reverse Reply {a.target_mac} at {a.target_ip}"
    else:
        s = f"Unknown ({a.opcode})"
    if verbose:
        s = "Ethernet (len 6), IPv4 (len 4), " + s
    if not link:
        s = "ARP, " + s
    return s + f", length {_l3_length(pkt)}"


def _l3_length(pkt: Any) -> int:
    """tcpdump's `length` for a layer-3 message: the frame's declared length less the
    link header."""
    hdr = 0
    if pkt.eth is not None and pkt.sll is None:
        hdr = 14 + 4 * len(pkt.vlan or [])
    elif pkt.sll is not None:
        hdr = 20 if pkt.sll.version == 2 else 16
    return pkt.wire_len - hdr


# ---------------------------------------------------------------- TCP

TCP_OPTION_TEXT = {"nop": "nop", "eol": "eol", "sack_permitted": "sackOK"}


class TcpSeqTracker:
    """tcpdump's relative sequence numbers: per connection, the first ACK-bearing
    segment (or any SYN) fixes the bases, later ones print offsets from them."""

    __slots__ = ("conns",)

    def __init__(self) -> None:
        self.conns: dict[tuple[Any, ...], tuple[int, int]] = {}

    def relative(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int,
                 flags: int) -> tuple[int, int, bool, int, int]:
        """(seq, ack, reversed, base seq, base ack) as tcpdump prints them."""
        rev = sport > dport or (sport == dport and src > dst)
        key = (dst, src, dport, sport) if rev else (src, dst, sport, dport)
        known = self.conns.get(key)
        if known is None or flags & 0x02:
            base = (ack - 1 & 0xFFFFFFFF, seq) if rev else (seq, ack - 1 & 0xFFFFFFFF)
            self.conns[key] = base
            return seq, ack, rev, base[0], base[1]
        bseq, back = known
        if rev:
            return (seq - back) & 0xFFFFFFFF, (ack - bseq) & 0xFFFFFFFF, rev, bseq, back
        return (seq - bseq) & 0xFFFFFFFF, (ack - back) & 0xFFFFFFFF, rev, bseq, back


def tcp_options_text(options: list[tuple[str, Any]], rev: bool, bseq: int, back: int) -> str:
    """`mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7` (SACK edges relative like tcpdump)."""
    out = []
    for name, v in options:
        if name in TCP_OPTION_TEXT:
            out.append(TCP_OPTION_TEXT[name])
        elif name == "mss":
            out.append(f"mss {v}")
        elif name == "wscale":
            out.append(f"wscale {v}")
        elif name == "timestamp":
            out.append(f"TS val {v[0]} ecr {v[1]}")
        elif name == "sack":
            base = bseq if rev else back
            blocks = "".join(f"{{{(a - base) & 0xFFFFFFFF}:{(b - base) & 0xFFFFFFFF}}}"
                             for a, b in v)
            out.append(f"sack {len(v)} {blocks}")
        elif name == "user_timeout":
            out.append(f"uto {v}")
        else:
            out.append(str(name))
    return ",".join(out)


def tcp_text(pkt: Any, tracker: TcpSeqTracker | None, l4_length: int, app: str,
             verbose: int = 0) -> str:
    """TCP's part after `src.port > dst.port: `."""
    t = pkt.tcp
    if t.flags is None or t.window is None or t.urgent is None:
        return " [|tcp]"     # tcpdump reads the whole fixed header before printing
    hlen = t.header_length
    if hlen is not None and hlen < 20:
        return f" [bad hdr length {hlen} - too short, < 20]"
    length = l4_length - (hlen or 20)
    seq, ack, flags = t.seq, t.ack, t.flags
    rev, bseq, back = False, 0, 0
    if tracker is not None and flags & 0x10:
        ip = pkt.ip
        seq, ack, rev, bseq, back = tracker.relative(ip.src_bytes, ip.dst_bytes, t.src_port,
                                                     t.dst_port, seq, ack, flags)
    s = f"Flags [{t.flags_str}]"
    if verbose:
        ok = pkt.verify_checksums().get("tcp")
        if ok is not None:
            s += f", cksum 0x{t.checksum:04x} "
            s += "(correct)" if ok else f"(incorrect -> 0x{tcp_expected_checksum(pkt, l4_length):04x})"
    if length > 0 or flags & 0x07 or verbose > 1:   # -vv: on every segment
        s += f", seq {seq}"
        if length > 0:
            s += f":{(seq + length) & 0xFFFFFFFF}"
    if flags & 0x10:
        s += f", ack {ack}"
    s += f", win {t.window}"
    if flags & 0x20:
        s += f", urg {t.urgent}"
    opts = t.options
    cut_options = hlen is not None and len(t.options_bytes) < hlen - 20
    if cut_options:
        # the options the capture kept, then tcpdump's mark where it stopped
        done = tcp_options_text([o for o in opts if o[0] != "malformed"], rev, bseq, back)
        return s + f", options [{done}{',' if done else ''} [|tcp]"
    if opts:
        s += f", options [{tcp_options_text(opts, rev, bseq, back)}]"
    s += f", length {length}"
    return s + app


# ---------------------------------------------------------------- UDP

def udp_text(pkt: Any) -> str:
    """UDP's generic part: `UDP, length N` (N from the UDP header)."""
    u = pkt.udp
    if u.length is None:
        return "[|udp]"
    return f"UDP, length {u.length - 8}"


# ---------------------------------------------------------------- DNS

_OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
        " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit",
        " zoneRef"]
_RCODES = ["", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain",
           " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12",
           " Resp13", " Resp14", " NoChange", " BadVers"]


def fqdn(name: str) -> str:
    """A domain name as tcpdump prints it: absolute, with its final dot."""
    return name if name.endswith(".") else name + "."


def _dns_question(q: Any, mdns: bool) -> str:
    s = f" {q.type_name}"
    cls = q.rclass & 0x7FFF if mdns else q.rclass
    if cls != 1:
        s += f" {q.class_name}"
    if mdns:
        s += " (QU)" if q.unicast_response else " (QM)"
    return s + f"? {fqdn(q.name)}"


def _dns_record(r: Any, mdns: bool, verbose: int) -> str:
    s = f" {fqdn(r.name)}" if verbose else ""
    if mdns and r.cache_flush:
        s += " (Cache flush)"
    cls = r.rclass & 0x7FFF if mdns else r.rclass
    if cls != 1 and r.type != 41:
        s += f" {r.class_name}"
    s += f" {r.type_name}"
    data = r.data
    if r.type in (1, 28) and data is not None:
        s += f" {data}"
    elif r.type in (2, 5, 12, 39) and data is not None:
        s += f" {fqdn(str(data))}"
    elif r.type == 15 and data is not None:
        s += f" {fqdn(str(data[1]))} {data[0]}" if isinstance(data, tuple) else f" {data}"
    elif r.type == 33 and isinstance(data, tuple):
        pri, weight, port, target = data
        s += f" {fqdn(str(target))}:{port} {pri} {weight}"
    elif r.type == 6 and verbose and hasattr(data, "mname"):   # tcpdump shows SOA with -v
        s += (f" {fqdn(data.mname)} {fqdn(data.rname)} {data.serial} {data.refresh} "
              f"{data.retry} {data.expire} {data.minimum}")
    elif r.type == 41:
        edns = data if hasattr(data, "payload_size") else None
        s += f" UDPsize={r.rclass}"
        if edns is not None and edns.do:
            s += " DO"
        if edns is not None and edns.options:
            s += " [" + ",".join(_edns_option_text(o) for o in edns.options) + "]"
    elif r.type == 16 and data is not None:
        parts = data if isinstance(data, (list, tuple)) else [data]
        s += "".join(f' "{p.decode("latin-1") if isinstance(p, bytes) else p}"'
                     for p in parts)
    return s


def dns_text(msg: Any, length: int, mdns: bool, verbose: int = 0, cut: bool = False) -> str:
    """tcpdump's one-line DNS message (`12345+ [1au] A? example.com. (33)`). `cut`: the
    capture kept less than the message's `length`; then the text stops with ` [|domain]`
    at the first part that was not captured whole, as tcpdump's does."""
    if "header_truncated" in msg.problems:
        return " [|domain]"
    qd, an, ns, ar = msg.counts
    cut = cut and bool(msg.problems)
    if msg.qr:
        s = (f"{msg.id}{_OPS[msg.opcode]}{_RCODES[msg.header_rcode] if msg.header_rcode < 17 else ''}"
             f"{'*' if msg.aa else ''}{'' if msg.ra else '-'}{'|' if msg.tc else ''}"
             f"{'$' if msg.ad else ''}")
        if qd != 1:
            s += f" [{qd}q]"
        if cut and len(msg.questions) < qd:
            return s + " [|domain]"
        # the question section: from -vv, or its second and later questions with -v
        for i, q in enumerate(msg.questions):
            if i or verbose > 1:
                s += (" q:" if i == 0 else "") + _dns_question(q, mdns)
        s += f" {an}/{ns}/{ar}"
        texts = []
        for r in msg.answers:
            if r.malformed:    # its data runs past the captured message: tcpdump stops
                texts.append(f" {fqdn(r.name)}" * bool(verbose) + f" {r.type_name} [|domain]")
                break
            texts.append(_dns_record(r, mdns, verbose))
        s += ",".join(texts)
        if texts and texts[-1].endswith("[|domain]"):
            return s
        if cut and len(msg.answers) < an:
            return s + ("," if texts else "") + " [|domain]"
        if verbose > 1:
            s += _dns_sections(msg, mdns, verbose, answers=False)
    else:
        s = f"{msg.id}{_OPS[msg.opcode]}{'+' if msg.rd else ''}{'%' if msg.cd else ''}"
        if an:
            s += f" [{an}a]"
        if qd != 1:
            s += f" [{qd}q]"
        if ns:
            s += f" [{ns}n]"
        if ar:
            s += f" [{ar}au]"
        s += "".join(_dns_question(q, mdns) for q in msg.questions)
        if cut and len(msg.questions) < qd:
            return s + " [|domain]"
        if verbose > 1:
            s += _dns_sections(msg, mdns, verbose, answers=True)
    return s + f" ({length})"


def _edns_option_text(option: Any) -> str:
    """One EDNS option as tcpdump -vv names it (`COOKIE <client> <server>`, `ECS a/s/s`,
    `PADDING (n)`, `NSID <hex>`, `KEEPALIVE 1.0 sec`); others by name only."""
    v = option.value
    if option.name == "COOKIE" and hasattr(v, "client"):
        return f"COOKIE {v.client.hex()}" + (f" {v.server.hex()}" if v.server else "")
    if option.name == "ECS" and hasattr(v, "address"):
        return f"ECS {v.address}/{v.source_prefix}/{v.scope_prefix}"
    if option.name == "PADDING" and isinstance(v, bytes):
        return f"PADDING ({len(v)})"
    if option.name == "NSID" and isinstance(v, bytes):
        return f"NSID {v.hex()}" if v else "NSID"
    if option.name == "KEEPALIVE" and isinstance(v, int):   # in units of 100 ms
        return f"KEEPALIVE {v / 10:.1f} sec"
    if option.name == f"OPT{option.code}" and isinstance(v, bytes):   # a code with no name
        return f"Opt{option.code} {v.hex()}" if v else f"Opt{option.code}"
    return str(option.name)


def _dns_sections(msg: Any, mdns: bool, verbose: int, answers: bool) -> str:
    """-vv's record sections: a query's answers (when it has any, unlabelled), ` ns:`,
    ` ar:`."""
    s = ""
    sections = [("", msg.answers)] if answers else []
    sections += [(" ns:", msg.authorities), (" ar:", msg.additionals)]
    for label, records in sections:
        if records:
            s += label + ",".join(_dns_record(r, mdns, verbose) for r in records)
    return s


# ---------------------------------------------------------------- ICMP

_UNREACH = {0: "net {dst} unreachable", 1: "host {dst} unreachable",
            2: "{dst} protocol {proto} unreachable", 3: "{dst} {p} port {port} unreachable",
            4: "{dst} unreachable - need to frag", 9: "net {dst} unreachable - admin prohibited",
            10: "host {dst} unreachable - admin prohibited",
            13: "{dst} unreachable - admin prohibited filter"}


def icmp_text(pkt: Any, length: int) -> str:
    """ICMP's part after `src > dst: `; an unreachable names what the quoted packet (the
    IPv4 header and ports the error carries, decoded by the one decoder) was sent to."""
    ic = pkt.icmp
    t = ic.type
    if t is None or (t in (0, 8, 13, 14) and ic.seq is None):
        return " [|icmp]"
    quoted = None
    if t in (3, 4, 5, 11, 12):
        # tcpdump reads the quoted IP header before printing an error
        from ..capture import decode
        quoted = decode(bytes(pkt.payload), linktype=228)
        if quoted.ip is None or quoted.ip.dst is None:
            return " [|icmp]"
    if t in (0, 8):
        return (f"ICMP echo {'reply' if t == 0 else 'request'}, id {ic.id}, seq {ic.seq}, "
                f"length {length}")
    if t == 11:
        what = "in-transit" if ic.code == 0 else "reassembly"
        return f"ICMP time exceeded {what}, length {length}"
    if t == 3 and quoted is not None and quoted.ip is not None:
        ports = quoted.udp if quoted.udp is not None else quoted.tcp
        if ic.code == 3 and (ports is None or ports.dst_port is None):
            return " [|icmp]"   # port unreachable: tcpdump reads the quoted ports too
        kind = "udp" if quoted.udp is not None else "tcp" if quoted.tcp is not None else None
        text = _UNREACH.get(ic.code, "{dst} unreachable - code " + str(ic.code)).format(
            dst=quoted.ip.dst, proto=quoted.ip.protocol, p=kind,
            port=None if ports is None else ports.dst_port)
        mtu = value(pkt, "icmp.mtu")
        if mtu:
            text += f" (mtu {mtu})"
        return f"ICMP {text}, length {length}"
    names = {5: "redirect", 12: "parameter problem", 13: "time stamp request",
             14: "time stamp reply", 9: "router advertisement", 10: "router solicitation"}
    return f"ICMP {names.get(t, f'type-#{t}')}, length {length}"


def icmpv6_text(pkt: Any, length: int, verbose: int = 0) -> str:
    """ICMPv6's part after `src > dst: `."""
    ic = pkt.icmpv6
    t = ic.type
    if t is None:
        return " [|icmp6]"
    if (ic.seq is None and t < 130) or (
            verbose and t in (133, 134, 137) and value(pkt, "icmpv6.rest") is None) or (
            t in (135, 136) and (value(pkt, "icmpv6.nd.ns.target_address") or
                                 value(pkt, "icmpv6.nd.na.target_address")) is None):
        name = ICMP6_NAMES.get(t, f"unknown icmp6 type ({t})")
        # -v puts the length before the message body, where the capture stopped
        return f"ICMP6, {name}{f', length {length}' if verbose else ''} [|icmp6]"
    if t in (128, 129):
        # with -v tcpdump leaves the length off an echo
        return (f"ICMP6, echo {'request' if t == 128 else 'reply'}, id {ic.id}, seq {ic.seq}"
                + ("" if verbose else f", length {length}"))
    if t == 135:
        target = value(pkt, "icmpv6.nd.ns.target_address")
        if verbose:
            return (f"ICMP6, neighbor solicitation, length {length}, who has {target}"
                    + _nd_options_text(pkt))
        return f"ICMP6, neighbor solicitation, who has {target}, length {length}"
    if t == 136:
        target = value(pkt, "icmpv6.nd.na.target_address")
        if verbose:
            bits = value(pkt, "icmpv6.nd.flags") or 0
            names = [n for b, n in ((0x80, "router"), (0x40, "solicited"), (0x20, "override"))
                     if bits & b]
            return (f"ICMP6, neighbor advertisement, length {length}, tgt is {target}, "
                    f"Flags [{', '.join(names) if names else 'none'}]" + _nd_options_text(pkt))
        return f"ICMP6, neighbor advertisement, tgt is {target}, length {length}"
    if t == 143:
        records = value(pkt, "icmpv6.mldr.nb_mcast_records")
        if records is not None and not verbose:
            return (f"ICMP6, multicast listener report v2, {records} group record(s), "
                    f"length {length}")
    if t == 130 and length >= 28 and not verbose:
        group = value(pkt, "icmpv6.mld.multicast_address")
        if group is not None and value(pkt, "icmpv6.rest") is not None:
            # an MLDv2 query (RFC 3810 5.1); tcpdump lists its sources only with -v
            return f"ICMP6, multicast listener query v2 [gaddr {group}], length {length}"
    return f"ICMP6, {ICMP6_NAMES.get(t, f'unknown icmp6 type ({t})')}, length {length}"


ICMP6_NAMES = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
               4: "parameter problem", 128: "echo request", 129: "echo reply",
               133: "router solicitation", 134: "router advertisement", 135: "neighbor solicitation",
               136: "neighbor advertisement", 137: "redirect", 130: "multicast listener query",
               131: "multicast listener report", 132: "multicast listener done",
               143: "multicast listener report v2"}


_ND_OPTION_NAMES = {1: "source link-address", 2: "destination link-address"}


def _nd_options_text(pkt: Any) -> str:
    """-v lines for the link-address options of a neighbour message (the options the
    catalogue decodes to a value; others end the list)."""
    out = ""
    options = value(pkt, "icmpv6.nd.options")
    if not isinstance(options, list):     # raw bytes: the options are malformed
        return out
    for otype, v in options:
        if otype not in _ND_OPTION_NAMES or not isinstance(v, str):
            break
        out += f"\n\t  {_ND_OPTION_NAMES[otype]} option ({otype}), length 8 (1): {v}"
    return out


# ---------------------------------------------------------------- SMTP

def smtp_text(pkt: Any, verbose: int, length: int) -> str:
    """`: SMTP: <first line>` as tcpdump's text-protocol printer shows it (`length` is
    the segment's declared payload length); with -v `: SMTP, length: N` and every line.
    Bytes the capture did not keep end the text with ` [|smtp]`, as in tcpdump."""
    data = bytes(pkt.payload)[:length]
    cut = len(data) < length
    out = ": SMTP"
    if verbose:
        out += f", length: {length}"
        at = 0
        while at < len(data):
            text, at = _txt_line(data, at, cut)
            if text is None:
                break
            out += "\n\t" + text
        if cut and at >= len(data):
            out += " [|smtp]"
        return out
    text, at = _txt_line(data, 0, cut)
    if text is None:
        return out + (" [|smtp]" if cut and at >= len(data) else "")
    return out + ": " + text


def _txt_line(data: bytes, at: int, cut: bool) -> tuple[str | None, int]:
    """One line of a text protocol from `at`, as tcpdump's text-protocol printer takes
    it: (the line, where the next starts), or (None, where it stopped) when the bytes are
    not a line of text. Printable text up to the end of a segment that was captured
    whole is shown with tcpdump's ` [|smtp]`; up to the end of a cut one it is not shown
    (tcpdump stops reading there)."""
    i = at
    while i < len(data):
        c = data[i]
        if c == 10:
            return data[at:i].decode("ascii"), i + 1
        if c == 13:
            if i + 1 < len(data) and data[i + 1] == 10:
                return data[at:i].decode("ascii"), i + 2
            return None, (len(data) if i + 1 >= len(data) and cut else at)
        if not (32 <= c < 127 or c == 9):
            return None, at
        i += 1
    if cut:
        return None, len(data)
    return data[at:].decode("ascii") + " [|smtp]", len(data)


# ---------------------------------------------------------------- IPv6 (-v)

def ipv6_verbose(pkt: Any, names: dict[int, str]) -> str:
    """IPv6's -v part: `(class 0x10, flowlabel 0x12345, hlim 64, next-header TCP (6)
    payload length: 40) `."""
    ip = pkt.ipv6
    s = "("
    if ip.traffic_class:
        s += f"class 0x{ip.traffic_class:x}, "
    if ip.flow_label:
        s += f"flowlabel 0x{ip.flow_label:05x}, "
    nh = ip.next_header
    return (s + f"hlim {ip.hop_limit}, next-header {names.get(nh, 'unknown')} ({nh}) "
            f"payload length: {ip.payload_length}) ")


def ipv6_routing_text(pkt: Any) -> str:
    """`RT6 (len=2, type=0 [Deprecated], segleft=1, [0]2200::1) ` for the routing header."""
    rtype = value(pkt, "ipv6.routing.type")
    s = (f"RT6 (len={value(pkt, 'ipv6.routing.len')}, type={rtype}"
         f"{' [Deprecated]' if rtype == 0 else ''}, segleft={value(pkt, 'ipv6.routing.segleft')}")
    for i, addr in enumerate(value(pkt, "ipv6.routing.addresses") or []):
        s += f", [{i}]{addr}"
    return s + ") "


# ---------------------------------------------------------------- IPv4 (-v)

def ipv4_expected_checksum(pkt: Any) -> int:
    """The header checksum an IPv4 packet should carry (tcpdump's `bad cksum X (->Y)!`):
    the Internet checksum of its header with the checksum field taken as zero."""
    from .._ext import load
    from ._value import _record
    start = int(_record(pkt)["l3_offset"])
    header = bytearray(pkt.data[start:start + pkt.ip.header_length])
    header[10:12] = b"\0\0"
    return int(load("_craft").checksum(bytes(header)))


def tcp_expected_checksum(pkt: Any, l4_length: int) -> int:
    """The checksum a TCP segment should carry (tcpdump's `(incorrect -> 0x...)`), over
    the pseudo-header and the segment with its checksum field taken as zero; only asked
    when the whole segment was captured (verify_checksums() said False)."""
    from .._ext import load
    from ._value import _record
    craft = load("_craft")
    ip = pkt.ip
    start = int(_record(pkt)["l4_offset"])
    segment = bytearray(pkt.data[start:start + l4_length])
    segment[16:18] = b"\0\0"
    pseudo = craft.pseudo_header_sum(ip.src_bytes, ip.dst_bytes, 6, l4_length)
    return int(craft.checksum(bytes(segment), pseudo))


def udp_expected_checksum(pkt: Any) -> int:
    """The checksum a UDP datagram should carry (tcpdump's `[bad udp cksum X -> Y!]`),
    over the pseudo-header and the datagram with its checksum taken as zero; only asked
    when the whole datagram was captured (verify_checksums() said False)."""
    from .._ext import load
    from ._value import _record
    craft = load("_craft")
    ip, udp = pkt.ip, pkt.udp
    start = int(_record(pkt)["l4_offset"])
    datagram = bytearray(pkt.data[start:start + udp.length])
    datagram[6:8] = b"\0\0"
    pseudo = craft.pseudo_header_sum(ip.src_bytes, ip.dst_bytes, 17, udp.length)
    return int(craft.checksum(bytes(datagram), pseudo)) or 0xFFFF
