"""Whole conversations as frames: TCP (RFC 9293, options RFC 7323 / RFC 2018), DNS over
UDP and TCP (RFC 1035, RFC 7766), and SMTP sessions (RFC 5321) carrying a message
built with the `email` package (RFC 5322, MIME RFC 2045).

    conv = smtp_session("alice@example.org", ["bob@example.net"], build_message(...))
    conv.write("smtp.pcap")

Every builder returns frames as (ts_ns, bytes) pairs in capture order, as a
tap beside the client would see them.
"""

from __future__ import annotations

import email.policy
import random
import struct
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from .base import Layer
from .dns import DNS
from .layers import TCP, UDP, Ethernet, IPv4, IPv6

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
_GAP_NS = 20_000  # spacing of back-to-back packets from one side


class _Side:
    def __init__(self, addr: str, port: int, mac: str, isn: int, mss: int, wscale: int | None,
                 ip_id: int, ts_offset: int) -> None:
        self.addr, self.port, self.mac = addr, port, mac
        self.isn = isn
        self.next_seq = isn  # next sequence number to send
        self.rcv_next = 0  # next byte expected from the peer
        self.mss = mss
        self.wscale = wscale
        self.ip_id = ip_id
        self.ts_offset = ts_offset
        self.ts_recent = 0  # last TSval seen from the peer
        self.sent = bytearray()


