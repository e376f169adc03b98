"""Seeded generator of large, realistic captures with a manifest of their true counts.

Writes classic pcap files (microsecond timestamps, Ethernet) with struct and bytes
directly: correct IPv4 header, TCP and UDP checksums (pseudo-headers included),
TCP sequence/acknowledgement numbers that follow the bytes sent, DNS messages with
compressed names (RFC 1035 4.1.4) and EDNS0 (RFC 6891), SMTP sessions (RFC 5321)
with dot-stuffed DATA, PIPELINING (RFC 2920) and MIME attachments.

    python benchmarks/generate.py [--quick] [--out benchmarks/data] [--seed 1]

Every frame's classification is recorded while it is built, so the manifest's counts
are the truth that each benchmark scenario checks its own counts against.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import struct
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR_VERSION = "2"

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
REC = struct.Struct("<IIII")
PREFIXES = (5_000, 20_000)  # the manifest also counts the first N frames (for subset peers)

SIZES = {
    "full": {"mixed_frames": 1_000_000, "dns_transactions": 100_000, "smtp_sessions": 3_000},
    "quick": {"mixed_frames": 100_000, "dns_transactions": 20_000, "smtp_sessions": 300},
}


# ---------------------------------------------------------------- checksums, headers

def csum(data: bytes) -> int:
    """Internet checksum (RFC 1071): the ones' complement sum equals the value mod 0xFFFF."""
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF
    if s == 0 and any(data):
        s = 0xFFFF
    return 0xFFFF - s


IP4 = struct.Struct("!BBHHHBBH4s4s")
IP6 = struct.Struct("!IHBB16s16s")
TCPH = struct.Struct("!HHIIBBHHH")
UDPH = struct.Struct("!HHHH")


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int, ttl: int = 64) -> bytes:
    hdr = IP4.pack(0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, proto, 0, src, dst)
    c = csum(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def ipv6(src: bytes, dst: bytes, nh: int, payload: bytes, hlim: int = 64, flow: int = 0) -> bytes:
    return IP6.pack(0x60000000 | flow, len(payload), nh, hlim, src, dst) + payload


def pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp_segment(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int,
                flags: int, payload: bytes, window: int, options: bytes) -> bytes:
    hl = 20 + len(options)
    hdr = TCPH.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hl // 4) << 4, flags,
                    window, 0, 0) + options
    seg = hdr + payload
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    dg = UDPH.pack(sport, dport, 8 + len(payload), 0) + payload
    c = csum(pseudo(src, dst, 17, len(dg)) + dg) or 0xFFFF
    return dg[:6] + struct.pack("!H", c) + dg[8:]


def ether(dst: bytes, src: bytes, etype: int, payload: bytes, vlan: int = 0) -> bytes:
    if vlan:
        frame = dst + src + struct.pack("!HHH", 0x8100, vlan, etype) + payload
    else:
        frame = dst + src + struct.pack("!H", etype) + payload
    if len(frame) < 60:  # padding as received on the wire; the IP length bounds the packet
        frame += b"\0" * (60 - len(frame))
    return frame


# ---------------------------------------------------------------- DNS messages

QTYPE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "OPT": 41}


