"""Zeek-style logs of a capture: conn, dns, smtp and weird, linked by connection uid.

    >>> import wirecraft.logs
    >>> logs = wirecraft.logs.build("captures/zeek__smtp.pcap")
    >>> logs["smtp"].to_pandas().merge(logs["conn"].to_pandas(), on="uid")
    >>> wirecraft.logs.write(logs, "out/", format="zeek")      # out/conn.log, out/dns.log, ...

Every row of dns, smtp and weird carries the `uid` of the conn row of its connection
(looked up by transport, both ends and time), so joining them needs no work. Column
names are Zeek's (`id.orig_h`, `mailfrom`, `rcptto`, ...); `write` puts each log in a
folder as Zeek's TSV (with its `#fields` / `#types` header lines, so zeek-cut reads it),
JSON lines, CSV or Parquet (timestamps as `timestamp[ns, UTC]`, addresses as strings,
absent values as nulls).

`weird` has a row per packet problem the decoder found (Zeek-style names such as
`truncated_IP`, `bad_TCP_checksum`, `UDP_datagram_length_mismatch`; checksums are
verified unless `checksums=False`, Zeek's `-C`; once per connection and name, as Zeek
logs them), per IP datagram the defragmenter
flagged (`fragment_overlap`, `fragment_inconsistency`, ...), per DNS message problem
(`DNS_` and the decoder's problem) and per SMTP problem (`SMTP_` and the session's).
The `source` column says which layer found it.
"""

from __future__ import annotations

import csv
import gc
import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .conn import COLUMNS as CONN_COLUMNS
from .conn import ConnTable, FlowTracker, _in_start_order

__all__ = ["FORMATS", "LOGS", "Log", "build", "weird", "write"]

LOGS = ("conn", "dns", "smtp", "weird")
FORMATS = ("zeek", "json", "csv", "parquet")

# Zeek's types of each column (its TSV header's #types line; also the Arrow types)
_CONN_TYPES = {
    "uid": "string", "ts": "time", "id.orig_h": "addr", "id.orig_p": "port",
    "id.resp_h": "addr", "id.resp_p": "port", "proto": "enum", "service": "string",
    "duration": "interval", "orig_bytes": "count", "resp_bytes": "count",
    "conn_state": "string", "local_orig": "bool", "local_resp": "bool",
    "missed_bytes": "count", "history": "string", "orig_pkts": "count",
    "orig_ip_bytes": "count", "resp_pkts": "count", "resp_ip_bytes": "count",
    "ip_proto": "count", "vlan": "int", "first_index": "count", "last_index": "count",
    "problems": "vector[string]", "ended": "string"}
_ID = {"ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port",
       "id.resp_h": "addr", "id.resp_p": "port"}
_DNS_TYPES = {**_ID, "proto": "enum", "trans_id": "count", "rtt": "interval",
              "query": "string", "qclass": "count", "qclass_name": "string",
              "qtype": "count", "qtype_name": "string", "rcode": "count",
              "rcode_name": "string", "AA": "bool", "TC": "bool", "RD": "bool", "RA": "bool",
              "Z": "count", "answers": "vector[string]", "TTLs": "vector[interval]",
              "rejected": "bool", "opcode": "count", "opcode_name": "string",
              "problems": "vector[string]"}
_SMTP_TYPES = {**_ID, "trans_depth": "count", "helo": "string", "mailfrom": "string",
               "rcptto": "set[string]", "date": "string", "from": "string",
               "to": "set[string]", "cc": "set[string]", "reply_to": "string",
               "msg_id": "string", "in_reply_to": "string", "subject": "string",
               "x_originating_ip": "addr", "first_received": "string",
               "second_received": "string", "last_reply": "string", "path": "vector[addr]",
               "user_agent": "string", "tls": "bool", "fuids": "vector[string]",
               "problems": "vector[string]"}
_WEIRD_TYPES = {**_ID, "name": "string", "addl": "string", "notice": "bool",
                "peer": "string", "source": "string"}
TYPES = {"conn": _CONN_TYPES, "dns": _DNS_TYPES, "smtp": _SMTP_TYPES, "weird": _WEIRD_TYPES}

