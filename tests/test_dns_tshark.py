"""wirecraft.dns agrees with tshark on every DNS packet of the sample captures.

For each message: id, flags, the four counts, every question (name, type, class, mDNS
QU bit) and every record of every section (name, type, class, cache-flush bit, TTL,
rdata length and the typed rdata fields tshark shows). tshark's JSON merges records
with the same summary line (--no-duplicate-keys), so records are compared per section
as sorted lists. Known disagreements are listed in KNOWN with the reason.
"""

from __future__ import annotations

import calendar
import re
import time
from pathlib import Path

import pytest

import wirecraft
from wirecraft import dns

from conftest import CAPTURES as CAPTURES_DIR
from conftest import capture_files
from tsharkutil import tshark_json

DNS_FILTER = "dns or mdns or llmnr"

# (capture name, tshark frame number) -> why wirecraft and tshark differ there
KNOWN: dict[tuple[str, int], str] = {
    ("tcpdump__dns-badlabel.pcap", 1):
        "the question name is a run of 1- and 3-byte labels longer than 255 bytes: both "
        "see it as too long; tshark prints '<Name too long>' and reads a type and class "
        "after it, wirecraft flags name_too_long and stops (where such a name ends is not "
        "trusted), so it has no question; the header fields agree",
    ("zeek__dns__dns-edns-bad-length.pcap", 1):
        "the OPT record's rdlength is 1, too short for an option header: tshark reads an "
        "option header past the rdata, raises 'Malformed Packet' and stops, so it never "
        "shows the A record that follows; wirecraft flags edns_option_truncated, keeps the "
        "OPT record and decodes the A record (203.0.113.7) after it",
    ("zeek__ipv6-fragmented-dns.pcap", 6):
        "first of three IPv6 fragments: tshark reassembles the datagram and shows the DNS "
        "response in frame 8; wirecraft does not reassemble IP fragments and decodes the "
        "first fragment's UDP payload as a partial message flagged ip_fragment and "
        "rdata_past_end",
    ("zeek__ipv6-fragmented-dns.pcap", 8):
        "last fragment of the datagram above (no UDP header of its own): tshark shows the "
        "reassembled response here, wirecraft has no message for this frame",
}

SECTIONS = (("Answers", "answers"), ("Authoritative nameservers", "authorities"),
            ("Additional records", "additionals"))


def _dns_captures() -> list[Path]:
    """Captures whose tshark protocol census in SOURCES.md has dns, mdns or llmnr packets."""
    sources = (CAPTURES_DIR / "SOURCES.md").read_text()
    names = set()
    for line in sources.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 9 and re.search(r"\b(dns|mdns|llmnr):\d", cells[9]):
            names.add(cells[1].strip("`"))
    return [p for p in capture_files() if p.name in names]


