"""DNS messages and transactions: decode wire messages, pair queries with responses.

The wire decoder is Cython (`wirecraft._dns`); this module is its Python face:

    msg = wirecraft.dns.decode(payload)           # never raises on wire data
    msg.id, msg.rcode, msg.questions, msg.answers, msg.edns, msg.problems
    for rr in msg.answers: print(rr)              # zone-file form, as dig prints it

    table = wirecraft.dns.transactions("capture.pcap")   # list of dicts, Zeek dns.log-like
    table.to_pandas()

RFCs: 1035, 3596, 2782, 3403, 4034, 5155, 6891, 7766 (DNS over TCP framing), 7871,
7873, 7828, 7830, 8914, 9460, 8945, 3597, 6762 (mDNS), 4795 (LLMNR).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Any

from ._ext import load

_dns = load("_dns")

Message = _dns.Message
Question = _dns.Question
Record = _dns.Record
Edns = _dns.Edns
EdnsOption = _dns.EdnsOption
ClientSubnet = _dns.ClientSubnet
Cookie = _dns.Cookie
ExtendedError = _dns.ExtendedError
MX = _dns.MX
SOA = _dns.SOA
SRV = _dns.SRV
NAPTR = _dns.NAPTR
CAA = _dns.CAA
HINFO = _dns.HINFO
MINFO = _dns.MINFO
RP = _dns.RP
AFSDB = _dns.AFSDB
SSHFP = _dns.SSHFP
TLSA = _dns.TLSA
DS = _dns.DS
DNSKEY = _dns.DNSKEY
RRSIG = _dns.RRSIG
NSEC = _dns.NSEC
NSEC3 = _dns.NSEC3
NSEC3PARAM = _dns.NSEC3PARAM
CSYNC = _dns.CSYNC
URI = _dns.URI
SVCB = _dns.SVCB
TSIG = _dns.TSIG
TYPE_NAMES: dict[int, str] = _dns.TYPE_NAMES
TYPE_CODES: dict[str, int] = _dns.TYPE_CODES
CLASS_NAMES: dict[int, str] = _dns.CLASS_NAMES
RCODE_NAMES: dict[int, str] = _dns.RCODE_NAMES
type_name = _dns.type_name
class_name = _dns.class_name
rcode_name = _dns.rcode_name
decode_name = _dns.decode_name

DNS_PORTS = (53, 5353, 5355)
MDNS_PORT = 5353
LLMNR_PORT = 5355


def decode(data: bytes, mdns: bool | None = None) -> Message:
    """Decode one DNS message (UDP payload, or one TCP message without its length prefix).

    Never raises on wire data: damage is listed in `msg.problems` and the message holds
    what could be read. mdns: None splits the top class bit (mDNS cache-flush/QU) only
    when the rest is IN, True always, False never.
    """
    return _dns.decode(data, mdns)


class TCPMessageFramer:
    """Sans-IO splitter of one direction of a DNS-over-TCP connection (RFC 7766 8).

    Feed the reassembled bytes in order; `feed` returns the complete messages (without
    their 2-byte length) in order, holding a partial one until the rest arrives. After
    a gap in the stream call `reset()`: the framing is lost and the partial is dropped.
    Memory held is at most one message (65535 bytes) plus the unread tail of a feed.
    """

    __slots__ = ("_buf", "messages", "dropped")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.messages = 0
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the messages completed by them (possibly several, or none)."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            length = (buf[pos] << 8) | buf[pos + 1]
            if size - pos - 2 < length:
                break
            out.append(bytes(buf[pos + 2:pos + 2 + length]))
            pos += 2 + length
        if pos:
            del buf[:pos]
        self.messages += len(out)
        return out

    @property
    def pending(self) -> int:
        """Bytes held: a length prefix and/or the start of a message not yet complete."""
        return len(self._buf)

    def reset(self) -> int:
        """Forget the partial message (after a gap); returns how many bytes were dropped."""
        dropped = len(self._buf)
        self._buf.clear()
        self.dropped += dropped
        return dropped


@dataclass(slots=True)
class DNSEvent:
    """One DNS message seen in a capture, with where and when it travelled.

    index is the capture index of the packet that carried (for TCP: completed) it.
    """

    index: int
    ts_ns: int
    proto: str
    src: str
    src_port: int
    dst: str
    dst_port: int
    message: Message


def _packets(source: Any) -> Iterable[Any]:
    if isinstance(source, str | PathLike):
        from .capture import read

        return read(source)
    return source


class _TCPDirection:
    __slots__ = ("framer", "next_seq")

    def __init__(self) -> None:
        self.framer = TCPMessageFramer()
        self.next_seq: int | None = None


def messages(source: Any, *, ports: Iterable[int] = DNS_PORTS,
             tcp: bool = True) -> Iterator[DNSEvent]:
    """Every DNS message of a source (path, Capture or iterable of Packets), in order.

    UDP datagrams to or from one of `ports` are decoded one message each; TCP segments on
    those ports are put in order per direction (in-order delivery only: a segment that
    skips ahead drops the partial message and restarts framing) and split into messages.
    """
    port_set = frozenset(ports)
    flows: dict[tuple, _TCPDirection] = {}
    decode_msg = _dns.decode
    for pkt in _packets(source):
        udp = pkt.udp
        if udp is not None:
            sp = udp.src_port
            dp = udp.dst_port
            if sp not in port_set and dp not in port_set:
                continue
            payload = pkt.payload
            if len(payload) < 12:
                continue
            ip = pkt.ip
            mdns = True if (sp == MDNS_PORT or dp == MDNS_PORT) else None
            msg = decode_msg(payload, mdns)
            if ip.flags & 1:  # more fragments follow: this is only the datagram's start
                msg.problems.append("ip_fragment")
            yield DNSEvent(pkt.index, pkt.time_ns, "udp", ip.src, sp, ip.dst, dp, msg)
            continue
        if not tcp:
            continue
        seg = pkt.tcp
        if seg is None:
            continue
        sp = seg.src_port
        dp = seg.dst_port
        if sp not in port_set and dp not in port_set:
            continue
        ip = pkt.ip
        key = (ip.src, sp, ip.dst, dp)
        state = flows.get(key)
        flags = seg.flags
        if flags & 4:  # RST ends the connection's framing in this direction
            flows.pop(key, None)
            continue
        if state is None:
            state = flows[key] = _TCPDirection()
        seq = seg.seq
        payload = pkt.payload
        if flags & 2:  # SYN takes one sequence number
            state.next_seq = (seq + 1) & 0xFFFFFFFF
            state.framer.reset()
            seq = (seq + 1) & 0xFFFFFFFF
        if payload:
            if state.next_seq is None:
                state.next_seq = seq
            delta = (seq - state.next_seq) & 0xFFFFFFFF
            if delta == 0:
                data = payload
            elif delta >= 0x80000000:  # starts before what we have: keep only new bytes
                old = 0x100000000 - delta
                data = payload[old:] if old < len(payload) else b""
            else:  # a gap: the bytes in between were not captured
                state.framer.reset()
                data = payload
            if data:
                state.next_seq = (seq + len(payload)) & 0xFFFFFFFF
            for raw in state.framer.feed(data):
                yield DNSEvent(pkt.index, pkt.time_ns, "tcp", ip.src, sp, ip.dst, dp, decode_msg(raw))
        if flags & 1:
            flows.pop(key, None)


# --- transactions -----------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts", "float64"), ("ts_ns", "int64"), ("uid", "string"),
    ("id_orig_h", "string"), ("id_orig_p", "int64"),
    ("id_resp_h", "string"), ("id_resp_p", "int64"), ("proto", "string"),
    ("trans_id", "int64"), ("rtt", "float64"), ("query", "string"),
    ("qclass", "int64"), ("qclass_name", "string"), ("qtype", "int64"),
    ("qtype_name", "string"), ("rcode", "int64"), ("rcode_name", "string"),
    ("opcode", "int64"), ("AA", "bool"), ("TC", "bool"), ("RD", "bool"), ("RA", "bool"),
    ("Z", "int64"), ("AD", "bool"), ("CD", "bool"),
    ("answers", "list<string>"), ("TTLs", "list<int64>"),
    ("rejected", "bool"), ("status", "string"),
    ("duplicate_queries", "int64"), ("duplicate_responses", "int64"),
    ("problems", "list<string>"),
)
_COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


class TransactionTable(list):
    """DNS transactions as a list of dicts (columns in COLUMNS), convertible to frames."""

    @property
    def columns(self) -> list[str]:
        return list(_COLUMN_NAMES)

    def to_arrow(self) -> Any:
        """A pyarrow.Table with one typed column per field (empty table keeps the schema)."""
        import pyarrow as pa

        kinds = {"float64": pa.float64(), "int64": pa.int64(), "string": pa.string(),
                 "bool": pa.bool_(), "list<string>": pa.list_(pa.string()),
                 "list<int64>": pa.list_(pa.int64())}
        schema = pa.schema([(name, kinds[kind]) for name, kind in COLUMNS])
        return pa.Table.from_pylist(list(self), schema=schema)

    def to_pandas(self) -> Any:
        """A pandas DataFrame (through Arrow, so nullable columns keep their types)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())