class TCPConversation:
    """Frames of one TCP connection: handshake with options, data both ways, close.

    Segments carry at most the peer's MSS minus the option bytes, sequence and
    acknowledgement numbers follow the bytes sent, TSval counts milliseconds
    from each side's own offset and TSecr echoes the peer's last TSval.
    loss (probability) or lose (set of data segment numbers, counted from 0
    across the conversation) marks segments dropped after the tap: they
    appear once, the receiver answers the later segments with duplicate
    ACKs (with SACK blocks when SACK is on) and the sender retransmits after
    `rto_ns`. reorder (probability) swaps a segment with the next one.
    """

    def __init__(self, client: tuple[str, int] = ("192.0.2.10", 40000),
                 server: tuple[str, int] = ("192.0.2.20", 80), *,
                 client_mac: str = "02:00:00:00:00:01", server_mac: str = "02:00:00:00:00:02",
                 mss: int = 1460, server_mss: int | None = None, window: int = 64240,
                 wscale: int | None = 7, sack: bool = True, timestamps: bool = True,
                 start_ns: int = 1_700_000_000_000_000_000, rtt_ns: int = 2_000_000,
                 seed: int = 0, loss: float = 0.0, lose: set[int] | None = None,
                 reorder: float = 0.0, rto_ns: int = 200_000_000, ttl: int = 64,
                 client_isn: int | None = None, server_isn: int | None = None) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.ipv6 = ":" in client[0]
        self.client = _Side(client[0], client[1], client_mac,
                            rng.getrandbits(32) if client_isn is None else client_isn, mss,
                            wscale, rng.getrandbits(16), rng.getrandbits(32))
        self.server = _Side(server[0], server[1], server_mac,
                            rng.getrandbits(32) if server_isn is None else server_isn,
                            server_mss or mss, wscale, rng.getrandbits(16), rng.getrandbits(32))
        self.window = window
        self.sack = sack
        self.timestamps = timestamps
        self.start_ns = start_ns
        self.now = start_ns
        self.rtt_ns = rtt_ns
        self.loss = loss
        self.lose = set(lose or ())
        self.reorder = reorder
        self.rto_ns = rto_ns
        self.ttl = ttl
        self.packets: list[tuple[int, bytes]] = []
        self._segments_sent = 0
        self._last_sender: _Side | None = None
        self.established = False
        self.closed = False

    # -- frames ----------------------------------------------------------
    def _peer(self, side: _Side) -> _Side:
        return self.server if side is self.client else self.client

    def _side(self, who: str | _Side) -> _Side:
        if isinstance(who, _Side):
            return who
        if who not in ("client", "server"):
            raise ValueError('side must be "client" or "server"')
        return self.client if who == "client" else self.server

    def _tick(self, side: _Side) -> None:
        if self._last_sender is not None:
            self.now += _GAP_NS if side is self._last_sender else self.rtt_ns // 2
        self._last_sender = side

    def _tsval(self, side: _Side) -> int:
        return (side.ts_offset + (self.now - self.start_ns) // 1_000_000) & 0xFFFFFFFF

    def _frame(self, side: _Side, flags: int, seq: int, payload: bytes = b"",
               options: list | None = None, ack: int | None = None) -> bytes:
        peer = self._peer(side)
        opts = list(options or [])
        if self.timestamps and not flags & RST:
            ts = ("Timestamp", (self._tsval(side), side.ts_recent if flags & ACK else 0))
            if flags & SYN:
                opts.append(ts)
            else:
                opts = [("NOP", None), ("NOP", None), ts, *opts]
        ip: Layer
        if self.ipv6:
            ip = IPv6(src=side.addr, dst=peer.addr, hop_limit=self.ttl)
        else:
            ip = IPv4(src=side.addr, dst=peer.addr, id=side.ip_id & 0xFFFF, flags=2, ttl=self.ttl)
            side.ip_id += 1
        window = self.window if flags & SYN or side.wscale is None else self.window >> side.wscale
        tcp = TCP(src_port=side.port, dst_port=peer.port, seq=seq & 0xFFFFFFFF,
                  ack=(side.rcv_next if ack is None else ack) & 0xFFFFFFFF if flags & ACK else 0,
                  flags=flags, window=window, options=opts)
        pkt = Ethernet(src=side.mac, dst=peer.mac) / ip / tcp
        if payload:
            pkt = pkt / payload
        return bytes(pkt)

    def _send_segment(self, side: _Side, flags: int, seq: int, payload: bytes = b"",
                      options: list | None = None, ack: int | None = None) -> None:
        self._tick(side)
        peer = self._peer(side)
        frame = self._frame(side, flags, seq, payload, options, ack)
        self.packets.append((self.now, frame))
        if self.timestamps:
            peer.ts_recent = self._tsval(side)

    # -- the connection ------------------------------------------------------
    def handshake(self) -> TCPConversation:
        """SYN (MSS, SACK permitted, timestamps, window scale), SYN-ACK, ACK."""
        c, s = self.client, self.server

        def syn_options(side: _Side) -> list:
            opts: list = [("MSS", side.mss)]
            if self.sack:
                opts.append(("SAckOK", None))
            if side.wscale is not None:
                opts += [("NOP", None), ("WScale", side.wscale)]
            return opts

        self._send_segment(c, SYN, c.isn, options=syn_options(c))
        c.next_seq = c.isn + 1
        s.rcv_next = c.isn + 1
        self._send_segment(s, SYN | ACK, s.isn, options=syn_options(s))
        s.next_seq = s.isn + 1
        c.rcv_next = s.isn + 1
        self._send_segment(c, ACK, c.next_seq)
        self.established = True
        return self

    def _segment_size(self, side: _Side) -> int:
        peer_mss = self._peer(side).mss
        return max(1, peer_mss - (12 if self.timestamps else 0))

    def send(self, who: str, data: bytes | str) -> TCPConversation:
        """`who` ("client" or "server") sends `data`, segmented, and the peer acknowledges."""
        if not self.established:
            self.handshake()
        if isinstance(data, str):
            data = data.encode()
        side = self._side(who)
        peer = self._peer(side)
        size = self._segment_size(side)
        segs = []
        for i in range(0, len(data), size):
            chunk = data[i:i + size]
            segs.append((side.next_seq, chunk, self._segments_sent))
            side.next_seq += len(chunk)
            self._segments_sent += 1
        side.sent += data
        order = list(range(len(segs)))
        for i in range(len(order) - 1):
            if self.reorder and self.rng.random() < self.reorder:
                order[i], order[i + 1] = order[i + 1], order[i]
        lost = [segs[i] for i in order
                if segs[i][2] in self.lose or (self.loss and self.rng.random() < self.loss)]
        lost_seqs = {s[0] for s in lost}
        received: dict[int, bytes] = {}
        since_ack = 0
        for n, i in enumerate(order):
            seq, chunk, _ = segs[i]
            last = n == len(order) - 1
            self._send_segment(side, ACK | (PSH if last else 0), seq, chunk)
            if seq in lost_seqs:
                continue
            received[seq] = chunk
            in_order = seq == peer.rcv_next
            while peer.rcv_next in received:
                peer.rcv_next += len(received.pop(peer.rcv_next))
            since_ack += 1
            if not in_order:
                self._ack(peer, received)  # duplicate ACK, with SACK blocks
                since_ack = 0
            elif since_ack >= 2 or last:
                self._ack(peer, received)
                since_ack = 0
        if lost:
            self.now += self.rto_ns
            for seq, chunk, _ in sorted(lost):
                self._send_segment(side, ACK | PSH, seq, chunk)
                received[seq] = chunk
                while peer.rcv_next in received:
                    peer.rcv_next += len(received.pop(peer.rcv_next))
                self._ack(peer, received)
        return self

    def _ack(self, side: _Side, out_of_order: dict[int, bytes]) -> None:
        opts: list = []
        if self.sack and out_of_order:
            blocks = []
            for seq in sorted(out_of_order):
                end = seq + len(out_of_order[seq])
                if blocks and blocks[-1][1] == seq:
                    blocks[-1][1] = end
                else:
                    blocks.append([seq, end])
            opts = [("NOP", None), ("NOP", None),
                    ("SAck", [(a & 0xFFFFFFFF, b & 0xFFFFFFFF) for a, b in blocks[:3]])]
        self._send_segment(side, ACK, side.next_seq, options=opts)

    def close(self, by: str = "client", rst: bool = False) -> TCPConversation:
        """FIN exchange started by `by` (FIN-ACK, FIN-ACK, ACK), or one RST-ACK from `by`."""
        side = self._side(by)
        peer = self._peer(side)
        if rst:
            self._send_segment(side, RST | ACK, side.next_seq)
        else:
            self._send_segment(side, FIN | ACK, side.next_seq)
            side.next_seq += 1
            peer.rcv_next += 1
            self._send_segment(peer, FIN | ACK, peer.next_seq)
            peer.next_seq += 1
            side.rcv_next += 1
            self._send_segment(side, ACK, side.next_seq)
        self.closed = True
        return self

    # -- output ----------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.packets)

    def __len__(self) -> int:
        return len(self.packets)

    @property
    def client_data(self) -> bytes:
        """Every byte the client sent, in order."""
        return bytes(self.client.sent)

    @property
    def server_data(self) -> bytes:
        return bytes(self.server.sent)

    def write(self, path: Any, nanosecond: bool = True) -> int:
        """Write the frames to a pcap file; returns how many."""
        from ..writers import write_pcap

        return write_pcap(path, self.packets, 1, nanosecond)


# ---------------------------------------------------------------- DNS

def dns_udp_exchange(query: DNS, response: DNS | None = None,
                     client: tuple[str, int] = ("192.0.2.10", 53000),
                     server: tuple[str, int] = ("192.0.2.53", 53), *,
                     client_mac: str = "02:00:00:00:00:01", server_mac: str = "02:00:00:00:00:02",
                     start_ns: int = 1_700_000_000_000_000_000, rtt_ns: int = 2_000_000,
                     ip_id: int = 0x1000) -> list[tuple[int, bytes]]:
    """A query datagram and, if given, its response rtt_ns later."""
    v6 = ":" in client[0]

    def frame(src: tuple[str, int], dst: tuple[str, int], smac: str, dmac: str,
              msg: DNS, ident: int) -> bytes:
        ip = IPv6(src=src[0], dst=dst[0]) if v6 else IPv4(src=src[0], dst=dst[0], id=ident)
        return bytes(Ethernet(src=smac, dst=dmac) / ip / UDP(src_port=src[1], dst_port=dst[1])
                     / msg)

    out = [(start_ns, frame(client, server, client_mac, server_mac, query, ip_id))]
    if response is not None:
        out.append((start_ns + rtt_ns, frame(server, client, server_mac, client_mac, response,
                                             ip_id + 0x100)))
    return out


def dns_tcp_exchange(pairs: list[tuple[DNS, DNS | None]],
                     client: tuple[str, int] = ("192.0.2.10", 53001),
                     server: tuple[str, int] = ("192.0.2.53", 53), **conversation: Any
                     ) -> TCPConversation:
    """DNS over one TCP connection (RFC 7766): each message behind its 2-byte length."""
    conv = TCPConversation(client, server, **conversation).handshake()
    for query, response in pairs:
        q = bytes(query)
        conv.send("client", struct.pack("!H", len(q)) + q)
        if response is not None:
            r = bytes(response)
            conv.send("server", struct.pack("!H", len(r)) + r)
    return conv.close("client")


# ---------------------------------------------------------------- SMTP

def build_message(sender: str, recipients: list[str], subject: str, body: str,
                  attachments: list[tuple[str, bytes, str]] | None = None,
                  date: str = "Tue, 14 Nov 2023 22:13:20 +0000",
                  message_id: str = "<wirecraft.1@example.org>") -> EmailMessage:
    """A MIME message; attachments are (filename, content, "maintype/subtype")."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg.set_content(body)
    for filename, content, mimetype in attachments or []:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=filename)
    return msg


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 s4.5.2: double a leading dot on every line; end with CRLF . CRLF."""
    data = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")[:-1]
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                    for line in lines) + b".\r\n"