# the decoder's anomaly bits as Zeek-style weird names (informational bits, and the
# snaplen cut that `truncated_IP` already reports, have none)
_WEIRD_NAMES = {
    "IP length beyond captured bytes": ("truncated_IP", "IP"),
    "IP total length shorter than its header": ("bogus_IP_header_lengths", "IP"),
    "IPv4 header length below 20": ("bogus_IP_header_lengths", "IP"),
    "UDP length disagrees with IP payload length": ("UDP_datagram_length_mismatch", "UDP"),
    "UDP length invalid": ("UDP_datagram_length_mismatch", "UDP"),
    "TCP data offset below 5": ("bad_TCP_header_len", "TCP"),
    "TCP header beyond segment": ("truncated_header", "TCP"),
    "IPv6 extension headers truncated": ("truncated_IPv6_extension_header", "IP"),
    "too many IPv6 extension headers": ("excessive_IPv6_extension_headers", "IP"),
    "more than 3 VLAN tags": ("excessive_VLAN_tags", "ETH"),
    "ip_bad_checksum": ("bad_IP_checksum", "IP"),
    "tcp_bad_checksum": ("bad_TCP_checksum", "TCP"),
    "udp_bad_checksum": ("bad_UDP_checksum", "UDP"),
    "icmp_bad_checksum": ("bad_ICMP_checksum", "ICMP"),
    "icmpv6_bad_checksum": ("bad_ICMP6_checksum", "ICMP"),
    "bad_timestamp": ("bad_timestamp", "PCAP"),
    "timestamp_out_of_range": ("timestamp_out_of_range", "PCAP"),
}
_DEFRAG_WEIRDS = {"overlap": "fragment_overlap", "overlap_conflict": "fragment_inconsistency",
                  "inconsistent": "fragment_inconsistency", "oversize": "excessively_large_fragment",
                  "too_long": "fragment_size_inconsistency",
                  "tiny_first_fragment": "tiny_first_fragment", "tiny_offset": "tiny_fragment_offset",
                  "ipv6_overlap": "fragment_overlap", "timeout": "fragment_timeout",
                  "fragment_cut": "truncated_fragment", "too_many_fragments": "excessive_fragments",
                  "evicted": "fragment_evicted"}


# the DNS decoder's problems that Zeek names otherwise (the rest are DNS_ and the name)
_DNS_WEIRDS = {"edns_option_truncated": "EDNS_truncated_option",
               "rdata_past_end": "DNS_truncated_RR_rdlength_lt_len",
               "header_truncated": "DNS_truncated_len_lt_hdr_len",
               "record_truncated": "DNS_truncated_ans_too_short"}


# Zeek's names of the query classes and opcodes (its DNS::classes and the opcode names
# of its dns.log); other values get Zeek's default form
_ZEEK_CLASSES = {1: "C_INTERNET", 2: "C_CSNET", 3: "C_CHAOS", 4: "C_HESOD", 254: "C_NONE",
                 255: "C_ANY"}
_ZEEK_OPCODES = {0: "query", 1: "inverse-query", 2: "status", 4: "notify",
                 5: "dynamic-update"}


def _zeek_class(qclass: int) -> str:
    return _ZEEK_CLASSES.get(qclass, f"query-class-{qclass}")


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(\d{3}|.)", re.S)


def _unquote(text: str) -> list[bytes]:
    """The character-strings of a presentation-form TXT (`"a" "b\\034c"`) as bytes."""
    def byte(m: re.Match[str]) -> str:
        e = m.group(1)
        return chr(int(e)) if len(e) == 3 else e
    return [_ESCAPE.sub(byte, s).encode("latin-1", "replace") for s in _QUOTED.findall(text)]


def _zeek_bytes(b: bytes) -> str:
    """Bytes as Zeek prints a string: printable ASCII as is, the rest as \\xNN."""
    return "".join(chr(c) if 0x20 <= c < 0x7F else f"\\x{c:02x}" for c in b)


def _name(text: str) -> str:
    """A presentation-form name as Zeek writes one: no final dot, the root as ''."""
    return text[:-1] if text.endswith(".") else text


# types Zeek's DNS analyzer decodes but its dns.log script gives no answer entry
_ZEEK_SILENT = frozenset((11, 13, 64, 65, 257))


