"""Display filters: bad expressions give one-line, tshark-like errors naming the column of
the mistake (library and CLI), and the surfaces (Table.where, Packet.matches, open(where=),
read -Y) agree with each other."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import wirecraft
from wirecraft.display import DisplayFilterError
from wirecraft.display import compile as compile_filter

from conftest import CAPTURES, WIRECRAFT_PATH

ENV = dict(os.environ, PYTHONPATH=WIRECRAFT_PATH)
ENV.pop("WIRECRAFT_TRACEBACK", None)
SMTP = CAPTURES / "zeek__smtp.pcap"
DNS = CAPTURES / "gopacket__test_dns.pcap"


# (expression, column, words the reason must contain)
BAD = [
    ("tcp.prot == 1", 1, "'tcp.prot' is neither a field nor a protocol name"),
    ("ip.ttl < 4 and tcp.prot == 1", 16, "'tcp.prot' is neither a field nor a protocol"),
    ("tcp.port == ", 13, "unexpected end of the filter"),
    ("(tcp", 5, "unexpected end of the filter"),
    ("tcp.port == 1 )", 15, "unexpected ')'"),
    ("tcp.port # 1", 10, "unexpected character '#'"),
    ("tcp and and udp", 9, "unexpected 'and'"),
    ("ip.addr == 1.2.3", 12, "'1.2.3' is not an IPv4 address"),
    ("ipv6.addr == 10.0.0.1", 14, "'10.0.0.1' is not an IPv6 address"),
    ("ip.src < 10.0.0.0/8", 10, "a subnet (10.0.0.0/8) can only be tested"),
    ("eth.addr == 00:11:22", 13, "'00:11:22' is not an Ethernet address"),
    ("tcp.port == 70000", 13, "70000 is out of range for tcp.port (an unsigned 16-bit"),
    ("ip.ttl == -1", 11, "-1 is out of range for ip.ttl"),
    ("tcp.port == 0x1g", 13, "'0x1g' is not an integer"),
    ("tcp.port == \"25\"", 13, "is a string, the field is an integer"),
    ("tcp.port contains 1", 1, "'contains' needs a string or bytes field; tcp.port is an"),
    ("ip.ttl matches \"1\"", 1, "'matches' needs a string or bytes field"),
    ("dns.qry.name matches example", 22, "'matches' takes a quoted regular expression"),
    ("dns.qry.name matches \"(\"", 22, "bad regular expression"),
    ("eth.src[0:x] == 00", 8, "bad slice '[0:x]'"),
    ("eth.src[3-1] == 00", 8, "the range ends before it starts"),
    ("tcp.port == ip.src", 13, "tcp.port (an integer) cannot be compared with ip.src (an "
     "IPv4 address)"),
    ("dns.qry.name contains dns.resp.name", 23, "a field is compared with a value here"),
    ("tcp.port in {80 1..}", 17, "bad range '1..'"),
    ("dns.qry.name in {\"a\"..\"b\"}", 18, "a range needs an ordered field"),
    ("tcp.port in {1 .. }", 16, "bad range '..'"),
    ("frame.time > \"Oct 35, 2009\"", 14, "is not a date and time"),
    ("frame.time > \"Foo  5, 2009 06:06\"", 14, "is not a date and time"),
    ("\"abc\" == 1", 1, "a test starts with a field or a protocol"),
    ("tcp.options.decoded == 1", 24, "can only be tested for presence"),
    ("tcp.flags & 0xzz", 13, "'0xzz' is not an integer"),
    ("ip.ttl & 0x1ff", 10, "0x1ff is out of range for ip.ttl"),
    ("tcp.len & -1", 11, "-1 is out of range for tcp.len"),
    ("ip.src & 1", 1, "'&' needs an integer field; ip.src is an IPv4 address"),
    ("dns.qry.name == \"\\q\"", 17, "unknown escape"),
]


@pytest.mark.parametrize(("expr", "column", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_expression_names_the_column(expr: str, column: int, reason: str) -> None:
    with pytest.raises(DisplayFilterError) as info:
        compile_filter(expr)
    e = info.value
    assert e.column == column, (e.column, str(e))
    assert reason in e.reason, e.reason
    assert str(e) == f"display filter {expr!r}: at column {column}: {e.reason}"
    assert "\n" not in str(e)
    # one class for every filter error: a FilterError (as a bad BPF filter) and a ValueError
    assert isinstance(e, wirecraft.FilterError) and isinstance(e, ValueError)
    assert wirecraft.DisplayFilterError is DisplayFilterError


def test_cli_bad_display_filter_is_one_line_exit_2() -> None:
    r = subprocess.run([sys.executable, "-m", "wirecraft", "read", str(SMTP), "-Y",
                        "ip.ttl < 4 and tcp.prot == 1"], capture_output=True, text=True,
                       env=ENV, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "wirecraft: display filter 'ip.ttl < 4 and tcp.prot == 1': at column 16: "
        "'tcp.prot' is neither a field nor a protocol name"]


def test_cli_read_y_prints_the_matching_lines() -> None:
    def run(*args: str) -> list[str]:
        r = subprocess.run([sys.executable, "-m", "wirecraft", "read", str(SMTP), *args],
                           capture_output=True, text=True, env=ENV, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    every = run()
    expr = "tcp.flags.syn == 1 or smtp.req.command == \"MAIL\""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wanted = [p.index for p in wirecraft.open(SMTP, where=expr)]
    assert wanted, "the filter must select something"
    assert run("-Y", expr) == [every[i] for i in wanted]
    assert run("-Y", expr, "-c", "2") == [every[i] for i in wanted[:2]]
    assert run("-Y", expr, "--json")[0].startswith("{")


def test_cli_dns_y_pairs_only_the_selected_packets() -> None:
    def run(*args: str) -> list[str]:
        r = subprocess.run([sys.executable, "-m", "wirecraft", "dns", str(SMTP), *args],
                           capture_output=True, text=True, env=ENV, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    every = run()
    assert len(every) == 1 and not every[0].endswith("unanswered")
    # the query alone: the transaction is then unanswered
    only_query = run("-Y", "dns.flags.response == 0")
    assert len(only_query) == 1 and only_query[0].endswith("unanswered")
    assert run("-Y", "tcp") == []
    r = subprocess.run([sys.executable, "-m", "wirecraft", "dns", str(SMTP), "-Y", "dns.qry.nam"],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "at column 1" in r.stderr


def test_table_without_frames_names_the_field_that_needs_them() -> None:
    t = wirecraft.open(DNS).table()
    with pytest.raises(DisplayFilterError) as info:
        t.where("udp and dns.qry.name contains \"google\"")
    assert info.value.column == 9 and "dns.qry.name is decoded from the frames" in str(info.value)
    # the cheap part alone works on any Table, and keeps the frame numbers
    sub = t.where("udp.dstport == 53 and frame.number > 3")
    assert (sub["index"] + 1).tolist() == list(range(4, len(t) + 1))
    assert (sub["udp_dst_port"] == 53).all()


def test_tcp_stream_needs_the_capture_from_its_start() -> None:
    t = wirecraft.open(SMTP).table()
    with pytest.raises(DisplayFilterError) as info:
        t.where("ip and tcp.stream == 0")
    assert info.value.column == 8 and "filter while reading" in info.value.reason
    pkt = next(iter(wirecraft.read(SMTP)))
    with pytest.raises(DisplayFilterError):
        pkt.matches("tcp.stream == 0")
    # while reading, batch edges do not renumber the conversations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = [p.index for p in wirecraft.open(SMTP, where="tcp.stream == 1")]
        small = [p.index for p in wirecraft.open(SMTP, where="tcp.stream == 1", batch_size=2)]
    assert whole and whole == small


def test_surfaces_agree() -> None:
    expr = "dns.flags.response == 1 and udp.dstport != 53 or frame.number <= 2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        via_open = [p.index for p in wirecraft.open(DNS, where=expr)]
        via_read = [p.index for p in wirecraft.read(DNS, where=expr)]
        via_matches = [p.index for p in wirecraft.read(DNS) if p.matches(expr)]
        via_function = [p.index for p in wirecraft.read(DNS)
                        if wirecraft.display.matches(p, expr)]
        tables = list(wirecraft.open(DNS, where=expr, batch_size=3).batches())
        via_batches = [int(i) for t in tables for i in t["index"]]
        via_table = wirecraft.open(DNS, where=expr).table()["index"].tolist()
        batch = next(wirecraft.open(DNS).raw_batches(1000))
        one = wirecraft.Table.from_batches([batch]).where(expr)["index"].tolist()
    assert via_open and via_open == via_read == via_matches == via_function
    assert via_open == via_batches == via_table == one


def test_compiled_filters_are_cached_and_report_vectorisation() -> None:
    a = compile_filter("tcp.port == 25 and ip.ttl < 64")
    assert compile_filter("tcp.port == 25 and ip.ttl < 64") is a
    assert a.vectorised
    assert not compile_filter("tcp.port == 25 and smtp.req.command == \"MAIL\"").vectorised
    assert compile_filter("").mask(np.zeros(3, dtype=wirecraft.table.RECORD_DTYPE)).all()


def test_per_packet_fields_are_read_only_where_the_cheap_part_passes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from wirecraft.display._compile import Context

    seen: list[int] = []
    real = Context.packet

    def counting(self: Context, i: int, who: object) -> object:
        pkt = real(self, i, who)  # type: ignore[arg-type]
        seen.append(pkt.index)
        return pkt

    monkeypatch.setattr(Context, "packet", counting)
    expr = "frame.number == 3 and dns.qry.name"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [p.index for p in wirecraft.open(DNS, where=expr)]
    assert got == [2] and seen == [2]
    seen.clear()
    # or: only the rows the cheap side left false
    expr = "frame.number > 2 or dns.qry.name contains \"nope\""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [p.index for p in wirecraft.open(DNS, where=expr)]
    assert sorted(seen) == [0, 1] and got == list(range(2, 10))
