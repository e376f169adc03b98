"""DNS messages and transactions: decode wire messages, pair queries with responses.

The wire decoder is Cython (`wirecraft._dns`); this module is its Python face:

    msg = wirecraft.dns.decode(payload)           # never raises on wire data
    msg.id, msg.rcode, msg.questions, msg.answers, msg.edns, msg.problems
    for rr in msg.answers: print(rr)              # zone-file form, as dig prints it

    table = wirecraft.dns.transactions("capture.pcap")   # rows (mappings), Zeek dns.log-like
    table.to_pandas()

RFCs: 1035, 3596, 2782, 3403, 4034, 5155, 6891, 7766 (DNS over TCP framing), 7871,
7873, 7828, 7830, 8914, 9460, 8945, 3597, 6762 (mDNS), 4795 (LLMNR), 2136 (UPDATE),
1876 (LOC).

Problems beyond the wire form (the message is still decoded): ``edns_ecs_truncated``,
``edns_ecs_bad_family``, ``edns_ecs_bad_prefix``, ``edns_ecs_bad_address_length``,
``edns_ecs_address_bits_past_prefix`` (RFC 7871 6), ``edns_cookie_bad_length``
(RFC 7873 4), ``edns_keepalive_bad_length``, ``edns_expire_bad_length``,
``edns_ede_truncated``, ``edns_ede_bad_text`` (RFC 8914 2), ``svcb_key_order``,
``svcb_duplicate_key``, ``svcb_mandatory_self``, ``svcb_mandatory_missing``,
``svcb_mandatory_order``, ``svcb_alias_with_params``, ``svcb_param_empty``,
``svcb_no_default_alpn_without_alpn`` (RFC 9460 2.2, 7, 8), ``tsig_not_last``
(RFC 8945 4.1: the last record of the additional section), ``multiple_opt``,
``opt_outside_additional``. A LOC record of version 0 not 16 bytes long is
``rdata_malformed``; UPDATE records of class ANY/NONE without rdata are valid.
DNS over TCP: a message that a gap or the end of the connection cut short (its length
prefix promised more) is decoded as far as it goes and flagged ``tcp_message_truncated``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from os import PathLike

from ._ext import load
from .proto import _bind

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` is not imported at run time for them
    from typing import Any

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

# the binding table's UDP ports for DNS, mDNS and LLMNR: (53, 5353, 5355)
DNS_PORTS: tuple[int, ...] = (*_bind.values("udp", "dns"), *_bind.values("udp", "mdns"),
                              *_bind.values("udp", "llmnr"))
MDNS_PORT: int = _bind.values("udp", "mdns")[0]
LLMNR_PORT: int = _bind.values("udp", "llmnr")[0]


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
    their 2-byte length) in order, holding a partial one until the rest arrives. At a
    gap or at the end of the stream call `cut(lost)`: it returns the start of a message
    that the gap or the end cut short (to be decoded and flagged, not dropped), and when
    the gap lies inside that message the framing resumes right after it. `reset()`
    forgets the partial. Memory held is at most one message (65535 bytes) plus the
    unread tail of a feed. `truncated` counts the messages cut, `dropped` the bytes.
    """

    __slots__ = ("_buf", "_skip", "messages", "dropped", "truncated")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0      # bytes still to come of a message a gap cut (not framed)
        self.messages = 0
        self.dropped = 0
        self.truncated = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the messages completed by them (possibly several, or none)."""
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            self.dropped += taken
            data = data[taken:]
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
        self._skip = 0
        self.dropped += dropped
        return dropped

    def cut(self, lost: int = 0) -> bytes | None:
        """The stream was cut: `lost` bytes never captured (a gap), or its end (lost 0).

        Returns the part of a message whose length prefix promised more than arrived
        (counted in `truncated`), else None. When the gap is shorter than what that
        message still needed, the bytes after the gap up to its end are skipped, so the
        messages after it are framed right; otherwise framing restarts after the gap."""
        buf = self._buf
        partial = None
        if self._skip:   # inside the rest of a message already cut: that rest shrinks
            self._skip = self._skip - lost if lost < self._skip else 0
            return None
        if len(buf) >= 2:
            length = (buf[0] << 8) | buf[1]
            partial = bytes(buf[2:])
            rest = length - len(partial)
            if lost < rest:
                self._skip = rest - lost
            self.truncated += 1
        self.dropped += len(buf) - (len(partial) + 2 if partial is not None else 0)
        buf.clear()
        return partial


def _event_class() -> type:
    """DNSEvent, made on first use: dataclasses costs several ms to import, which every
    `import wirecraft.dns` would pay for a class only messages() needs."""
    cls = globals().get("DNSEvent")
    if cls is not None:
        return cls
    from dataclasses import dataclass

    @dataclass(slots=True)
    class DNSEvent:
        """One DNS message seen in a capture, with where and when it travelled.

        index is the capture index of the packet that carried (for TCP: completed) it, -1
        for a TCP message delivered only when the input ended.
        """

        index: int
        ts_ns: int
        proto: str
        src: str
        src_port: int
        dst: str
        dst_port: int
        message: Message

    DNSEvent.__module__ = __name__
    DNSEvent.__qualname__ = "DNSEvent"
    globals()["DNSEvent"] = DNSEvent
    return DNSEvent


def __getattr__(name: str) -> Any:
    if name == "DNSEvent":
        return _event_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TCP_STATS_ZERO = {"tcp_messages_truncated": 0, "tcp_bytes_dropped": 0}


class _TCPStreams:
    """DNS over TCP through wirecraft.reassembly: segments put in order per connection
    (retransmissions, overlaps and reordering handled there), each direction split into
    messages by a TCPMessageFramer; a gap drops the partial message and restarts framing.

    feed(pkt) returns the messages the packet completed as (time_ns, src, src_port, dst,
    dst_port, raw, problem); flush() returns those completed when the input ends. problem
    is None, or "tcp_message_truncated" for a message that a gap or the connection's end
    cut short (its length prefix promised more than the stream carried): decoded as far
    as it goes, not dropped.
    """

    def __init__(self, reassembly: Any) -> None:
        self._out: list[tuple] = []
        self._framers: dict[tuple, TCPMessageFramer] = {}
        self.stats = dict(_TCP_STATS_ZERO)
        self._r = reassembly.Reassembler(on_data=self._on_data, on_gap=self._on_gap,
                                         on_close=self._on_close)

    def _framer(self, conn: Any, direction: int) -> TCPMessageFramer:
        key = (id(conn), direction)
        f = self._framers.get(key)
        if f is None:
            f = self._framers[key] = TCPMessageFramer()
        return f

    @staticmethod
    def _ends(conn: Any, direction: int) -> tuple:
        if direction == 0:
            return conn.client, conn.client_port, conn.server, conn.server_port
        return conn.server, conn.server_port, conn.client, conn.client_port

    def _on_data(self, conn: Any, direction: int, data: bytes) -> None:
        ends = self._ends(conn, direction)
        for raw in self._framer(conn, direction).feed(data):
            self._out.append((conn.last_ns, *ends, raw, None))

    def _cut(self, conn: Any, direction: int, framer: TCPMessageFramer, lost: int) -> None:
        partial = framer.cut(lost)
        if partial is not None:
            self._out.append((conn.last_ns, *self._ends(conn, direction), partial,
                              "tcp_message_truncated"))

    def _on_gap(self, conn: Any, direction: int, size: int) -> None:
        self._cut(conn, direction, self._framer(conn, direction), size)

    def _on_close(self, conn: Any) -> None:
        for direction in (0, 1):
            framer = self._framers.pop((id(conn), direction), None)
            if framer is not None:
                self._cut(conn, direction, framer, 0)
                self.stats["tcp_messages_truncated"] += framer.truncated
                self.stats["tcp_bytes_dropped"] += framer.dropped

    def feed(self, pkt: Any) -> list[tuple]:
        self._r.feed(pkt)
        out, self._out = self._out, []
        return out

    def flush(self) -> list[tuple]:
        self._r.flush()
        out, self._out = self._out, []
        return out


def _tcp_streams() -> Any:
    from . import reassembly

    return _TCPStreams(reassembly)


class _LazyTCP:
    """_tcp_streams() made at the first TCP segment: a capture without DNS over TCP
    does not pay for importing the reassembly machinery."""

    __slots__ = ("_streams",)

    def __init__(self) -> None:
        self._streams: Any = None

    def feed(self, pkt: Any) -> list[tuple]:
        if self._streams is None:
            self._streams = _tcp_streams()
        return self._streams.feed(pkt)

    def flush(self) -> list[tuple]:
        return [] if self._streams is None else self._streams.flush()

    @property
    def stats(self) -> dict[str, int]:
        """What the TCP framing lost so far (see TransactionTable.stats)."""
        return dict(getattr(self._streams, "stats", _TCP_STATS_ZERO))


def _udp_dns(pkt: Any, udp: Any, port_set: frozenset) -> tuple | None:
    """(ip view, source port, destination port, payload, mdns hint) of a UDP packet (udp:
    its view) to or from one of the ports carrying at least a DNS header, else None. The
    hint is True on the mDNS port and None (let the decoder decide) elsewhere."""
    sp = udp.src_port
    dp = udp.dst_port
    if sp not in port_set and dp not in port_set:
        return None
    payload = pkt.payload
    if len(payload) < 12:
        return None
    return pkt.ip, sp, dp, payload, True if (sp == MDNS_PORT or dp == MDNS_PORT) else None


def messages(source: Any, *, ports: Iterable[int] = DNS_PORTS,
             tcp: bool = True) -> Iterator[DNSEvent]:  # noqa: F821 - see _event_class
    """Every DNS message of a source (path, Capture or iterable of Packets), in order.

    UDP datagrams to or from one of `ports` are decoded one message each; TCP segments on
    those ports are put in order by wirecraft.reassembly and split into messages (2-byte
    length framing, RFC 7766 8). The source is read by wirecraft.capture.packets.
    """
    from .capture import packets

    port_set = frozenset(ports)
    streams = _LazyTCP()
    decode_msg = _dns.decode
    DNSEvent = _event_class()  # noqa: N806 - the class, bound locally
    for pkt in packets(source):
        udp = pkt.udp
        if udp is not None:
            found = _udp_dns(pkt, udp, port_set)
            if found is not None:
                ip, sp, dp, payload, mdns = found
                msg = decode_msg(payload, mdns)
                if ip.flags & 1:  # more fragments follow: this is only the datagram's start
                    msg.problems.append("ip_fragment")
                yield DNSEvent(pkt.index, pkt.time_ns, "udp", ip.src, sp, ip.dst, dp, msg)
            continue
        seg = pkt.tcp if tcp else None
        if seg is None or (seg.src_port not in port_set and seg.dst_port not in port_set):
            continue
        for ts, src, sp, dst, dp, raw, problem in streams.feed(pkt):
            msg = decode_msg(raw)
            if problem is not None:
                msg.problems.append(problem)
            yield DNSEvent(pkt.index, ts, "tcp", src, sp, dst, dp, msg)
    for ts, src, sp, dst, dp, raw, problem in streams.flush():
        msg = decode_msg(raw)
        if problem is not None:
            msg.problems.append(problem)
        yield DNSEvent(-1, ts, "tcp", src, sp, dst, dp, msg)


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
assert _COLUMN_NAMES == _dns.TRANSACTION_COLUMNS
TransactionRow = _dns.TransactionRow
connection_uid = _dns.connection_uid


class TransactionTable(Sequence):
    """DNS transactions, Zeek dns.log-like: a sequence of rows (read-only mappings with the
    keys in COLUMNS) that converts to Arrow, pandas or polars column by column.

    The columns live in C buffers (a _dns.TransactionStore); a row is a view that makes
    Python objects only for the values read, and Arrow arrays are built from the buffers.
    `stats` counts what DNS over TCP lost: tcp_messages_truncated (rows flagged
    tcp_message_truncated) and tcp_bytes_dropped (stream bytes that could not be framed
    into any message: a lone length byte, or the rest of a cut message after a gap).
    """

    def __init__(self, store: Any, stats: dict[str, int] | None = None) -> None:
        self._store = store
        self.stats: dict[str, int] = dict(stats) if stats else dict(_TCP_STATS_ZERO)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def columns(self) -> list[str]:
        return list(_COLUMN_NAMES)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            row = self._store.row
            return [row(k) for k in range(*i.indices(len(self._store)))]
        return self._store.row(i)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._store)

    def __repr__(self) -> str:
        return f"<TransactionTable {len(self._store)} transactions>"

    def column(self, name: str) -> list:
        """One column as a list."""
        return self._store.column(name)

    def to_dicts(self) -> list[dict]:
        """Every row as a plain dict."""
        return self._store.to_dicts()

    def answer_types(self) -> list[int]:
        """The record type of every answer, rows in order and each row's answers in order
        (rows without a response add none): beside `answers`, which holds only the rdata's
        text, this says how to read each one (the Zeek-form dns.log renders by it)."""
        return self._store.answer_types().tolist()

    def to_arrow(self) -> Any:
        """A pyarrow.Table with one typed column per field (empty table keeps the schema)."""
        import numpy as np

        from ._optional import require

        pa = require("pyarrow")
        pc = require("pyarrow.compute")

        parts = self._store.arrow_parts()
        n = parts["n"]
        num = {k: np.frombuffer(v, dtype=np.int64) for k, v in parts["numbers"].items()}

        def buf(values: Any) -> Any:
            return pa.py_buffer(values)

        def strings(offsets: Any, data: bytes, valid: Any = None) -> Any:
            count = len(offsets) - 1
            bitmap, nulls = None, 0
            if valid is not None:
                nulls = int(count - np.count_nonzero(valid))
                if nulls:
                    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
            return pa.LargeStringArray.from_buffers(
                count, buf(offsets), buf(data), bitmap, nulls).cast(pa.string())

        def names(codes: Any, valid: Any, fn: Any) -> Any:
            # one name per distinct code, then a gather (nulls where not valid)
            uniq, inverse = np.unique(np.where(valid, codes, 0), return_inverse=True)
            text = pa.array([fn(int(c)) for c in uniq], type=pa.string())
            return pc.take(text, pa.array(inverse.astype(np.int64), mask=~valid))

        def int_column(values: Any, valid: Any = None) -> Any:
            return pa.array(values, type=pa.int64(), mask=None if valid is None else ~valid)

        has_q = num["has_query"] != 0
        has_r = num["has_response"] != 0
        rcode = num["rcode"]
        has_rcode = rcode >= 0
        qf = num["query_flags"]
        rf = num["response_flags"]
        ask = np.where(qf >= 0, qf, rf)
        ans = np.where(rf >= 0, rf, 0)
        rtt_ns = num["rtt_ns"]
        aoff, ioff, atext = parts["answers"]
        answer_values = strings(ioff, atext)
        poff, pcodes, vocab = parts["problems"]
        problem_values = pc.take(pa.array(vocab, type=pa.string()),
                                 pa.array(np.frombuffer(pcodes, dtype=np.int64)))
        uid = parts["uid"]
        uid_offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int64)
        arrays = {
            "ts": pa.array(num["ts_ns"] / 1e9, type=pa.float64()),
            "ts_ns": int_column(num["ts_ns"]),
            "uid": strings(uid_offsets, uid),
            "id_orig_h": strings(*parts["id_orig_h"]),
            "id_orig_p": int_column(num["id_orig_p"]),
            "id_resp_h": strings(*parts["id_resp_h"]),
            "id_resp_p": int_column(num["id_resp_p"]),
            "proto": pc.take(pa.array(["udp", "tcp"]), pa.array(num["proto"])),
            "trans_id": int_column(num["trans_id"]),
            "rtt": pa.array(rtt_ns / 1e9, type=pa.float64(), mask=rtt_ns < 0),
            "query": strings(*parts["query"], valid=has_q),
            "qclass": int_column(num["qclass"], has_q),
            "qclass_name": names(num["qclass"], has_q, class_name),
            "qtype": int_column(num["qtype"], has_q),
            "qtype_name": names(num["qtype"], has_q, type_name),
            "rcode": int_column(rcode, has_rcode),
            "rcode_name": names(rcode, has_rcode, rcode_name),
            "opcode": int_column((ask >> 11) & 0xF),
            "AA": pa.array((ans & 0x400) != 0), "TC": pa.array((ans & 0x200) != 0),
            "RD": pa.array((ask & 0x100) != 0), "RA": pa.array((ans & 0x80) != 0),
            "Z": int_column((ans >> 4) & 7), "AD": pa.array((ans & 0x20) != 0),
            "CD": pa.array((ask & 0x10) != 0),
            "answers": pa.LargeListArray.from_arrays(
                pa.array(np.frombuffer(aoff, dtype=np.int64)), answer_values,
                mask=pa.array(~has_r)).cast(pa.list_(pa.string())),
            "TTLs": pa.LargeListArray.from_arrays(
                pa.array(np.frombuffer(aoff, dtype=np.int64)),
                pa.array(np.frombuffer(parts["TTLs"], dtype=np.int64)),
                mask=pa.array(~has_r)).cast(pa.list_(pa.int64())),
            "rejected": pa.array(has_rcode & (rcode != 0) & (rcode != 3)),
            "status": pc.take(pa.array(list(_dns.STATUS_NAMES)), pa.array(num["status_code"])),
            "duplicate_queries": int_column(num["duplicate_queries"]),
            "duplicate_responses": int_column(num["duplicate_responses"]),
            "problems": pa.LargeListArray.from_arrays(
                pa.array(np.frombuffer(poff, dtype=np.int64)),
                problem_values).cast(pa.list_(pa.string())),
        }
        return pa.table({name: arrays[name] for name in _COLUMN_NAMES})

    def to_pandas(self) -> Any:
        """A pandas DataFrame (through Arrow, so nullable columns keep their types)."""
        from ._optional import require

        require("pandas")
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A polars DataFrame."""
        from ._optional import require

        pl = require("polars")
        return pl.from_arrow(self.to_arrow())