class DnsBuilder:
    """One DNS message written front to back, compressing names against earlier ones."""

    def __init__(self, ident: int, flags: int) -> None:
        self.msg = bytearray(12)
        self.ident, self.flags = ident, flags
        self.counts = [0, 0, 0, 0]
        self.table: dict[str, int] = {}

    def name(self, name: str) -> None:
        labels = name.rstrip(".").split(".") if name not in ("", ".") else []
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            off = self.table.get(suffix)
            if off is not None:
                self.msg += struct.pack("!H", 0xC000 | off)
                return
            if len(self.msg) < 0x3FFF:
                self.table[suffix] = len(self.msg)
            lab = labels[i].encode()
            self.msg.append(len(lab))
            self.msg += lab
        self.msg.append(0)

    def question(self, name: str, qtype: int) -> None:
        self.name(name)
        self.msg += struct.pack("!HH", qtype, 1)
        self.counts[0] += 1

    def rr(self, section: int, name: str, rtype: int, ttl: int, rdata, rclass: int = 1) -> None:
        """rdata: bytes, or a list of parts where str parts are (compressed) names."""
        self.name(name)
        self.msg += struct.pack("!HHiH", rtype, rclass, ttl, 0)
        at = len(self.msg)
        for part in rdata if isinstance(rdata, list) else [rdata]:
            if isinstance(part, str):
                self.name(part)
            else:
                self.msg += part
        struct.pack_into("!H", self.msg, at - 2, len(self.msg) - at)
        self.counts[section] += 1

    def opt(self, payload_size: int, do: bool, options: bytes) -> None:
        self.msg.append(0)
        self.msg += struct.pack("!HHIH", 41, payload_size, 0x8000 if do else 0, len(options))
        self.msg += options
        self.counts[3] += 1

    def bytes(self) -> bytes:
        struct.pack_into("!HHHHHH", self.msg, 0, self.ident, self.flags, *self.counts)
        return bytes(self.msg)


SYLL = ["ka", "lo", "mi", "ne", "ra", "to", "vu", "zen", "pri", "sto", "gra", "bel", "dor",
        "fin", "hal", "jor", "kel", "mar", "nor", "pel", "quin", "sar", "tal", "ver", "wex"]
TLDS = ["com", "net", "org", "io", "de", "example", "co.uk", "info"]
SUBS = ["www", "api", "mail", "cdn", "static", "login", "img", "m", "app", "eu.edge"]
TTLS = [30, 60, 120, 300, 600, 3600, 86400]


class DnsWorld:
    """Deterministic pool of domains and the answers a resolver gives for them."""

    def __init__(self, rng: random.Random, n_domains: int = 4000) -> None:
        self.rng = rng
        self.domains = []
        for _ in range(n_domains):
            word = "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 4)))
            self.domains.append(f"{word}.{rng.choice(TLDS)}")

    def exchange(self, ident: int) -> tuple[bytes, bytes, dict]:
        """A query and its response; returns (query, response, facts for the manifest)."""
        rng = self.rng
        domain = rng.choice(self.domains)
        qname = domain if rng.random() < 0.25 else f"{rng.choice(SUBS)}.{domain}"
        qt = rng.choices(["A", "AAAA", "CNAME", "MX", "TXT", "NS"], [45, 25, 5, 10, 10, 5])[0]
        qtype = QTYPE[qt]
        edns = rng.random() < 0.7
        do = edns and rng.random() < 0.3
        cookie = rng.getrandbits(64).to_bytes(8, "big") if edns and rng.random() < 0.5 else b""
        q = DnsBuilder(ident, 0x0100 | (0x0020 if edns else 0))  # RD, AD on EDNS queries
        q.question(qname, qtype)
        if edns:
            q.opt(1232, do, struct.pack("!HH", 10, 8) + cookie if cookie else b"")
        nx = rng.random() < 0.05
        r = DnsBuilder(ident, 0x8180 | (3 if nx else 0))
        r.question(qname, qtype)
        ttl = rng.choice(TTLS)
        if nx:
            soa = [f"ns1.{domain}", f"hostmaster.{domain}",
                   struct.pack("!IIIII", 2024010101, 7200, 3600, 1209600, 300)]
            r.rr(2, domain, 6, 300, soa)
        elif qt in ("A", "AAAA"):
            target = qname
            if rng.random() < 0.3:
                target = f"e{rng.randint(1, 9999)}.cdn{rng.randint(1, 40)}.edgenet.net"
                r.rr(1, qname, 5, ttl, [target])
            for _ in range(rng.randint(1, 4)):
                addr = (rng.getrandbits(32).to_bytes(4, "big") if qt == "A"
                        else b"\x20\x01\x0d\xb8" + rng.getrandbits(96).to_bytes(12, "big"))
                r.rr(1, target, qtype, ttl, addr)
        elif qt == "CNAME":
            r.rr(1, qname, 5, ttl, [f"alias{rng.randint(1, 99)}.{domain}"])
        elif qt == "MX":
            n = rng.randint(1, 3)
            for i in range(n):
                r.rr(1, qname, 15, ttl, [struct.pack("!H", 10 * (i + 1)), f"mx{i + 1}.{domain}"])
            for i in range(n):
                r.rr(3, f"mx{i + 1}.{domain}", 1, ttl, rng.getrandbits(32).to_bytes(4, "big"))
        elif qt == "NS":
            for i in range(2):
                r.rr(1, qname, 2, 86400, [f"ns{i + 1}.{domain}"])
        else:  # TXT, one to three records, some with several strings
            for _ in range(rng.randint(1, 3)):
                parts = [f"v=spf1 include:_spf.{domain} ~all"] if rng.random() < 0.5 else []
                parts += [f"token={rng.getrandbits(80):020x}"
                          for _ in range(rng.randint(0 if parts else 1, 2))]
                r.rr(1, qname, 16, ttl, b"".join(bytes([len(p)]) + p.encode() for p in parts))
        if edns:
            r.opt(1232, do, struct.pack("!HH", 10, 24) + cookie + rng.getrandbits(128)
                  .to_bytes(16, "big") if cookie else b"")
        facts = {"answers": r.counts[1], "nxdomain": int(nx), "edns": int(edns), "qtype": qt}
        return q.bytes(), r.bytes(), facts


