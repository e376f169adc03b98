"""The transaction table kept in C: rows are views, Arrow is built from the buffers, and
both give the same values; the row Mapping behaviour; pairing details the store handles."""

from __future__ import annotations

import gc
import math
import struct
from pathlib import Path

import pyarrow as pa
import pytest
from test_dns_transactions import DNS_CAPTURES, _msg, _udp_packet

import wirecraft
from wirecraft import _dns, dns

from conftest import CAPTURES


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("path", DNS_CAPTURES, ids=[p.name for p in DNS_CAPTURES])
def test_rows_dicts_arrow_and_columns_agree(path: Path) -> None:
    table = dns.transactions(path)
    rows = [r.to_dict() for r in table]
    assert rows == table.to_dicts()
    arrow = table.to_arrow()
    kinds = {"float64": pa.float64(), "int64": pa.int64(), "string": pa.string(),
             "bool": pa.bool_(), "list<string>": pa.list_(pa.string()),
             "list<int64>": pa.list_(pa.int64())}
    assert arrow.schema == pa.schema([(n, kinds[k]) for n, k in dns.COLUMNS])
    from_arrow = arrow.to_pylist()
    assert len(from_arrow) == len(rows)
    for got, want in zip(from_arrow, rows, strict=True):
        assert list(got) == list(want)
        for key in want:
            assert _same(got[key], want[key]), (key, got[key], want[key])
    for name, _ in dns.COLUMNS:
        assert table.column(name) == [r[name] for r in rows]
    # every row carries the uid of its connection in wirecraft.flows
    conns = {(c["uid"]): c for c in wirecraft.flows(path)}
    for r in rows:
        c = conns[r["uid"]]
        assert {(c["id.orig_h"], c["id.orig_p"]), (c["id.resp_h"], c["id.resp_p"])} == {
            (r["id_orig_h"], r["id_orig_p"]), (r["id_resp_h"], r["id_resp_p"])}
        assert c["proto"] == r["proto"] and c["ts"] <= r["ts"] + 1e-6
    frame = table.to_polars()
    assert frame.shape == (len(rows), len(dns.COLUMNS))


def test_row_is_a_read_only_mapping_view() -> None:
    table = dns.transactions(CAPTURES / "tcpdump__dns_tcp.pcap")
    row = table[0]
    assert table[-1] == row and table[0:1] == [row] and table[5:] == []
    with pytest.raises(IndexError):
        table[1]
    with pytest.raises(KeyError):
        row["nope"]
    assert row.get("nope", 7) == 7 and row.get("query") == "www.tcpdump.org"
    assert "query" in row and "nope" not in row and len(row) == len(dns.COLUMNS)
    assert list(row) == row.keys() == [name for name, _ in dns.COLUMNS]
    assert row.values() == [row[k] for k in row.keys()]
    assert row.items() == list(zip(row.keys(), row.values(), strict=True))
    assert row == row.to_dict() and repr(row).startswith("TransactionRow({'ts': ")
    # each read makes a new list: changing it does not change the table
    row["answers"].append("x")
    assert row["answers"] == ["192.139.46.66", "198.199.88.104"]
    assert isinstance(row["answers"], list) and row["TTLs"] == [60, 60]
    assert dns.TransactionRow(table._store, 0) == row
    with pytest.raises(IndexError):
        dns.TransactionRow(table._store, 1)


def test_rows_outlive_the_builder_and_the_table() -> None:
    rows = list(dns.transactions(CAPTURES / "zeek__wikipedia.pcap"))
    gc.collect()
    want = [r.to_dict() for r in rows]
    assert want == [r.to_dict() for r in dns.transactions(CAPTURES / "zeek__wikipedia.pcap")]


def test_empty_table_keeps_the_schema() -> None:
    table = dns.transactions([])
    assert len(table) == 0 and list(table) == [] and table.to_dicts() == []
    arrow = table.to_arrow()
    assert arrow.num_rows == 0 and arrow.column_names == table.columns
    assert table.to_pandas().shape == (0, len(dns.COLUMNS))