def _batches_of(source: Any) -> Iterator[Any] | None:
    """The core's raw batches for a path, an open binary file or a Capture, or None for
    other packet iterables (the builder reads their records as the core's rec_t)."""
    if isinstance(source, str | PathLike | io.IOBase):
        from .capture import open as open_capture

        def gen() -> Iterator[Any]:
            with open_capture(source, defrag=True) as cap:  # type: ignore[arg-type]
                yield from cap.raw_batches()
        return gen()
    raw = getattr(source, "raw_batches", None)
    return raw() if callable(raw) else None


def transactions(source: Any, *, ports: Iterable[int] = DNS_PORTS,
                 timeout: float = 10.0, linker: Any = None,
                 jobs: int | None = 1) -> TransactionTable:
    """Pair DNS queries with their responses: one row per transaction, Zeek dns.log-like.

    A response answers the oldest pending query with the same transport, client and
    server endpoints (or the multicast group the query went to, for mDNS/LLMNR), id and
    first question (a response without one, as mDNS sends, matches a query for one of its
    answer names), sent at most `timeout` seconds before. Rows have status "answered",
    "unanswered" (no response within the timeout) or "no_query" (a response whose query
    was not seen); a query sent again while pending and a response seen again count in
    duplicate_queries / duplicate_responses. rtt is seconds from the first query.
    rejected is True for a response code other than NOERROR and NXDOMAIN. UDP comes
    straight from the core's record batches when the source is a path or a Capture; DNS
    over TCP goes through wirecraft.reassembly and 2-byte length framing.

    `uid` is the row's connection in wirecraft.flows (for a file, worked out when a uid
    is first read); `linker`, a wirecraft.conn.UidLinker already fed the same source,
    links the rows with it instead.

    `source` may also be a list of paths: the files' tables one after the other, in the
    order given (each file on its own, as its own table would be: a query in one file is
    not answered by a response in the next), read by `jobs` processes (0: every usable
    core) with the same result as one; `stats` are the files' sums.
    """
    from ._pool import check_jobs, is_paths, map_files

    if is_paths(source):
        if linker is not None:
            raise ValueError("linker= links the rows of one source, not of many files")
        parts = map_files(partial(_file_transactions, ports=tuple(sorted(frozenset(ports))),
                                  timeout=timeout), source, jobs)
        stats = dict(_TCP_STATS_ZERO)
        for t in parts:
            for k, v in t.stats.items():
                stats[k] = stats.get(k, 0) + v
        return TransactionTable(_dns.concat_stores([t._store for t in parts]), stats)
    check_jobs(jobs)
    port_set = frozenset(ports)
    streams = _LazyTCP()

    def on_tcp(pkt: Any) -> None:
        for ts, src, sp, dst, dp, raw, problem in streams.feed(pkt):
            builder.feed(ts, "tcp", src, sp, dst, dp, raw, None, False, problem)

    builder = _dns.TransactionBuilder(port_set, timeout, on_tcp)
    from .conn import UidLinker

    # a file can be read again: its rows are linked to their connections when a uid is
    # first read (most uses of the table never read one); other sources are linked now
    # (`linker`: a wirecraft.conn.UidLinker already fed the same source, as
    # wirecraft.logs has one, so the rows are linked with it and nothing is read again)
    given = linker
    rereadable = isinstance(source, str | PathLike)
    if given is None and not rereadable:
        linker = UidLinker()
    _feed_all(builder, source, port_set, on_tcp, None if given is not None else linker)
    for ts, src, sp, dst, dp, raw, problem in streams.flush():
        builder.feed(ts, "tcp", src, sp, dst, dp, raw, None, False, problem)
    store = builder.columns()
    if linker is not None:
        _link(store, linker)
    elif len(store):
        store.uid_source = partial(_link_from_file, source, port_set)
    return TransactionTable(store, streams.stats)


