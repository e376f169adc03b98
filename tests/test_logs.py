"""wirecraft.logs and `wirecraft logs`: a folder of Zeek-style logs linked by uid.

Oracles: Zeek's smtp.log and weird.log baselines for the sample captures
(../shared/zeek-baselines); the folder read back by pyarrow, DuckDB, csv and json; the
TSV header read as zeek-cut reads it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from test_flows import BASELINES, _zeek_rows

from wirecraft.logs import LOGS, build, write

from conftest import CAPTURES, WIRECRAFT_PATH

SMTP = CAPTURES / "zeek__smtp.pcap"


@pytest.fixture(scope="module")
def smtp_logs() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(SMTP)


def _zeek_tsv(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    fields, types, rows = [], [], []
    for line in path.read_text().splitlines():
        if line.startswith("#fields\t"):
            fields = line.split("\t")[1:]
        elif line.startswith("#types\t"):
            types = line.split("\t")[1:]
        elif not line.startswith("#"):
            rows.append(line.split("\t"))
    return fields, types, rows


def test_every_row_links_to_a_connection(smtp_logs: dict) -> None:
    uids = set(smtp_logs["conn"].column("uid"))
    assert len(uids) == len(smtp_logs["conn"])
    assert smtp_logs["smtp"] and smtp_logs["dns"]
    for name in ("dns", "smtp"):
        assert set(smtp_logs[name].column("uid")) <= uids, name
    # the SMTP rows belong to the connections to port 25
    by_uid = {r["uid"]: r for r in smtp_logs["conn"]}
    assert all(by_uid[r["uid"]]["id.resp_p"] == 25 for r in smtp_logs["smtp"])
    assert all(by_uid[r["uid"]]["service"] == "smtp" for r in smtp_logs["smtp"])


def test_zeek_tsv_has_zeeks_header_and_one_line_per_row(smtp_logs: dict, tmp_path: Path) -> None:
    paths = write(smtp_logs, tmp_path, format="zeek")
    assert sorted(p.name for p in paths) == sorted(f"{n}.log" for n in LOGS)
    for p in paths:
        text = p.read_text()
        assert text.startswith("#separator \\x09\n#set_separator\t,\n")
        fields, types, rows = _zeek_tsv(p)
        log = smtp_logs[p.stem]
        assert fields == log.columns and len(types) == len(fields)
        assert len(rows) == len(log) and all(len(r) == len(fields) for r in rows)
    fields, _, rows = _zeek_tsv(tmp_path / "conn.log")
    assert {r[fields.index("conn_state")] for r in rows} <= {
        "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}


def test_parquet_types_and_duckdb(smtp_logs: dict, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    write(smtp_logs, tmp_path, format="parquet")
    conn = pq.read_table(tmp_path / "conn.parquet")
    assert conn.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert conn.schema.field("id.orig_h").type == pa.string()
    assert conn.schema.field("orig_bytes").type == pa.uint64()
    assert conn.num_rows == len(smtp_logs["conn"])
    # absent values are nulls, not '' or 0
    assert conn.column("local_orig").null_count == 0
    assert conn.column("vlan").null_count == conn.num_rows
    duckdb = pytest.importorskip("duckdb")
    joined = duckdb.sql(
        f"select s.mailfrom, c.conn_state, c.\"id.resp_p\" from "
        f"'{tmp_path / 'smtp.parquet'}' s join '{tmp_path / 'conn.parquet'}' c using (uid) "
        "order by s.ts").fetchall()
    assert [m for m, _, _ in joined] == smtp_logs["smtp"].column("mailfrom")
    assert {p for _, _, p in joined} == {25}


def test_json_and_csv_read_back(smtp_logs: dict, tmp_path: Path) -> None:
    write(smtp_logs, tmp_path, format="json")
    rows = [json.loads(line) for line in (tmp_path / "smtp.json").read_text().splitlines()]
    assert [r["mailfrom"] for r in rows] == smtp_logs["smtp"].column("mailfrom")
    assert all("reply_to" not in r for r in rows if r.get("reply_to") is None)
    write(smtp_logs, tmp_path, format="csv")
    with open(tmp_path / "conn.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert [r["uid"] for r in got] == smtp_logs["conn"].column("uid")


@pytest.mark.parametrize("capture", ["zeek__smtp.pcap", "zeek__tls__smtp-starttls.pcap"])
def test_smtp_log_equals_zeeks(capture: str) -> None:
    path = BASELINES / capture.rsplit(".", 1)[0] / "smtp.log"
    if not path.exists():
        pytest.skip(f"no Zeek baseline at {path}")
    from wirecraft.logs import _zeek_value

    expected = _zeek_rows(path)
    got = build(CAPTURES / capture, which=["smtp"])["smtp"]
    assert len(got) == len(expected)
    sets = {"rcptto", "to", "cc", "path"}          # Zeek writes sets in hash order
    # fuids: Zeek gives every MIME entity a file (text and HTML bodies too); wirecraft
    # only the attachments it hashes, so the column is not compared
    for z, w in zip(expected, got, strict=True):
        for c in z:
            if c in ("ts", "uid", "fuids"):
                continue
            text = _zeek_value(w[c], got.types[c])
            if c in sets:
                assert set(text.split(",")) == set(z[c].split(",")), (c, z[c], text)
            else:
                assert text == z[c], (c, z[c], text)


def test_weird_rows_for_what_zeek_logs() -> None:
    weird = build(CAPTURES / "zeek__trunc__ip4-trunc.pcap", which=["weird"])["weird"]
    expected = _zeek_rows(BASELINES / "zeek__trunc__ip4-trunc" / "weird.log") if (
        BASELINES / "zeek__trunc__ip4-trunc" / "weird.log").exists() else None
    assert [(r["name"], r["uid"], r["source"]) for r in weird] == [("truncated_IP", None, "IP")]
    if expected is not None:
        assert [(z["name"], z["source"]) for z in expected] == [("truncated_IP", "IP")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weird = build(CAPTURES / "zeek__dns__dns-edns-bad-length.pcap", checksums=False,
                      which=["weird"])["weird"]
    assert [(r["name"], r["id.resp_p"], r["source"]) for r in weird] == [
        ("EDNS_truncated_option", 53, "DNS")]
    assert weird[0]["uid"] is not None


def test_bad_checksums_are_weird_once_per_connection_unless_c() -> None:
    cap = CAPTURES / "zeek__tls__smtp-starttls.pcap"      # checksums offloaded on capture
    logs = build(cap, which=["weird", "conn"])
    names = [(r["uid"], r["name"]) for r in logs["weird"]]
    assert ("bad_TCP_checksum" in {n for _, n in names}) and len(names) == len(set(names))
    (conn,) = logs["conn"]
    assert "C" in conn["history"]
    assert build(cap, checksums=False, which=["weird"])["weird"].rows == []


def test_cli_writes_the_folder(tmp_path: Path) -> None:
    env = {"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "wirecraft", "logs", str(SMTP),
                        str(CAPTURES / "zeek__wikipedia.pcap"), "-o", str(tmp_path / "out"),
                        "--format", "json"], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{n}.json" for n in LOGS)
    assert "conn.json:" in r.stdout
    r = subprocess.run([sys.executable, "-m", "wirecraft", "logs", str(SMTP), "-o",
                        str(tmp_path / "x"), "--only", "conn,nope"], capture_output=True,
                       text=True, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "wirecraft", "logs", str(CAPTURES / "SOURCES.md"),
                        "-o", str(tmp_path / "y")], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_smtp_transactions_carry_zeek_names_and_connection_uids() -> None:
    import wirecraft

    rows = wirecraft.smtp.transactions(SMTP)
    conns = {c["uid"]: c for c in wirecraft.flows(SMTP)}
    assert rows
    for r in rows:
        c = conns[r["uid"]]
        assert (c["id.orig_h"], c["id.orig_p"], c["id.resp_h"], c["id.resp_p"]) == (
            r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
        # the earlier names stay as aliases
        assert (r["client"], r["server_port"], r["mail_from"], r["rcpt_to"]) == (
            r["id.orig_h"], r["id.resp_p"], r["mailfrom"], r["rcptto"])
        assert c["ts"] <= r["ts"] <= c["ts"] + c["duration"]


def test_weird_api_is_the_weird_log() -> None:
    import wirecraft

    rows = wirecraft.weird(CAPTURES / "zeek__trunc__ip4-trunc.pcap")
    assert [r["name"] for r in rows] == ["truncated_IP"]
    assert rows.columns == ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
                            "name", "addl", "notice", "peer", "source"]


DNS_BASELINES = ["zeek__dns__sshfp-trunc.pcap", "zeek__ipv6-fragmented-dns.pcap",
                 "zeek__dns-txt-multiple.pcap"]


@pytest.mark.parametrize("capture", DNS_BASELINES)
def test_dns_log_answers_are_in_zeeks_form(capture: str) -> None:
    """Every row of Zeek's dns.log with answers has the same answers and TTLs in ours, and
    the same class, type, rcode and opcode names where Zeek gives them (where it saw only
    the response, wirecraft may have paired it with its query)."""
    path = BASELINES / capture.rsplit(".", 1)[0] / "dns.log"
    if not path.exists():
        pytest.skip(f"no Zeek baseline at {path}")
    from wirecraft.logs import _zeek_value

    got = build(CAPTURES / capture, which=["dns"])["dns"]
    ours = {(r["trans_id"], r["query"]): r for r in got}
    compared = 0
    for z in _zeek_rows(path):
        if z["answers"] == "-":
            continue
        w = ours[(int(z["trans_id"]), z["query"])]
        for c in ("answers", "TTLs", "qclass", "qclass_name", "qtype_name", "rcode_name",
                  "opcode", "opcode_name"):
            if z.get(c, "-") != "-" or c in ("answers", "TTLs"):
                assert _zeek_value(w[c], got.types[c]) == z[c], (c, z[c], w[c])
        compared += 1
    assert compared


def test_zeek_answer_forms() -> None:
    from wirecraft.logs import zeek_answer

    assert zeek_answer(15, "10 mail.example.com.", "example.com") == "mail.example.com"
    assert zeek_answer(33, "0 5 5060 sip.example.com.", "x") == "sip.example.com"
    assert zeek_answer(6, "ns.example. host.example. 1 2 3 4 5", "example") == "ns.example"
    assert zeek_answer(16, r'"a\"b" "\009x"', "q") == 'TXT 3 a"b TXT 2 \\x09x'
    assert zeek_answer(46, "A 8 2 300 20250101000000 20240101000000 1 . AAAA", "q") == \
        "RRSIG 1 <Root>"
    assert zeek_answer(48, "257 3 13 AAAA", "q") == "DNSKEY 13"
    assert zeek_answer(43, "2371 13 2 ABCD", "q") == "DS 13 2"
    assert zeek_answer(47, "next.example. A RRSIG", "here.example") == \
        "NSEC here.example next.example"
    assert zeek_answer(257, '0 issue "ca.example"', "q") == ""     # Zeek logs no CAA entry
    assert zeek_answer(99, r"\# 2 0102", "q") == r"\# 2 0102"   # undecoded rdata kept
    assert zeek_answer(4242, r"\# 1 00", "q") == "<unknown type=4242>"