def _tname(name: str) -> str:
    """wirecraft's presentation name -> tshark's rendering."""
    if name == ".":
        return "<Root>"
    out = []
    i = 0
    while i < len(name):
        c = name[i]
        if c == "\\" and i + 1 < len(name):
            if name[i + 1].isdigit():
                code = int(name[i + 1:i + 4])
                out.append(chr(code) if 0x20 <= code < 0x7F else f"\\{code:03o}")
                i += 4
                continue
            out.append(name[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _colon_hex(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _listify(v):
    return v if isinstance(v, list) else [v]


def _entries(section: dict) -> list[dict]:
    out = []
    for value in section.values():
        out.extend(_listify(value))
    return out


def _tshark_time(text: str) -> int:
    # "Dec 29, 2008 11:00:04.000000000 UTC"
    stamp = text.rsplit(".", 1)[0]
    return calendar.timegm(time.strptime(stamp, "%b %d, %Y %H:%M:%S"))


def _rdata_fields(rr: dns.Record) -> dict[str, object]:
    """The tshark fields (name -> text) that rr's typed rdata must match."""
    d = rr.data
    t = rr.type
    if rr.malformed:
        return {}
    if t == 1:
        return {"dns.a": d}
    if t == 28:
        return {"dns.aaaa": d}
    if t == 2:
        return {"dns.ns": _tname(d)}
    if t == 5:
        return {"dns.cname": _tname(d)}
    if t == 12:
        return {"dns.ptr.domain_name": _tname(d)}
    if t == 15:
        return {"dns.mx.preference": str(d.preference), "dns.mx.mail_exchange": _tname(d.exchange)}
    if t == 6:
        return {"dns.soa.mname": _tname(d.mname), "dns.soa.rname": _tname(d.rname),
                "dns.soa.serial_number": str(d.serial),
                "dns.soa.refresh_interval": str(d.refresh),
                "dns.soa.retry_interval": str(d.retry), "dns.soa.expire_limit": str(d.expire),
                "dns.soa.minimum_ttl": str(d.minimum)}
    if t == 16:
        return {"dns.txt": [s.decode("latin-1") for s in d] if len(d) != 1
                else d[0].decode("latin-1")}
    if t == 33:
        return {"dns.srv.priority": str(d.priority), "dns.srv.weight": str(d.weight),
                "dns.srv.port": str(d.port), "dns.srv.target": _tname(d.target)}
    if t == 44:
        return {"dns.sshfp.algorithm": str(d.algorithm),
                "dns.sshfp.fingerprint.type": str(d.fp_type),
                "dns.sshfp.fingerprint": _colon_hex(d.fingerprint)}
    if t == 46:
        return {"dns.rrsig.type_covered": str(d.type_covered),
                "dns.rrsig.algorithm": str(d.algorithm), "dns.rrsig.labels": str(d.labels),
                "dns.rrsig.original_ttl": str(d.original_ttl),
                "dns.rrsig.signature_expiration": d.expiration,
                "dns.rrsig.signature_inception": d.inception,
                "dns.rrsig.key_tag": str(d.key_tag),
                "dns.rrsig.signers_name": _tname(d.signer),
                "dns.rrsig.signature": _colon_hex(d.signature)}
    if t == 47:
        return {"dns.nsec.next_domain_name": _tname(d.next)}
    if t == 48:
        return {"dns.dnskey.protocol": str(d.protocol),
                "dns.dnskey.algorithm": str(d.algorithm),
                "dns.dnskey.public_key": _colon_hex(d.key)}
    return {}


def _edns_fields(rr: dns.Record) -> dict[str, object]:
    e = rr.data
    fields: dict[str, object] = {
        "dns.rr.udp_payload_size": str(e.payload_size),
        "dns.resp.ext_rcode": f"0x{e.ext_rcode:02x}",
        "dns.resp.edns0_version": str(e.version),
        "dns.resp.z": f"0x{(rr.ttl & 0xFFFF):04x}",
    }
    return fields


def _options_of(entry: dict) -> list[dict]:
    opts = entry.get("dns.opt")
    if opts is None:
        return []
    return [o for o in _listify(opts)]


def _compare_option(opt: dns.EdnsOption, raw: bytes, t: dict, where: str, out: list) -> None:
    if t.get("dns.opt.code") != str(opt.code):
        out.append(f"{where}: option code {opt.code} vs {t.get('dns.opt.code')}")
        return
    if t.get("dns.opt.len") != str(len(raw)):
        out.append(f"{where}: option length {len(raw)} vs {t.get('dns.opt.len')}")
    v = opt.value
    if isinstance(v, dns.ClientSubnet):
        for field, mine in (("dns.opt.client.family", str(v.family)),
                            ("dns.opt.client.netmask", str(v.source_prefix)),
                            ("dns.opt.client.scope", str(v.scope_prefix)),
                            ("dns.opt.client.addr4" if v.family == 1 else
                             "dns.opt.client.addr6", v.address)):
            if field in t and t[field] != mine:
                out.append(f"{where}: {field} {mine} vs {t[field]}")
    if isinstance(v, dns.Cookie):
        if t.get("dns.opt.cookie.client") != _colon_hex(v.client):
            out.append(f"{where}: cookie client")
        if v.server and t.get("dns.opt.cookie.server") != _colon_hex(v.server):
            out.append(f"{where}: cookie server")
    if opt.code == 11 and "dns.opt.edns_tcp_keepalive.timeout" in t:
        if t["dns.opt.edns_tcp_keepalive.timeout"] != str(v):
            out.append(f"{where}: keepalive {v} vs {t['dns.opt.edns_tcp_keepalive.timeout']}")
    if "dns.opt.data" in t and t["dns.opt.data"] != _colon_hex(raw):
        out.append(f"{where}: option data differs")


def _raw_options(rdata: bytes) -> list[bytes]:
    out = []
    p = 0
    while p + 4 <= len(rdata):
        ln = int.from_bytes(rdata[p + 2:p + 4], "big")
        out.append(rdata[p + 4:p + 4 + ln])
        p += 4 + ln
    return out


def _record_key(name, rtype, cls, flush, ttl, rdlen):
    return (name, rtype, cls, flush, ttl, rdlen)


def compare(msg: dns.Message, t: dict, mdns: bool) -> list[str]:
    """Differences between wirecraft's message and tshark's dns layer (empty if none)."""
    diffs: list[str] = []
    if int(t["dns.id"], 16) != msg.id:
        diffs.append(f"id {msg.id} vs {t['dns.id']}")
    if int(t["dns.flags"], 16) != msg.flags:
        diffs.append(f"flags {msg.flags:#06x} vs {t['dns.flags']}")
    counts = tuple(int(t[f"dns.count.{k}"]) for k in ("queries", "answers", "auth_rr", "add_rr"))
    if counts != msg.counts:
        diffs.append(f"counts {msg.counts} vs {counts}")
    tq = [(q["dns.qry.name"], int(q["dns.qry.type"]), int(q["dns.qry.class"], 16),
           q.get("dns.qry.qu") == "1") for q in _entries(t.get("Queries", {}))]
    mq = [(_tname(q.name), q.type, q.cls, q.unicast_response) for q in msg.questions]
    if sorted(tq) != sorted(mq):
        diffs.append(f"questions {mq} vs {tq}")
    for title, attr in SECTIONS:
        records = getattr(msg, attr)
        tentries = _entries(t.get(title, {}))
        if len(tentries) != len(records):
            diffs.append(f"{attr}: {len(records)} records vs {len(tentries)}")
            continue
        mine = sorted(records, key=lambda r: (_tname(r.name), r.type, r.rdata))
        # tshark's JSON has no raw rdata: pair each record with a tshark entry whose
        # fields all agree
        pool = list(tentries)
        for rr in mine:
            match_err = None
            for i, e in enumerate(pool):
                errs = _compare_record(rr, e)
                if not errs:
                    del pool[i]
                    break
                if match_err is None and (_resp_name(e), _rtype(e)) == (
                        _tname(rr.name), rr.type):
                    match_err = errs
            else:
                diffs.append(f"{attr}: {rr!r} has no tshark twin: {match_err}")
    return diffs


def _resp_name(e: dict) -> str | None:
    # tshark splits an SRV owner name into service, proto and name fields
    if "dns.resp.name" not in e and "dns.srv.service" in e:
        return ".".join(e[k] for k in ("dns.srv.service", "dns.srv.proto", "dns.srv.name"))
    return e.get("dns.resp.name")


def _rtype(e: dict) -> int:
    # NSEC/NSEC3 bit map types follow the record type as further dns.resp.type values
    return int(_listify(e["dns.resp.type"])[0])


def _compare_record(rr: dns.Record, e: dict) -> list[str]:
    errs = []
    if _resp_name(e) != _tname(rr.name):
        errs.append(f"name {_tname(rr.name)!r} vs {_resp_name(e)!r}")
    if _rtype(e) != rr.type:
        errs.append("type")
        return errs
    if rr.type in (47, 50) and not rr.malformed:
        bitmap = [int(x) for x in _listify(e["dns.resp.type"])[1:]]
        if bitmap != list(rr.data.types):
            errs.append(f"type bit map {rr.data.types} vs {bitmap}")
    if rr.type == 41:
        for field, mine in _edns_fields(rr).items():
            if e.get(field) != mine:
                errs.append(f"{field} {mine} vs {e.get(field)}")
        topts = _options_of(e)
        raws = _raw_options(rr.rdata)
        if len(topts) != len(rr.data.options):
            errs.append(f"options {len(rr.data.options)} vs {len(topts)}")
        else:
            for opt, raw, to in zip(rr.data.options, raws, topts, strict=False):
                _compare_option(opt, raw, to, "opt", errs)
        if e.get("dns.resp.len") != str(len(rr.rdata)):
            errs.append("rdlength")
        return errs
    if int(e["dns.resp.class"], 16) != rr.cls:
        errs.append(f"class {rr.cls} vs {e['dns.resp.class']}")
    if (e.get("dns.resp.cache_flush") == "1") != rr.cache_flush:
        errs.append("cache flush bit")
    if e.get("dns.resp.ttl") != str(rr.ttl):
        errs.append(f"ttl {rr.ttl} vs {e.get('dns.resp.ttl')}")
    if e.get("dns.resp.len") != str(len(rr.rdata)):
        errs.append(f"rdlength {len(rr.rdata)} vs {e.get('dns.resp.len')}")
    for field, mine in _rdata_fields(rr).items():
        theirs = e.get(field)
        if field.endswith(("expiration", "inception")) and theirs is not None:
            theirs = _tshark_time(theirs)
        if theirs != mine:
            errs.append(f"{field} {mine!r} vs {theirs!r}")
    return errs


def _layers_dns(layers: dict) -> list[dict]:
    out = []
    for key in ("dns", "mdns", "llmnr"):
        if key in layers:
            out.extend(_listify(layers[key]))
    return out


CAPTURES = _dns_captures()


def test_capture_census_found_the_dns_captures() -> None:
    assert len(CAPTURES) >= 15


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_agrees_with_tshark(path: Path) -> None:
    tpackets = tshark_json(path, DNS_FILTER, "--no-duplicate-keys")
    by_frame: dict[int, list[dict]] = {}
    for layers in tpackets:
        frame = int(layers["frame"]["frame.number"])
        by_frame[frame] = _layers_dns(layers)
    events: dict[int, list[dns.DNSEvent]] = {}
    for ev in dns.messages(wirecraft.read(path)):
        events.setdefault(ev.index + 1, []).append(ev)
    problems = []
    checked = 0
    for frame, tlayers in by_frame.items():
        mine = events.get(frame, [])
        if (path.name, frame) in KNOWN:
            # a known disagreement is always a damaged or partial message: it is flagged
            assert all(ev.message.problems for ev in mine), (path.name, frame)
            continue
        if len(mine) != len(tlayers):
            problems.append(f"frame {frame}: {len(mine)} messages vs tshark {len(tlayers)}")
            continue
        for ev, tl in zip(mine, tlayers, strict=True):
            diffs = compare(ev.message, tl, 5353 in (ev.src_port, ev.dst_port))
            checked += 1
            if diffs:
                problems.append(f"frame {frame}: " + "; ".join(diffs))
    extra = sorted(set(events) - set(by_frame) - {f for n, f in KNOWN if n == path.name})
    if extra:
        problems.append(f"frames decoded as DNS that tshark does not: {extra}")
    assert not problems, "\n".join(problems)
    assert checked + sum(1 for k in KNOWN if k[0] == path.name) >= len(by_frame)