def _file_transactions(path: str | PathLike[str], *, ports: tuple[int, ...],
                       timeout: float) -> TransactionTable:
    """One file's table for transactions(paths): linked while it is read (one pass, as
    the table travels to another process with its uids)."""
    from .capture import open as open_capture

    with open_capture(path, defrag=True) as cap:
        return transactions(cap, ports=ports, timeout=timeout)


def _link_from_file(path: str | PathLike[str], ports: frozenset, store: Any) -> None:
    """Link the rows of a table read from `path` (wirecraft.flows' uids): the file is
    read again, its packets on the DNS ports fed to the connection table (a row's
    connection has only such packets)."""
    import numpy as np

    from .capture import open as open_capture
    from .conn import UidLinker
    from .table import RECORD_DTYPE

    linker = UidLinker()
    wanted = np.array(sorted(ports), dtype=np.uint16)
    with open_capture(path, defrag=True) as cap:
        for b in cap.raw_batches():
            rec = np.frombuffer(b.record_bytes(), dtype=RECORD_DTYPE)
            mask = np.isin(rec["l4_src_port"], wanted) | np.isin(rec["l4_dst_port"], wanted)
            linker.feed(b, mask)
    _link(store, linker)


def _link(store: Any, linker: Any) -> None:
    """Give each row the uid of its connection in wirecraft.flows (as Zeek's dns.log
    rows carry their conn.log uid); a row whose connection the table never saw keeps
    the uid made from its endpoints."""
    n = len(store)
    if not n:
        return
    col = store.column
    uid = linker.uid
    store.uids = [uid(p, a, ap, b, bp, t) or own for p, a, ap, b, bp, t, own in zip(
        col("proto"), col("id_orig_h"), col("id_orig_p"), col("id_resp_h"), col("id_resp_p"),
        col("ts_ns"), col("uid"), strict=True)]