# ---------------------------------------------------------------- flows

def mac(rng: random.Random) -> bytes:
    return bytes([0x02]) + rng.getrandbits(40).to_bytes(5, "big")


# Hosts come from pools, as in real traffic (a few thousand clients, a few hundred servers
# per network): millions of distinct addresses would be unrealistic, and tools that cache
# per-address state (tcpdump's name cache even with -n) would go quadratic on them.
POOL_SIZES = {10: 4000}
_POOLS: dict[object, list[bytes]] = {}


def reset_pools() -> None:
    _POOLS.clear()


def v4(rng: random.Random, net: int) -> bytes:
    pool = _POOLS.get(net)
    if pool is None:
        pool = _POOLS[net] = [bytes([net, rng.randint(0, 255), rng.randint(0, 255),
                                     rng.randint(1, 254)]) for _ in range(POOL_SIZES.get(net, 300))]
    return rng.choice(pool)


def v6(rng: random.Random) -> bytes:
    pool = _POOLS.get("v6")
    if pool is None:
        pool = _POOLS["v6"] = [b"\x20\x01\x0d\xb8" + rng.getrandbits(96).to_bytes(12, "big")
                               for _ in range(2000)]
    return rng.choice(pool)


class Clock:
    def __init__(self) -> None:
        self.ns = 1_700_000_000 * 10**9