_MULTICAST4 = ipaddress.ip_network("224.0.0.0/4")
_MULTICAST6 = ipaddress.ip_network("ff00::/8")


def _is_multicast(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return ip in (_MULTICAST4 if ip.version == 4 else _MULTICAST6)


def _uid(proto: str, client: tuple, server: tuple) -> str:
    digest = hashlib.blake2b(f"{proto} {client} {server}".encode(), digest_size=8).hexdigest()
    return "D" + digest[:15]


def _qkey(msg: Message) -> tuple | None:
    if not msg.questions:
        return None
    q = msg.questions[0]
    return (q.name.lower(), q.type, q.cls)


def _new_row(ev: DNSEvent, client: tuple, server: tuple, msg: Message) -> dict:
    q = msg.questions[0] if msg.questions else None
    return {
        "ts": ev.ts_ns / 1e9, "ts_ns": ev.ts_ns, "uid": _uid(ev.proto, client, server),
        "id_orig_h": client[0], "id_orig_p": client[1],
        "id_resp_h": server[0], "id_resp_p": server[1], "proto": ev.proto,
        "trans_id": msg.id, "rtt": None,
        "query": q.name if q is not None else None,
        "qclass": q.cls if q is not None else None,
        "qclass_name": class_name(q.cls) if q is not None else None,
        "qtype": q.type if q is not None else None,
        "qtype_name": type_name(q.type) if q is not None else None,
        "rcode": None, "rcode_name": None, "opcode": msg.opcode,
        "AA": False, "TC": False, "RD": msg.rd, "RA": False, "Z": (msg.flags >> 4) & 7,
        "AD": False, "CD": msg.cd,
        "answers": None, "TTLs": None, "rejected": False, "status": "unanswered",
        "duplicate_queries": 0, "duplicate_responses": 0, "problems": list(msg.problems),
    }


def _fill_response(row: dict, ev: DNSEvent, msg: Message) -> None:
    row["rcode"] = msg.rcode
    row["rcode_name"] = msg.rcode_name
    row["AA"] = msg.aa
    row["TC"] = msg.tc
    row["RA"] = msg.ra
    row["AD"] = msg.ad
    row["Z"] = (msg.flags >> 4) & 7
    row["answers"] = [rr.text for rr in msg.answers]
    row["TTLs"] = [rr.ttl for rr in msg.answers]
    row["rejected"] = msg.rcode not in (0, 3)
    for p in msg.problems:
        if p not in row["problems"]:
            row["problems"].append(p)


def transactions(source: Any, *, ports: Iterable[int] = DNS_PORTS,
                 timeout: float = 10.0) -> TransactionTable:
    """Pair DNS queries with their responses: one row per transaction, Zeek dns.log-like.

    A response answers the oldest pending query with the same transport, client and
    server endpoints (or the multicast group the query went to, for mDNS/LLMNR), id and
    first question, sent at most `timeout` seconds before. Rows have status "answered",
    "unanswered" (no response within the timeout) or "no_query" (a response whose query
    was not seen); a query sent again while pending and a response seen again count in
    duplicate_queries / duplicate_responses. rtt is seconds from the first query.
    """
    limit_ns = int(timeout * 1e9)
    rows = TransactionTable()
    # key (proto, client, server, id) -> list of pending rows (with their qkey)
    pending: dict[tuple, list[tuple[tuple | None, dict]]] = {}
    answered: OrderedDict[tuple, tuple[tuple | None, dict]] = OrderedDict()
    multicast_cache: dict[str, bool] = {}

    def multicast(addr: str) -> bool:
        hit = multicast_cache.get(addr)
        if hit is None:
            hit = multicast_cache[addr] = _is_multicast(addr)
        return hit

    for ev in messages(source, ports=ports):
        msg = ev.message
        now = ev.ts_ns
        qk = _qkey(msg)
        if not msg.qr:
            client = (ev.src, ev.src_port)
            server = (ev.dst, ev.dst_port)
            key = (ev.proto, client, server, msg.id)
            waiting = pending.get(key)
            if waiting:
                dup = next((r for k, r in waiting if k == qk and now - r["ts_ns"] <= limit_ns),
                           None)
                if dup is not None:
                    dup["duplicate_queries"] += 1
                    continue
            row = _new_row(ev, client, server, msg)
            rows.append(row)
            pending.setdefault(key, []).append((qk, row))
            if multicast(ev.dst):
                pending.setdefault((ev.proto, None, server, msg.id), []).append((qk, row))
            continue
        client = (ev.dst, ev.dst_port)
        server = (ev.src, ev.src_port)
        if multicast(ev.dst):
            key = (ev.proto, None, client, msg.id)
        else:
            key = (ev.proto, client, server, msg.id)
        match = None
        waiting = pending.get(key)
        if waiting:
            for i, (k, r) in enumerate(waiting):
                if (qk is None or k == qk) and 0 <= now - r["ts_ns"] <= limit_ns:
                    match = r
                    del waiting[i]
                    break
            if not waiting:
                del pending[key]
        if match is None and key[1] is not None:
            # a unicast reply to a query that went to a multicast group (mDNS QU, LLMNR)
            for gkey in [k for k in pending if k[1] is None and k[3] == msg.id
                         and k[0] == ev.proto]:
                for i, (k, r) in enumerate(pending[gkey]):
                    if ((qk is None or k == qk) and r["id_orig_h"] == client[0]
                            and r["id_orig_p"] == client[1]
                            and 0 <= now - r["ts_ns"] <= limit_ns):
                        match = r
                        del pending[gkey][i]
                        break
                if match is not None:
                    break
        if match is not None:
            if match["status"] == "answered":  # second responder to a multicast query
                match["duplicate_responses"] += 1
                continue
            match["status"] = "answered"
            match["rtt"] = (now - match["ts_ns"]) / 1e9
            _fill_response(match, ev, msg)
            if key[1] is not None:
                answered[key] = (qk, match)
                # a multicast query's entry under the group key may still be listed
            else:
                pending.setdefault(key, []).insert(0, (qk, match))
            while len(answered) > 65536:
                answered.popitem(last=False)
            continue
        prev = answered.get(key)
        if prev is not None and (qk is None or prev[0] == qk) \
                and now - prev[1]["ts_ns"] <= limit_ns:
            prev[1]["duplicate_responses"] += 1
            continue
        row = _new_row(ev, client, server, msg)
        row["RD"] = msg.rd
        row["CD"] = msg.cd
        row["status"] = "no_query"
        _fill_response(row, ev, msg)
        rows.append(row)
    return rows