def zeek_answer(rtype: int, text: str, query: str | None) -> str:
    """One answer as Zeek's dns.log writes it, from its type and wirecraft's presentation
    text (the rdata as dig prints it): addresses and names as they are (names without the
    final dot), MX/SRV/SOA their target name, TXT/SPF `TXT <length> <string>` per string,
    RRSIG `RRSIG <type covered> <signer>`, DNSKEY/DS their algorithm numbers, SSHFP its
    fingerprint, other types `<unknown type=N>`. '' where Zeek writes no entry.
    Rdata that did not decode (RFC 3597 `\\# ...`) keeps that form, so nothing is lost."""
    if text.startswith("\\# ") and rtype not in _ZEEK_SILENT:
        return text if rtype in _ZEEK_DECODED else f"<unknown type={rtype}>"
    words = text.split(" ")
    if rtype in (1, 28, 38):
        return text
    if rtype in (2, 5, 12):
        return _name(text)
    if rtype in (15, 33):    # MX: preference name; SRV: priority weight port target
        return _name(words[-1])
    if rtype == 6:
        return _name(words[0])
    if rtype in (16, 99):
        kind = "TXT" if rtype == 16 else "SPF"
        return " ".join(f"{kind} {len(s)} {_zeek_bytes(s)}" for s in _unquote(text))
    if rtype == 35 and len(words) >= 6:   # order pref "flags" "service" "regexp" replacement
        flags, service, regexp = (_zeek_bytes(s) for s in _unquote(text)[:3])
        tail = " ".join(x for x in (regexp, _name(words[-1])) if x)
        return f"NAPTR {words[0]} {words[1]} {flags} {service} {tail}"
    if rtype == 46 and len(words) >= 8:
        from .dns import TYPE_NAMES

        covered = {v: k for k, v in TYPE_NAMES.items()}.get(words[0])
        if covered is None and words[0].startswith("TYPE") and words[0][4:].isdigit():
            covered = int(words[0][4:])
        return f"RRSIG {covered if covered is not None else words[0]} {_name(words[7]) or '<Root>'}"
    if rtype == 48 and len(words) >= 3:
        return f"DNSKEY {words[2]}"
    if rtype == 43 and len(words) >= 3:
        return f"DS {words[1]} {words[2]}"
    if rtype == 47:
        return f"NSEC {query or ''} {_name(words[0])}"
    if rtype in (50, 51):
        return "NSEC3" if rtype == 50 else "NSEC3PARAM"
    if rtype == 65534:
        return "BIND9 signing signal"
    if rtype == 44 and len(words) >= 3:
        return f"SSHFP: {words[2].lower()}"
    if rtype == 29:
        return text   # Zeek prints LOC's raw size and precision bytes; the text says more
    if rtype in _ZEEK_SILENT:
        return ""
    return f"<unknown type={rtype}>"


# the types zeek_answer renders from decoded rdata
_ZEEK_DECODED = frozenset((1, 2, 5, 6, 12, 15, 16, 28, 29, 33, 35, 38, 43, 44, 46, 47, 48, 50,
                           51, 99, 65534))