class Tcp:
    """One TCP connection: frames in both directions with consistent seq/ack and timestamps."""

    SYN_OPTS = struct.Struct("!BBHBBBBIIBBBB")

    def __init__(self, rng: random.Random, sport: int, v6mode: bool, vlan: int) -> None:
        self.rng = rng
        self.cmac, self.smac = mac(rng), mac(rng)
        if v6mode:
            self.cip, self.sip = v6(rng), v6(rng)
        else:
            self.cip, self.sip = v4(rng, 10), v4(rng, rng.choice([93, 151, 172, 185]))
        self.cport, self.sport = rng.randint(32768, 60999), sport
        self.v6, self.vlan = v6mode, vlan
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]  # next seq: client, server
        self.ack = [0, 0]
        self.ident = [rng.getrandbits(16), rng.getrandbits(16)]
        self.ts = [rng.getrandbits(31), rng.getrandbits(31)]
        self.key = (bool(vlan), "ipv6" if v6mode else "ipv4", "tcp", sport == 25, False)

    def frame(self, from_client: bool, flags: int, payload: bytes = b"") -> tuple[bytes, tuple]:
        i = 0 if from_client else 1
        src, dst = (self.cip, self.sip) if from_client else (self.sip, self.cip)
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        self.ts[i] += 1
        if flags & 0x02:
            opts = self.SYN_OPTS.pack(2, 4, 1460, 4, 2, 8, 10, self.ts[i], self.ts[1 - i],
                                      1, 3, 3, 7)
        else:
            opts = struct.pack("!BBBBII", 1, 1, 8, 10, self.ts[i], self.ts[1 - i])
        ack = self.seq[1 - i] if flags & 0x10 else 0
        seg = tcp_segment(src, dst, sp, dp, self.seq[i], ack, flags, payload, 502, opts)
        self.seq[i] += len(payload) + (1 if flags & 0x03 else 0)
        if self.v6:
            pkt = ipv6(src, dst, 6, seg)
            et = 0x86DD
        else:
            self.ident[i] += 1
            pkt = ipv4(src, dst, 6, seg, self.ident[i], 64 if from_client else 52)
            et = 0x0800
        if from_client:
            return ether(self.smac, self.cmac, et, pkt, self.vlan), self.key
        return ether(self.cmac, self.smac, et, pkt, self.vlan), self.key

    def handshake(self):
        yield self.frame(True, 0x02)
        yield self.frame(False, 0x12)
        yield self.frame(True, 0x10)

    def send(self, from_client: bool, data: bytes, mss: int = 1448, ack_every: int = 2):
        """Data in MSS-sized segments; the receiver acknowledges every `ack_every` segments."""
        n = 0
        for off in range(0, len(data), mss):
            chunk = data[off:off + mss]
            last = off + mss >= len(data)
            yield self.frame(from_client, 0x18 if last else 0x10, chunk)
            n += 1
            if n % ack_every == 0 and not last:
                yield self.frame(not from_client, 0x10)

    def close(self, server_first: bool = True):
        yield self.frame(not server_first, 0x11)
        yield self.frame(server_first, 0x11)
        yield self.frame(not server_first, 0x10)


BULK = bytes(random.Random(99).getrandbits(8) for _ in range(1 << 16))


