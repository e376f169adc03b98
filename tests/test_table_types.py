"""The Table's typed exports (to_arrow, to_pandas, to_polars, to_parquet).

Oracles: tshark's fields (a column is null exactly where tshark has no such field, with
the differences listed below), the packet views (`Packet.app`, `Packet.time_ns`), and
DuckDB reading the Parquet file.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import wirecraft
from wirecraft.flags import App, StopReason, labels

from conftest import CAPTURES, capture_files, require_tool

pytest.importorskip("pyarrow")

SMTP = CAPTURES / "zeek__smtp.pcap"

# Table column -> the tshark fields that carry the same value
TSHARK_FIELDS = {
    "ip_ttl": ("ip.ttl", "ipv6.hlim"),
    "ip_src": ("ip.src", "ipv6.src"),
    "ip_dst": ("ip.dst", "ipv6.dst"),
    "l4_src_port": ("tcp.srcport", "udp.srcport"),
    "tcp_seq": ("tcp.seq_raw",),
    "tcp_window": ("tcp.window_size_value",),
    "udp_length": ("udp.length",),
    "icmp_type": ("icmp.type", "icmpv6.type"),
    "arp_opcode": ("arp.opcode",),
}
OUTER = ("ip_ttl", "ip_src", "ip_dst", "icmp_type")

# Where wirecraft deliberately differs from tshark's presence of a field:
# - an ICMP or ICMPv6 error quotes a datagram, and tshark's fields include the quoted
#   headers (udp.srcport of the quoted datagram); wirecraft's columns are the outer
#   packet's, so only OUTER columns are compared on those rows;
# - a transport header cut short by the capture: tshark gives none of its fields,
#   wirecraft the ones whose bytes were captured (stop_reason truncated_header).


def _tshark_presence(path: Path, fields: list[str]) -> list[tuple[str, dict[str, bool]]]:
    tool = require_tool("tshark")
    args = [tool, "-n", "-r", str(path), "-o", "ip.defragment:FALSE",
            "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "occurrence=f",
            "-e", "frame.protocols"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    rows = []
    for line in out.splitlines():
        protocols, *values = line.split("\t")
        rows.append((protocols, {f: bool(v) for f, v in zip(fields, values, strict=True)}))
    return rows


@pytest.mark.parametrize("path", capture_files(), ids=lambda p: p.name)
def test_absent_fields_are_null_where_tshark_has_none(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = wirecraft.open(path).table()
        except wirecraft.WirecraftError:
            pytest.skip("not a capture wirecraft reads whole")
    arrow = table.to_arrow()
    fields = [f for fs in TSHARK_FIELDS.values() for f in fs]
    theirs = _tshark_presence(path, fields)
    if len(theirs) != len(table):
        pytest.skip(f"tshark read {len(theirs)} frames, wirecraft {len(table)}")
    valid = {col: np.asarray(arrow.column(col).is_valid()) for col in TSHARK_FIELDS}
    cut = np.isin(table["stop_reason"], StopReason.truncated())
    wrong = []
    for i, (protocols, present) in enumerate(theirs):
        quoted = protocols.count(":ip") + protocols.count(":ipv6") > 1 and "icmp" in protocols
        for col, fs in TSHARK_FIELDS.items():
            if quoted and col not in OUTER:
                continue
            want = any(present[f] for f in fs)
            if bool(valid[col][i]) != want and not (cut[i] and not want):
                wrong.append((i + 1, col, "tshark has it" if want else "tshark has none"))
    assert not wrong, wrong[:20]


def test_time_is_utc_and_enumerations_are_labelled() -> None:
    table = wirecraft.open(SMTP).table()
    arrow = table.to_arrow()
    assert str(arrow.schema.field("time").type) == "timestamp[ns, tz=UTC]"
    assert arrow.column("time").cast("int64").to_pylist() == table["ts_ns"].tolist()
    packets = list(wirecraft.read(SMTP))
    apps = arrow.column("app").to_pylist()
    assert apps == [p.app or "none" for p in packets] and "smtp" in apps and "dns" in apps
    assert set(arrow.column("stop_reason").to_pylist()) <= set(labels("stop_reason").values())
    assert labels("app")[App.SMTP] == "smtp"


def test_pandas_and_polars_keep_the_types() -> None:
    pytest.importorskip("pandas")
    table = wirecraft.open(SMTP).table()
    frame = table.to_pandas()
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["app"].dtype) == "category"
    # ICMP rows have no UDP header: a missing value, not 0, in an integer column
    icmp = frame["icmp_type"].notna()
    assert icmp.any() and frame.loc[icmp, "udp_length"].isna().all()
    assert str(frame["udp_length"].dtype) == "UInt16"
    assert frame["ip_src"].iloc[0] == table.text("ip_src")[0]
    pl = pytest.importorskip("polars")
    lazy = table.to_polars()
    assert lazy.schema["time"] == pl.Datetime("ns", "UTC")
    assert lazy["udp_length"].null_count() == int(frame["udp_length"].isna().sum())


def test_parquet_has_text_addresses_by_default_and_duckdb_reads_it(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    table = wirecraft.open(SMTP).table()
    out = tmp_path / "packets.parquet"
    table.to_parquet(str(out))
    con = duckdb.connect()
    types = dict(con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()[i][:2]
                 for i in range(len(table.columns)))
    assert types["ip_src"] == "VARCHAR" and types["time"].startswith("TIMESTAMP")
    counts = dict(con.execute(f"SELECT app, count(*) FROM '{out}' GROUP BY app").fetchall())
    packets = list(wirecraft.read(SMTP))
    assert counts["smtp"] == sum(p.app == "smtp" for p in packets)
    nulls = con.execute(f"SELECT count(*) FROM '{out}' WHERE tcp_seq IS NULL").fetchone()[0]
    assert nulls == int((~table["has_tcp"]).sum())
    binary = tmp_path / "binary.parquet"
    table.to_parquet(str(binary), addresses="binary")
    import pyarrow.parquet as pq

    assert pq.read_schema(binary).field("ip_src").type.byte_width == 16