def smtp_session(mail_from: str, rcpt_to: list[str], message: EmailMessage | bytes, *,
                 client: tuple[str, int] = ("192.0.2.10", 41000),
                 server: tuple[str, int] = ("192.0.2.25", 25),
                 helo: str = "client.example.org", server_name: str = "mail.example.net",
                 extensions: tuple[str, ...] = ("SIZE 10240000", "8BITMIME", "PIPELINING",
                                                "ENHANCEDSTATUSCODES", "HELP"),
                 queue_id: str = "4F3A21C0DE", **conversation: Any) -> TCPConversation:
    """A complete SMTP session: banner, EHLO (multi-line reply), MAIL, each RCPT, DATA
    with the dot-stuffed message, QUIT, and the server closing the connection."""
    body = message.as_bytes(policy=email.policy.SMTP) if isinstance(message, EmailMessage) else (
        bytes(message))
    conv = TCPConversation(client, server, **conversation).handshake()
    conv.send("server", f"220 {server_name} ESMTP wirecraft\r\n")
    conv.send("client", f"EHLO {helo}\r\n")
    lines = [f"{server_name} Hello {helo}", *extensions]
    conv.send("server", "".join(f"250{'-' if i < len(lines) - 1 else ' '}{line}\r\n"
                                for i, line in enumerate(lines)))
    conv.send("client", f"MAIL FROM:<{mail_from}>\r\n")
    conv.send("server", "250 2.1.0 Ok\r\n")
    for rcpt in rcpt_to:
        conv.send("client", f"RCPT TO:<{rcpt}>\r\n")
        conv.send("server", "250 2.1.5 Ok\r\n")
    conv.send("client", "DATA\r\n")
    conv.send("server", "354 End data with <CR><LF>.<CR><LF>\r\n")
    conv.send("client", dot_stuff(body))
    conv.send("server", f"250 2.0.0 Ok: queued as {queue_id}\r\n")
    conv.send("client", "QUIT\r\n")
    conv.send("server", "221 2.0.0 Bye\r\n")
    return conv.close("server")


__all__ = ["TCPConversation", "build_message", "dns_tcp_exchange", "dns_udp_exchange",
           "dot_stuff", "smtp_session"]