def bulk_flow(rng: random.Random, v6mode: bool, vlan: int, stats: Counter):
    c = Tcp(rng, rng.choice([443, 443, 80, 8080]), v6mode, vlan)
    yield from c.handshake()
    req = b"GET /object/%d HTTP/1.1\r\nHost: example.net\r\n\r\n" % rng.getrandbits(32)
    yield c.frame(True, 0x18, req)
    size = rng.randint(20, 300) * 1448
    start = rng.randint(0, len(BULK) - 1)
    body = (BULK[start:] + BULK[:start]) * (size // len(BULK) + 1)
    yield from c.send(False, body[:size])
    yield c.frame(True, 0x10)
    yield from c.close(server_first=False)
    stats["tcp_flows"] += 1


WORDS = ("the quick brown fox jumps over lazy dogs while packets flow across every "
         "network link and mail servers relay messages to their final destination").split()


def mail_message(rng: random.Random, mail_from: str, rcpts: list[str], attach_max: int) -> bytes:
    """An RFC 5322 message (CRLF lines), sometimes multipart with a base64 attachment."""
    ident = rng.getrandbits(64)
    lines = [
        "Received: from client.example.org (client.example.org [10.1.2.3])",
        f"\tby mx.example.net with ESMTP id {ident:016x}",
        f"Date: Mon, 20 Nov 2023 10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000",
        f"From: Sender <{mail_from}>",
        "To: " + ", ".join(f"<{r}>" for r in rcpts[:2]),
    ]
    if len(rcpts) > 2:
        lines.append("Cc: " + ", ".join(f"<{r}>" for r in rcpts[2:]))
    lines += [f"Subject: Report {ident % 100000} "
              + " ".join(rng.choice(WORDS) for _ in range(4)),
              f"Message-ID: <{ident:016x}@example.org>", "MIME-Version: 1.0"]
    body = []
    for _ in range(rng.randint(3, 40)):
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        if rng.random() < 0.08:
            line = "." + line  # needs dot-stuffing on the wire
        body.append(line)
    if rng.random() < 0.3 and attach_max:
        size = rng.randint(500, attach_max)
        blob = rng.getrandbits(8 * size).to_bytes(size, "big")
        b64 = base64.encodebytes(blob).decode().splitlines()
        bnd = f"=_{ident:x}"
        lines += [f'Content-Type: multipart/mixed; boundary="{bnd}"', "", f"--{bnd}",
                  "Content-Type: text/plain; charset=us-ascii", "", *body, f"--{bnd}",
                  'Content-Type: application/octet-stream; name="data.bin"',
                  "Content-Transfer-Encoding: base64",
                  'Content-Disposition: attachment; filename="data.bin"', "", *b64,
                  f"--{bnd}--"]
    else:
        lines += ["Content-Type: text/plain; charset=us-ascii", "", *body]
    return ("\r\n".join(lines) + "\r\n").encode()


def smtp_flow(rng: random.Random, v6mode: bool, vlan: int, stats: Counter, attach_max: int):
    c = Tcp(rng, 25, v6mode, vlan)
    yield from c.handshake()
    yield c.frame(False, 0x18, b"220 mx.example.net ESMTP ready\r\n")
    yield c.frame(True, 0x18, b"EHLO client.example.org\r\n")
    yield c.frame(False, 0x18, b"250-mx.example.net Hello client.example.org\r\n"
                  b"250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                  b"250 SMTP UTF8\r\n")
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        sender = f"user{rng.randint(1, 999)}@example.org"
        rcpts = [f"rcpt{rng.randint(1, 9999)}@example.net" for _ in range(rng.randint(1, 4))]
        cmds = [f"MAIL FROM:<{sender}> SIZE={rng.randint(500, 90000)}\r\n".encode()]
        cmds += [f"RCPT TO:<{r}>\r\n".encode() for r in rcpts]
        cmds.append(b"DATA\r\n")
        replies = [b"250 2.1.0 Ok\r\n"] + [b"250 2.1.5 Ok\r\n"] * len(rcpts)
        replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        if rng.random() < 0.3:  # PIPELINING: the envelope in one segment, replies in one
            yield c.frame(True, 0x18, b"".join(cmds))
            yield c.frame(False, 0x18, b"".join(replies))
        else:
            for cmd, rep in zip(cmds, replies, strict=True):
                yield c.frame(True, 0x18, cmd)
                yield c.frame(False, 0x18, rep)
        msg = mail_message(rng, sender, rcpts, attach_max)
        stuffed = b"\r\n".join(b"." + ln if ln.startswith(b".") else ln
                               for ln in msg.split(b"\r\n"))
        data = stuffed + b".\r\n"
        if 0 < len(data) % 1448 < 5:  # the CRLF.CRLF end of data crosses a segment boundary
            stats["smtp_end_split"] += 1
            stats[f"smtp_end_split_{len(data) % 1448}"] += 1
        yield from c.send(True, data)
        yield c.frame(False, 0x18, b"250 2.0.0 Ok: queued as %X\r\n" % rng.getrandbits(40))
        stats["smtp_messages"] += 1
        stats["smtp_recipients"] += len(rcpts)
        stats["smtp_message_bytes"] += len(msg)
    yield c.frame(True, 0x18, b"QUIT\r\n")
    yield c.frame(False, 0x18, b"221 2.0.0 Bye\r\n")
    yield from c.close(server_first=True)
    stats["smtp_sessions"] += 1


def dns_flow(rng: random.Random, world: DnsWorld, v6mode: bool, vlan: int, stats: Counter):
    cmac, smac = mac(rng), mac(rng)
    if v6mode:
        cip, sip, et = v6(rng), v6(rng), 0x86DD
    else:
        cip, sip, et = v4(rng, 10), v4(rng, 198), 0x0800
    cport = rng.randint(1024, 65535)
    query, resp, facts = world.exchange(rng.getrandbits(16))
    key = (bool(vlan), "ipv6" if v6mode else "ipv4", "udp", False, True)
    for src, dst, sp, dp, m, sm, dm in ((cip, sip, cport, 53, query, cmac, smac),
                                        (sip, cip, 53, cport, resp, smac, cmac)):
        dg = udp_datagram(src, dst, sp, dp, m)
        pkt = ipv6(src, dst, 17, dg) if v6mode else ipv4(src, dst, 17, dg, rng.getrandbits(16))
        yield ether(dm, sm, et, pkt, vlan), key
    stats["dns_transactions"] += 1
    stats["dns_answers"] += facts["answers"]
    stats["dns_nxdomain"] += facts["nxdomain"]
    stats["dns_edns_transactions"] += facts["edns"]
    stats["dns_qtype_" + facts["qtype"]] += 1


def ntp_flow(rng: random.Random, v6mode: bool, vlan: int, stats: Counter):
    cmac, smac = mac(rng), mac(rng)
    cip, sip = (v6(rng), v6(rng)) if v6mode else (v4(rng, 10), v4(rng, 162))
    key = (bool(vlan), "ipv6" if v6mode else "ipv4", "udp", False, False)
    et = 0x86DD if v6mode else 0x0800
    for src, dst, sp, dp, sm, dm, mode in ((cip, sip, 40123, 123, cmac, smac, 0x23),
                                           (sip, cip, 123, 40123, smac, cmac, 0x24)):
        payload = bytes([mode, 2, 6, 0xE9]) + rng.getrandbits(352).to_bytes(44, "big")
        dg = udp_datagram(src, dst, sp, dp, payload)
        pkt = ipv6(src, dst, 17, dg) if v6mode else ipv4(src, dst, 17, dg, rng.getrandbits(16))
        yield ether(dm, sm, et, pkt, vlan), key


def ping_flow(rng: random.Random, v6mode: bool, vlan: int, stats: Counter):
    cmac, smac = mac(rng), mac(rng)
    ident = rng.getrandbits(16)
    data = bytes(range(56))
    if v6mode:
        cip, sip = v6(rng), v6(rng)
        key = (bool(vlan), "ipv6", "icmpv6", False, False)
        for seq in range(rng.randint(1, 4)):
            for src, dst, sm, dm, typ in ((cip, sip, cmac, smac, 128), (sip, cip, smac, cmac, 129)):
                body = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
                c = csum(pseudo(src, dst, 58, len(body)) + body)
                body = body[:2] + struct.pack("!H", c) + body[4:]
                yield ether(dm, sm, 0x86DD, ipv6(src, dst, 58, body), vlan), key
    else:
        cip, sip = v4(rng, 10), v4(rng, 8)
        key = (bool(vlan), "ipv4", "icmp", False, False)
        for seq in range(rng.randint(1, 4)):
            for src, dst, sm, dm, typ in ((cip, sip, cmac, smac, 8), (sip, cip, smac, cmac, 0)):
                body = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
                body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
                yield ether(dm, sm, 0x0800, ipv4(src, dst, 1, body, rng.getrandbits(16)),
                            vlan), key


def arp_flow(rng: random.Random, v6mode: bool, vlan: int, stats: Counter):
    a, b = mac(rng), mac(rng)
    ipa, ipb = v4(rng, 10), v4(rng, 10)
    key = (bool(vlan), "arp", None, False, False)
    req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, a, ipa, b"\0" * 6, ipb)
    rep = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, b, ipb, a, ipa)
    yield ether(b"\xff" * 6, a, 0x0806, req, vlan), key
    yield ether(a, b, 0x0806, rep, vlan), key