def test_question_matches_case_insensitively_and_by_type() -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    pkts = [
        _udp_packet(0, c, 1000, s, 53, _msg(1, 0x0100, b"\x03WwW\x01A\x00")),
        _udp_packet(1, s, 53, c, 1000, _msg(1, 0x8180, b"\x03www\x01a\x00")),
        _udp_packet(2, c, 1001, s, 53, _msg(2, 0x0100)),
        # same name, other type: not the answer to that query
        _udp_packet(3, s, 53, c, 1001, _msg(2, 0x8180)[:-4] + struct.pack("!HH", 28, 1)),
    ]
    rows = dns.transactions(pkts)
    assert [(r["trans_id"], r["status"], r["query"]) for r in rows] == [
        (1, "answered", "WwW.A"), (2, "unanswered", "a"), (2, "no_query", "a")]


def _response(ident: int, answers: list[tuple[int, bytes]], qtype: int = 16) -> bytes:
    """A response for "a" (type qtype) with answers (type, rdata) owned by "a" (pointer)."""
    out = struct.pack("!HHHHHH", ident, 0x8180, 1, len(answers), 0, 0)
    out += b"\x01a\x00" + struct.pack("!HH", qtype, 1)
    for rtype, rdata in answers:
        out += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
    return out


@pytest.mark.parametrize("rdata", [
    b"\x05hello", b"\x00", b"", b"\x03a\"b\x02\\\x00\x01\x7f", b"\x02ab\x01c",
    b"\x05abc",                       # a string running past the rdata: malformed
    bytes([255]) + bytes(range(255)),
])
def test_txt_answers_agree_with_the_record_formatter(rdata: bytes) -> None:
    for rtype in (16, 99):
        data = _response(9, [(rtype, rdata), (1, b"\x01\x02\x03\x04")])
        columnar, from_message = _dns._columnar_agrees(data)
        assert columnar == from_message
        msg = dns.decode(data)
        assert columnar[6] == [_dns.rdata_text(r) for r in msg.answers]


def test_problems_of_query_and_response_merge_in_order() -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    query = _msg(3, 0x0100) + b"\x00"                             # trailing byte
    answer = _response(3, [(1, b"\x01\x02\x03\x04")], qtype=1)[:-7]  # answer cut short
    pkts = [_udp_packet(0, c, 1000, s, 53, query), _udp_packet(1, s, 53, c, 1000, answer),
            _udp_packet(2, s, 53, c, 1000, answer)]                 # seen again
    want = ["trailing_bytes", "record_truncated"]
    assert dns.decode(query).problems + dns.decode(answer).problems == want
    (row,) = dns.transactions(pkts)
    assert (row["status"], row["problems"], row["answers"]) == ("answered", want, [])
    assert row["duplicate_responses"] == 1
    assert dns.transactions(pkts).to_arrow().column("problems").to_pylist() == [want]


def test_big_table_views_and_arrow_agree() -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    pkts = []
    for i in range(3000):
        port = 1024 + i % 500
        pkts.append(_udp_packet(i * 1000, c, port, s, 53, _msg(i, 0x0100)))
        if i % 3:
            answers = [(1, bytes([10, 0, i >> 8, i & 255])), (16, b"\x02hi")]
            pkts.append(_udp_packet(i * 1000 + 500, s, 53, c, port,
                                    _response(i, answers, qtype=1)))
    table = dns.transactions(pkts)
    assert len(table) == 3000
    assert sum(r["status"] == "answered" for r in table) == 2000
    arrow = table.to_arrow().to_pylist()
    assert arrow == table.to_dicts()
    assert table[2999]["answers"] == ["10.0.11.183", '"hi"']


def test_wirecraft_read_source_and_path_give_the_same_table() -> None:
    path = CAPTURES / "zeek__dns__mdns.pcap"
    assert dns.transactions(path).to_dicts() == dns.transactions(
        wirecraft.read(path)).to_dicts()