def _feed_all(builder: Any, source: Any, port_set: frozenset, on_tcp: Any,
              linker: Any) -> None:
    batches = _batches_of(source)
    if batches is not None:
        feed_batch = builder.feed_batch
        for batch in batches:
            feed_batch(batch)
            if linker is not None:
                linker.feed(batch)
        return
    from .capture import packets

    for pkt in packets(source):
        if linker is not None:
            linker.feed_packet(pkt)
        _feed_packet(builder, pkt, port_set, on_tcp)


def _feed_packet(builder: Any, pkt: Any, port_set: frozenset, on_tcp: Any) -> None:
    """One Packet into a TransactionBuilder: a UDP DNS payload is decoded and paired,
    a TCP segment on the ports goes to on_tcp (reassembly and framing)."""
    udp = pkt.udp
    if udp is not None:
        found = _udp_dns(pkt, udp, port_set)
        if found is not None:
            ip, sp, dp, payload, mdns = found
            builder.feed(pkt.time_ns, "udp", ip.src, sp, ip.dst, dp, payload, mdns,
                         bool(ip.flags & 1))
        return
    seg = pkt.tcp
    if seg is not None and (seg.src_port in port_set or seg.dst_port in port_set):
        on_tcp(pkt)


class TransactionTracker:
    """DNS transactions while packets arrive (live capture): the pairing of
    `transactions()`, handing out each row as soon as it is complete.

    `feed(packet)` returns the rows that packet completed: the transaction it answered,
    a response whose query was not seen ("no_query"), and pending queries that the
    packet's time puts more than `timeout` seconds past their sending ("unanswered").
    `flush()` returns every row still pending (end of capture). Rows are plain dicts
    with the keys of `COLUMNS`. DNS over TCP is reassembled (wirecraft.reassembly) and
    split by 2-byte length framing, so a message split across segments is not lost.
    A response repeated after its row was handed out is not reported again (it counts
    in nothing): duplicate_responses counts only those seen before. Memory is bounded
    by the transactions of one timeout window plus the reassembly caps.
    """

    def __init__(self, ports: Iterable[int] = DNS_PORTS, timeout: float = 10.0) -> None:
        self._ports = frozenset(ports)
        self._streams = _LazyTCP()
        self._builder = _dns.TransactionBuilder(self._ports, timeout, None, True)
        self._on_tcp = self._tcp
        from .conn import UidLinker
        # connection uids (the rows' `uid`), remembered for twice the pairing window
        self._linker = UidLinker(window=2 * timeout + 60)

    def _tcp(self, pkt: Any) -> None:
        feed = self._builder.feed
        for ts, src, sp, dst, dp, raw, problem in self._streams.feed(pkt):
            feed(ts, "tcp", src, sp, dst, dp, raw, None, False, problem)

    def feed(self, pkt: Any) -> list[dict[str, Any]]:
        """Feed one Packet; returns the rows it completed (often none)."""
        self._linker.feed_packet(pkt)
        _feed_packet(self._builder, pkt, self._ports, self._on_tcp)
        return self._rows(self._builder.take(pkt.time_ns, False))

    def flush(self) -> list[dict[str, Any]]:
        """End of input: TCP data still held is framed, then every remaining row."""
        feed = self._builder.feed
        for ts, src, sp, dst, dp, raw, problem in self._streams.flush():
            feed(ts, "tcp", src, sp, dst, dp, raw, None, False, problem)
        return self._rows(self._builder.take(0, True))

    @property
    def held(self) -> int:
        """Transactions held for pairing (pending, or recent enough to match a repeat)."""
        return len(self._builder)

    def _rows(self, store: Any) -> list[dict[str, Any]]:
        if store is None:
            return []
        _link(store, self._linker)
        return store.to_dicts()
