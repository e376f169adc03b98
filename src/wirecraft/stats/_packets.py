"""Packet-level and application statistics: the expert summary (packet problems by name
and protocol), DNS (query types, response codes, names, response times) and SMTP
(commands, reply codes, senders, recipients), from Table columns and the DNS and SMTP
transaction tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ._read import Reading, Source, batches
from ._result import StatsTable

# the protocol an anomaly bit is about, by its name's first word
_PROTO_OF_WORD = {"IP": "ip", "IPv4": "ip", "IPv6": "ipv6", "UDP": "udp", "TCP": "tcp",
                  "802.3": "eth", "tunnelled": "ip", "ip_bad_checksum": "ip",
                  "tcp_bad_checksum": "tcp", "udp_bad_checksum": "udp",
                  "icmp_bad_checksum": "icmp", "icmpv6_bad_checksum": "icmpv6"}


def _anomaly_proto(name: str) -> str:
    word = name.split()[0]
    if word in _PROTO_OF_WORD:
        return _PROTO_OF_WORD[word]
    if "VLAN" in name:
        return "vlan"
    return "frame"


def expert(source: Source, where: str | None = None, filter: str | None = None,  # noqa: A002
           checksums: bool = False) -> StatsTable:
    """Packet problems counted by problem and protocol: every anomaly bit the decoder or
    reader set (informational ones included, with severity "note") and every stop of
    decoding (severity "error" for a cut or bad header).  Columns: severity, protocol,
    problem, packets; most packets first."""
    from .. import _ext

    core = _ext.load("_core")
    informational = int(core.INFORMATIONAL_ANOMALIES)
    counts: Counter[tuple[str, str, str]] = Counter()
    info = Reading()
    if checksums:
        from .. import capture as _capture
        source = _capture.Capture(source, filter=filter, checksums=True)
        filter = None  # noqa: A001
    for t in batches(source, where, filter, info):
        anomalies = np.asarray(t["anomalies"], dtype=np.int64)
        for bit, name in core.ANOMALIES.items():
            n = int(np.count_nonzero(anomalies & bit))
            if n:
                severity = "note" if bit & informational else "warning"
                counts[(severity, _anomaly_proto(name), name)] += n
        reasons = np.asarray(t["stop_reason"], dtype=np.int64)
        layers = np.asarray(t["stop_layer"], dtype=np.int64)
        stopped = reasons != 0
        if stopped.any():
            pairs, hits = np.unique(np.stack([reasons[stopped], layers[stopped]]), axis=1,
                                    return_counts=True)
            for (r, layer), k in zip(pairs.T.tolist(), hits.tolist(), strict=True):
                reason = core.STOP_REASONS.get(r) or str(r)
                where_ = core.STOP_LAYERS.get(layer) or "frame"
                severity = "note" if reason in ("non-first fragment", "unsupported") else "error"
                counts[(severity, where_, f"{reason} at {where_}")] += k
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return StatsTable("Expert Information", {
        "severity": [k[0] for k, _ in rows], "protocol": [k[1] for k, _ in rows],
        "problem": [k[2] for k, _ in rows], "packets": [v for _, v in rows]},
        {"packets_read": info.read, "packets_matched": info.passed})


def _counted(title: str, what: str, counter: Counter[Any], top: int | None = None,
             notes: dict[str, Any] | None = None) -> StatsTable:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
    dropped = 0
    if top is not None and len(items) > top:
        dropped = len(items) - top
        items = items[:top]
    n = dict(notes or {})
    if top is not None:
        n["not_shown"] = dropped
    return StatsTable(title, {"kind": [what] * len(items),
                              "value": [k for k, _ in items],
                              "count": [v for _, v in items]}, n)


# response-time histogram bin edges, in milliseconds
RTT_EDGES_MS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
                5000.0, float("inf"))


def dns(source: Source, where: str | None = None, filter: str | None = None,  # noqa: A002
        top: int = 10) -> dict[str, StatsTable]:
    """DNS statistics from `wirecraft.dns.transactions`: {"qtypes", "rcodes", "names",
    "rtt"}.  Query types count the transactions that had a query, response codes those
    that had a response; names are the `top` most asked (the rest counted in the
    table's notes); rtt is a histogram of response times in milliseconds (bins
    RTT_EDGES_MS) with the raw values in its notes ("rtt_ms")."""
    from .. import capture as _capture
    from .. import dns as _dns

    cap = source if isinstance(source, _capture.Capture) else _capture.Capture(
        source, filter=filter, where=where)
    try:
        rows = _dns.transactions(cap)
    finally:
        if cap is not source:
            cap.close()
    qtype = Counter(q for q in rows.column("qtype_name") if q is not None)
    rcode = Counter(r for r in rows.column("rcode_name") if r is not None)
    names = Counter(q for q in rows.column("query") if q is not None)
    rtts = [r * 1000.0 for r in rows.column("rtt") if r is not None]
    counts, _ = np.histogram(np.asarray(rtts, dtype=np.float64), bins=np.asarray(RTT_EDGES_MS))
    notes = {"transactions": len(rows), "rtt_ms": rtts}
    return {
        "qtypes": _counted("DNS query types", "qtype", qtype, notes={"transactions": len(rows)}),
        "rcodes": _counted("DNS response codes", "rcode", rcode,
                           notes={"transactions": len(rows)}),
        "names": _counted("DNS query names", "name", names, top),
        "rtt": StatsTable("DNS response time (ms)", {
            "from_ms": list(RTT_EDGES_MS[:-1]), "to_ms": list(RTT_EDGES_MS[1:]),
            "count": counts.tolist()}, notes),
    }


def smtp(source: Source, where: str | None = None, filter: str | None = None,  # noqa: A002
         top: int = 10) -> dict[str, StatsTable]:
    """SMTP statistics from `wirecraft.smtp.transactions`: {"transactions", "senders",
    "recipients", "replies"}: the mail transactions' outcome (last reply code), the `top`
    senders (MAIL FROM) and recipients (RCPT TO) and their counts."""
    from .. import capture as _capture
    from .. import smtp as _smtp

    cap = source if isinstance(source, _capture.Capture) else _capture.Capture(
        source, filter=filter, where=where)
    try:
        rows = _smtp.transactions(cap)
    finally:
        if cap is not source:
            cap.close()
    senders = Counter(r.get("mail_from") for r in rows if r.get("mail_from"))
    rcpts: Counter[str] = Counter()
    for r in rows:
        rcpts.update(r.get("rcpt_to") or [])
    replies = Counter(str(r.get("last_reply") or "-").split(" ")[0] for r in rows)
    notes = {"transactions": len(rows), **rows.stats}
    return {
        "replies": _counted("SMTP last reply codes", "reply", replies, notes=notes),
        "senders": _counted("SMTP senders", "mailfrom", senders, top),
        "recipients": _counted("SMTP recipients", "rcptto", rcpts, top),
    }