class Log:
    """One log: its name, columns with Zeek's types, and rows (dicts)."""

    def __init__(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.name = name
        self.types = TYPES[name]
        self.columns = list(self.types)
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def __repr__(self) -> str:
        return f"<Log {self.name}: {len(self.rows)} rows>"

    def column(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.rows]

    def to_arrow(self) -> Any:
        """A pyarrow Table with typed columns (ts as timestamp[ns, UTC], counts as
        uint64, lists as lists, absent values as nulls)."""
        from ._optional import require

        pa = require("pyarrow")
        arrays = {}
        for name, zt in self.types.items():
            values = self.column(name)
            if zt == "time":
                arrays[name] = pa.array([None if v is None else int(round(v * 1e9))
                                         for v in values], type=pa.timestamp("ns", tz="UTC"))
            else:
                arrays[name] = pa.array(values, type=_arrow_type(pa, zt))
        return pa.table(arrays)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()


def _arrow_type(pa: Any, zeek_type: str) -> Any:
    if zeek_type.startswith(("vector[", "set[")):
        inner = zeek_type[zeek_type.index("[") + 1:-1]
        return pa.list_(_arrow_type(pa, inner))
    return {"string": pa.string(), "addr": pa.string(), "enum": pa.string(),
            "port": pa.uint16(), "count": pa.uint64(), "int": pa.int64(),
            "interval": pa.float64(), "bool": pa.bool_(), "time": pa.float64()}[zeek_type]


def _conn_and_packet_weirds(source: Any, local_nets: Any, checksums: bool,
                            defrag: bool) -> tuple[ConnTable, list[dict[str, Any]], FlowTracker]:
    """One pass: the connection table, and a weird row per packet problem."""
    import numpy as np

    from .capture import open as open_capture
    from .packet import ANOMALIES
    from .table import RECORD_DTYPE

    tracker = FlowTracker(local_nets=local_nets, link=True)
    ended: list[Any] = []
    weirds: list[tuple[Any, ...]] = []
    named = {bit: _WEIRD_NAMES[text] for bit, text in ANOMALIES.items() if text in _WEIRD_NAMES}
    mask = 0
    for bit in named:
        mask |= bit
    cap = open_capture(source, checksums=checksums, defrag=defrag)
    for b in cap.raw_batches():
        ended.extend(tracker.feed_conns(b))
        rec = np.frombuffer(b.record_bytes(), dtype=RECORD_DTYPE)
        stopped = np.isin(rec["stop_reason"], list(_STOP_REASONS))
        for i in np.flatnonzero((rec["anomalies"] & mask) | stopped).tolist():
            pkt = b[i]
            bits = int(rec["anomalies"][i])
            for bit, (name, layer) in named.items():
                if bits & bit:
                    weirds.append((pkt, name, layer, None))
            stop = _stop_weird(int(rec["stop_reason"][i]), int(rec["stop_layer"][i]),
                               int(rec["ip_protocol"][i]))
            if stop is not None:
                weirds.append((pkt, *stop, None))
        if b.defrag is not None:
            for j in range(len(b)):
                r = b[j].defrag
                if r is None:
                    continue
                for flag in (*r.flags, *((r.reason,) if r.reason else ())):
                    weird_name = _DEFRAG_WEIRDS.get(flag)
                    if weird_name is not None:
                        weirds.append((b[j], weird_name, "IP", f"frames {list(r.frames)}"))
    ended.extend(tracker.flush_conns())
    conns = ConnTable(tracker.columns(_in_start_order(ended)), tracker.stats)
    out = []
    seen: set[tuple[Any, ...]] = set()
    for pkt, name, layer, addl in weirds:
        row = _weird_row(pkt, name, layer, addl, tracker)
        # as Zeek logs a weird once per connection (and a packet's once per name)
        key = (row["uid"], name) if row["uid"] is not None else (pkt.index, name)
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    return conns, out, tracker


# where the decoder stopped early, as a weird: (stop reason, layer) -> name, source
_STOP_REASONS = {1: "truncated header", 3: "bad length", 4: "bad version",
                 7: "fragmented header"}


def _stop_weird(reason: int, layer: int, ip_proto: int) -> tuple[str, str] | None:
    transport = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMP"}.get(ip_proto, "IP")
    if reason == 1:
        return {1: ("truncated_link_header", "ETH"), 2: ("truncated_VLAN_header", "ETH"),
                3: ("truncated_ARP", "ARP"), 4: ("truncated_IP", "IP"),
                5: ("truncated_header", transport)}.get(layer)
    if reason == 3 and layer == 4:
        return "bogus_IP_header_lengths", "IP"
    if reason == 4 and layer == 4:
        return "unknown_IP_version", "IP"
    if reason == 7:
        return "fragmented_transport_header", transport
    return None


def _weird_row(pkt: Any, name: str, layer: str, addl: str | None,
               tracker: FlowTracker) -> dict[str, Any]:
    row: dict[str, Any] = {"ts": pkt.time_ns / 1e9, "uid": None, "id.orig_h": None,
                           "id.orig_p": None, "id.resp_h": None, "id.resp_p": None,
                           "name": name, "addl": addl, "notice": False, "peer": "wirecraft",
                           "source": layer}
    ip = pkt.ip if pkt.ip is not None else pkt.ipv6
    l4 = pkt.tcp if pkt.tcp is not None else pkt.udp
    if ip is not None and l4 is not None and name not in ("truncated_IP",):
        proto = "tcp" if pkt.tcp is not None else "udp"
        src, dst = str(ip.src), str(ip.dst)
        row.update({"id.orig_h": src, "id.orig_p": l4.src_port, "id.resp_h": dst,
                    "id.resp_p": l4.dst_port})
        row["uid"] = tracker.uid(proto, src, l4.src_port, dst, l4.dst_port, pkt.time_ns)
    return row


def _dns_rows(source: Any, linker: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from . import dns

    rows, weirds = [], []
    table = dns.transactions(source, linker=linker)
    types = table.answer_types()
    at = 0    # the first answer type of the row
    was = gc.isenabled()
    gc.disable()    # rows of dicts and lists without cycles: collections would only walk them
    try:
        for t in table.to_dicts():
            row = {
                "ts": t["ts"], "uid": t["uid"],
                "id.orig_h": t["id_orig_h"], "id.orig_p": t["id_orig_p"],
                "id.resp_h": t["id_resp_h"], "id.resp_p": t["id_resp_p"], "proto": t["proto"],
                "trans_id": t["trans_id"], "rtt": t["rtt"], "query": t["query"],
                "qclass": t["qclass"],
                "qclass_name": None if t["qclass"] is None else _zeek_class(t["qclass"]),
                "qtype": t["qtype"],
                "qtype_name": t["qtype_name"], "rcode": t["rcode"], "rcode_name": t["rcode_name"],
                "AA": t["AA"], "TC": t["TC"], "RD": t["RD"], "RA": t["RA"], "Z": t["Z"],
                "answers": None, "TTLs": None,
                "rejected": t["rejected"], "opcode": t["opcode"],
                "opcode_name": _ZEEK_OPCODES.get(t["opcode"], f"opcode-{t['opcode']}"),
                "problems": list(t["problems"]) if t["problems"] else None}
            if t["answers"]:
                answers, ttls = [], []
                for text, ttl, rtype in zip(t["answers"], t["TTLs"],
                                            types[at:at + len(t["answers"])], strict=True):
                    shown = zeek_answer(rtype, text, t["query"])
                    if shown:  # Zeek logs no entry for an empty reply (WKS, the root)
                        answers.append(shown)
                        ttls.append(float(ttl))
                at += len(t["answers"])
                row["answers"], row["TTLs"] = answers or None, ttls or None
            rows.append(row)
            for p in t["problems"] or ():
                weirds.append({**{k: row[k] for k in _ID}, "name": _DNS_WEIRDS.get(p, f"DNS_{p}"),
                               "addl": None, "notice": False, "peer": "wirecraft",
                               "source": "DNS"})
    finally:
        if was:
            gc.enable()
    return rows, weirds


def _smtp_rows(source: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from . import smtp

    rows, weirds = [], []
    for t in smtp.transactions(source):
        row = {
            "ts": t["ts"], "uid": t["uid"],
            "id.orig_h": t["client"], "id.orig_p": t["client_port"],
            "id.resp_h": t["server"], "id.resp_p": t["server_port"],
            "trans_depth": max(1, t["trans_depth"]), "helo": t["helo"], "mailfrom": t["mail_from"],
            "rcptto": list(t["rcpt_to"]) or None, "date": t["date"], "from": t["from"],
            "to": list(t["to"]) or None, "cc": list(t["cc"]) or None,
            "reply_to": t["reply_to"], "msg_id": t["msg_id"], "in_reply_to": t["in_reply_to"],
            "subject": t["subject"], "x_originating_ip": t["x_originating_ip"],
            "first_received": t["first_received"], "second_received": t["second_received"],
            "last_reply": t["last_reply"], "path": list(t["path"]) or None,
            "user_agent": t["user_agent"], "tls": t["tls"],
            "fuids": list(t["fuids"]),
            "problems": list(t["problems"]) or None}
        rows.append(row)
        for p in t["problems"] or ():
            weirds.append({**{k: row[k] for k in _ID}, "name": f"SMTP_{p}", "addl": None,
                           "notice": False, "peer": "wirecraft", "source": "SMTP"})
    return rows, weirds


def weird(source: str | os.PathLike[str], *, checksums: bool = True,
          defrag: bool = True) -> Log:
    """The weird log of a capture (`wirecraft.weird`): every packet problem and protocol
    violation, Zeek-named, with the uid of its connection."""
    return build(source, checksums=checksums, defrag=defrag, which=("weird",))["weird"]


def build(source: str | os.PathLike[str], *, local_nets: str | Iterable[str] | None = "private",
          checksums: bool = True, defrag: bool = True,
          which: Iterable[str] = LOGS) -> dict[str, Log]:
    """The logs of one capture file, by name (conn, dns, smtp, weird)."""
    which = tuple(which)
    unknown = set(which) - set(LOGS)
    if unknown:
        raise ValueError(f"unknown logs: {', '.join(sorted(unknown))} (known: {', '.join(LOGS)})")
    conns, weird, tracker = _conn_and_packet_weirds(source, local_nets, checksums, defrag)
    out: dict[str, Log] = {}
    if "conn" in which:
        out["conn"] = Log("conn", [dict(r) for r in conns])
    if "dns" in which or "weird" in which:
        dns_rows, dns_weird = _dns_rows(source, tracker.linker)
        weird += dns_weird
        if "dns" in which:
            out["dns"] = Log("dns", dns_rows)
    if "smtp" in which or "weird" in which:
        smtp_rows, smtp_weird = _smtp_rows(source)
        weird += smtp_weird
        if "smtp" in which:
            out["smtp"] = Log("smtp", smtp_rows)
    if "weird" in which:
        weird.sort(key=lambda r: r["ts"])
        out["weird"] = Log("weird", weird)
    return out


# ---------------------------------------------------------------- writing

def _escape(text: str, in_container: bool) -> str:
    """Zeek's ASCII escaping: control bytes, the backslash and (inside a set or vector)
    the set separator as \\xNN."""
    if all(" " <= c != "\\" and c != "\x7f" and not (in_container and c == ",")
           for c in text):
        return text
    return "".join(f"\\x{ord(c):02x}" if c < " " or c in "\\\x7f" or
                   (in_container and c == ",") else c for c in text)


def _zeek_value(v: Any, zt: str, in_container: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        if not v:
            return "(empty)"
        inner = zt[zt.index("[") + 1:-1]
        return ",".join(_zeek_value(x, inner, True) for x in v)
    if zt == "bool":
        return "T" if v else "F"
    if zt in ("time", "interval"):
        return f"{v:.6f}"
    text = str(v)
    return "(empty)" if text == "" else _escape(text, in_container)


def _write_zeek(log: Log, path: Path) -> None:
    import datetime

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H-%M-%S")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                f"#unset_field\t-\n#path\t{log.name}\n#open\t{stamp}\n")
        f.write("#fields\t" + "\t".join(log.columns) + "\n")
        f.write("#types\t" + "\t".join(log.types[c] for c in log.columns) + "\n")
        for r in log.rows:
            f.write("\t".join(_zeek_value(r.get(c), log.types[c]) for c in log.columns) + "\n")
        f.write(f"#close\t{stamp}\n")


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _write_json(log: Log, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in log.rows:
            f.write(json.dumps({c: _json_value(r.get(c)) for c in log.columns
                                if r.get(c) is not None}, ensure_ascii=False) + "\n")


def _write_csv(log: Log, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(log.columns)
        for r in log.rows:
            w.writerow(["" if r.get(c) is None else
                        ",".join(map(str, r[c])) if isinstance(r.get(c), list) else
                        ("T" if r[c] else "F") if isinstance(r.get(c), bool) else r[c]
                        for c in log.columns])


def write(logs: dict[str, Log], outdir: str | os.PathLike[str], *,
          format: str = "zeek") -> list[Path]:  # noqa: A002
    """Write each log into `outdir` (created): NAME.log (zeek), NAME.json (JSON lines),
    NAME.csv or NAME.parquet. Returns the paths written."""
    if format not in FORMATS:
        raise ValueError(f"unknown log format {format!r} (known: {', '.join(FORMATS)})")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, log in logs.items():
        ext = {"zeek": "log", "json": "json", "csv": "csv", "parquet": "parquet"}[format]
        path = out / f"{name}.{ext}"
        if format == "zeek":
            _write_zeek(log, path)
        elif format == "json":
            _write_json(log, path)
        elif format == "csv":
            _write_csv(log, path)
        else:
            from ._optional import require

            pq = require("pyarrow.parquet")
            pq.write_table(log.to_arrow(), path)
        paths.append(path)
    return paths


assert set(CONN_COLUMNS) == set(_CONN_TYPES), "conn log types out of step with its columns"