# ---------------------------------------------------------------- writing

class Writer:
    """Buffered pcap writer that classifies every frame into the manifest counters."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.f.write(PCAP_HEADER)
        self.buf: list[bytes] = []
        self.keys: Counter = Counter()
        self.prefix_counts: dict[int, dict] = {}
        self.frames = 0
        self.bytes = 0
        self.clock = clock

    def add(self, frame: bytes, key: tuple, gap_ns: int) -> None:
        self.clock.ns += gap_ns
        sec, ns = divmod(self.clock.ns, 10**9)
        n = len(frame)
        self.buf.append(REC.pack(sec, ns // 1000, n, n))
        self.buf.append(frame)
        self.keys[key] += 1
        self.frames += 1
        self.bytes += n
        if self.frames in PREFIXES:
            self.prefix_counts[self.frames] = summarize(self.keys, self.frames, self.bytes)
        if len(self.buf) >= 8192:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def close(self) -> None:
        self.f.write(b"".join(self.buf))
        self.f.close()


def summarize(keys: Counter, frames: int, nbytes: int) -> dict:
    """Per-protocol frame counts from the classification keys."""
    c = Counter()
    for (vlan, l3, l4, p25, dns), n in keys.items():
        c["vlan"] += n if vlan else 0
        c[l3] += n
        if l4:
            c[l4] += n
        c["tcp_port_25"] += n if p25 else 0
        c["bpf_tcp_port_25"] += n if p25 and not vlan else 0  # BPF "tcp port 25" skips 802.1Q
        c["dns_messages"] += n if dns else 0
    out = {"packets": frames, "bytes": nbytes}
    for k in ("vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "tcp_port_25",
              "bpf_tcp_port_25", "dns_messages"):
        out[k] = c.get(k, 0)
    return out


def run_mix(path: Path, rng: random.Random, target_frames: int, mix: list[tuple], stats: Counter,
            concurrency: int = 8) -> dict:
    """Interleave flows drawn from `mix` (factory, weight) until `target_frames` are written."""
    reset_pools()
    clock = Clock()
    w = Writer(path, clock)
    factories = [m[0] for m in mix]
    weights = [m[1] for m in mix]

    def new_flow():
        return rng.choices(factories, weights)[0]()

    active = [new_flow() for _ in range(concurrency)]
    while active:
        i = rng.randrange(len(active))
        try:
            frame, key = next(active[i])
        except StopIteration:
            if w.frames < target_frames:
                active[i] = new_flow()
            else:
                active.pop(i)
            continue
        w.add(frame, key, rng.randint(1_000, 60_000))
    w.close()
    result = {"file": path.name, "size": path.stat().st_size,
              "counts": summarize(w.keys, w.frames, w.bytes)}
    result["prefix"] = {str(k): v for k, v in w.prefix_counts.items()}
    return result


def vlan_of(rng: random.Random) -> int:
    return rng.randint(2, 4094) if rng.random() < 0.1 else 0


def generate_mixed(path: Path, frames: int, seed: int) -> dict:
    rng = random.Random(seed)
    world = DnsWorld(rng)
    stats: Counter = Counter()
    # weights per flow, chosen so that the frame shares are roughly: bulk v4 TCP 35%, SMTP 15%,
    # DNS v4 20%, v6 TCP 12%, v6 DNS 6%, NTP 3%, ICMP 3%, ICMPv6 1%, ARP 2%
    mix = [
        (lambda: bulk_flow(rng, False, vlan_of(rng), stats), 0.35 / 260),
        (lambda: smtp_flow(rng, False, vlan_of(rng), stats, 6000), 0.15 / 30),
        (lambda: dns_flow(rng, world, False, vlan_of(rng), stats), 0.20 / 2),
        (lambda: bulk_flow(rng, True, vlan_of(rng), stats), 0.12 / 260),
        (lambda: dns_flow(rng, world, True, vlan_of(rng), stats), 0.06 / 2),
        (lambda: ntp_flow(rng, rng.random() < 0.3, vlan_of(rng), stats), 0.03 / 2),
        (lambda: ping_flow(rng, False, vlan_of(rng), stats), 0.03 / 5),
        (lambda: ping_flow(rng, True, vlan_of(rng), stats), 0.01 / 5),
        (lambda: arp_flow(rng, False, vlan_of(rng), stats), 0.02 / 2),
    ]
    result = run_mix(path, rng, frames, mix, stats)
    result["counts"].update(dns_stats(stats))
    result["counts"].update(smtp_stats(stats))
    return result


def dns_stats(stats: Counter) -> dict:
    t = stats["dns_transactions"]
    out = {"dns_transactions": t, "dns_queries": t, "dns_responses": t,
           "dns_answers": stats["dns_answers"], "dns_nxdomain": stats["dns_nxdomain"],
           "dns_edns_transactions": stats["dns_edns_transactions"]}
    out.update({k: v for k, v in sorted(stats.items()) if k.startswith("dns_qtype_")})
    return out


def smtp_stats(stats: Counter) -> dict:
    return {k: stats[k] for k in ("smtp_sessions", "smtp_messages", "smtp_recipients",
                                  "smtp_message_bytes", "smtp_end_split", "smtp_end_split_1",
                                  "smtp_end_split_2", "smtp_end_split_3", "smtp_end_split_4")}


def generate_dns(path: Path, transactions: int, seed: int) -> dict:
    rng = random.Random(seed)
    world = DnsWorld(rng)
    stats: Counter = Counter()
    mix = [(lambda: dns_flow(rng, world, rng.random() < 0.15, vlan_of(rng), stats), 1.0)]
    result = run_mix(path, rng, 2 * transactions, mix, stats)
    result["counts"].update(dns_stats(stats))
    return result


def generate_smtp(path: Path, sessions: int, seed: int) -> dict:
    rng = random.Random(seed)
    stats: Counter = Counter()
    # target frames are open-ended; stop on the number of sessions instead
    mix = [(lambda: smtp_flow(rng, rng.random() < 0.1, 0, stats, 40000), 1.0)]
    reset_pools()
    clock = Clock()
    w = Writer(path, clock)
    active = [mix[0][0]() for _ in range(16)]
    started = 16
    while active:
        i = rng.randrange(len(active))
        try:
            frame, key = next(active[i])
        except StopIteration:
            if started < sessions:
                active[i] = mix[0][0]()
                started += 1
            else:
                active.pop(i)
            continue
        w.add(frame, key, rng.randint(1_000, 200_000))
    w.close()
    counts = summarize(w.keys, w.frames, w.bytes)
    counts.update(smtp_stats(stats))
    return {"file": path.name, "size": path.stat().st_size, "counts": counts}


def make_big(src: Path, dst: Path, target_bytes: int, counts: dict) -> dict:
    """Loop the records of `src` into `dst` until it reaches `target_bytes` (memory scenario)."""
    body = src.read_bytes()[len(PCAP_HEADER):]
    loops = max(1, -(-target_bytes // len(body)))
    with open(dst, "wb") as f:
        f.write(PCAP_HEADER)
        for _ in range(loops):
            f.write(body)
    big = {k: v * loops for k, v in counts.items() if isinstance(v, int)}
    return {"file": dst.name, "size": dst.stat().st_size, "loops": loops, "counts": big}


def source_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def generate(out: Path, mode: str, seed: int = 1, force: bool = False,
             sizes: dict | None = None) -> dict:
    """Write the three captures and manifest.json into `out`; reuse them if already current."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = sizes or SIZES[mode]
    stamp = {"generator": GENERATOR_VERSION, "source": source_digest(), "seed": seed,
             "sizes": sizes}
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and not force:
        old = json.loads(manifest_path.read_text())
        if old.get("stamp") == stamp and all((out / f["file"]).exists()
                                             for f in old["files"].values()):
            return old
    t0 = time.perf_counter()
    files = {
        "mixed": generate_mixed(out / "mixed.pcap", sizes["mixed_frames"], seed),
        "dns": generate_dns(out / "dns.pcap", sizes["dns_transactions"], seed + 1),
        "smtp": generate_smtp(out / "smtp.pcap", sizes["smtp_sessions"], seed + 2),
    }
    manifest = {"stamp": stamp, "files": files,
                "generated_in_s": round(time.perf_counter() - t0, 1)}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small captures")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--mixed-frames", type=int, help="override the mixed capture size")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    out = args.out or HERE / "data" / mode
    sizes = dict(SIZES[mode])
    if args.mixed_frames:
        sizes["mixed_frames"] = args.mixed_frames
    m = generate(out, mode, args.seed, args.force, sizes)
    print(json.dumps(m, indent=1))


if __name__ == "__main__":
    main()
