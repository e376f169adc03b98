"""`wirecraft read` with tcpdump's options, compared with tcpdump itself on captures/.

tcpdump is the oracle: the same options run through both and the parts this module
owns are compared exactly: the time prefixes (-t..-ttttt, local time in several time
zones, --time-stamp-precision), the -# numbering, -c and the filter (trailing words,
-f, -F, stdin), and -w's output byte for byte. (The packet lines themselves are
LinePrinter's, measured in test_tcpdump_lines.py.)

Deliberate differences from tcpdump, left out of the comparisons:

| capture               | option  | tcpdump                          | wirecraft                  |
|-----------------------|---------|----------------------------------|----------------------------|
| tcpdump__time_2107    | -tt     | seconds cut to 32 bits (28315904)| the real count (4323283200)|
| tcpdump__time_2107    | -w      | writes the seconds cut to 32 bits| one-line error: write pcapng|
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wirecraft.timefmt import TimeFormat

from conftest import WIRECRAFT_PATH, capture_files, require_tool

CAPTURES = capture_files()
ENV = {**os.environ, "PYTHONPATH": WIRECRAFT_PATH}
ZONES = ("UTC", "America/New_York", "Asia/Kolkata")
NOT_2107 = [p for p in CAPTURES if "time_2107" not in p.name]

# the time text of each -t count, micro and nano
_DIGITS = {False: r"\d{6}", True: r"\d{9}"}
_TIME = {0: r"\d\d:\d\d:\d\d\.{f}", 2: r"\d+\.{f}", 3: r"[ -]\d\d:\d\d:\d\d\.{f}",
         4: r"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.{f}", 5: r"[ -]\d\d:\d\d:\d\d\.{f}"}


def _numbered(text: str) -> list[str]:
    """Each packet's first line (what follows tcpdump's `-#` column), found by the numbers
    counting up from 1, so that -v's continuation lines and dumps are never taken."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{len(out) + 1:5d}  "):
            out.append(line[7:])
    return out


def _times(text: str, mode: int, nano: bool = False) -> list[str]:
    pattern = re.compile(_TIME[mode].format(f=_DIGITS[nano]))
    found = []
    for line in _numbered(text):
        m = pattern.match(line)
        assert m, line
        found.append(m.group(0))
    return found


def _tcpdump(args: list[str], tz: str = "UTC", stdin: bytes | None = None) -> str:
    tool = require_tool("tcpdump")
    done = subprocess.run([tool, *args], capture_output=True, env={**ENV, "TZ": tz},
                          input=stdin, check=False)
    return done.stdout.decode("utf-8", "replace")


def _wirecraft(args: list[str], tz: str = "UTC", stdin: bytes | None = None,
               code: int = 0) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                          env={**ENV, "TZ": tz}, input=stdin, check=False, timeout=120)
    assert done.returncode == code, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    return done


def _ours(args: list[str], tz: str = "UTC", stdin: bytes | None = None) -> str:
    """wirecraft's stdout, run in this process (click's runner) with TZ set: the same
    command line as `wirecraft ARGS`, without an interpreter start per call."""
    from click.testing import CliRunner

    from wirecraft.cli import main

    before = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        res = CliRunner().invoke(main, args, input=stdin)
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
    assert res.exit_code == 0, (args, res.output, res.exception)
    return res.stdout_bytes.decode("utf-8", "replace")


# ---------------------------------------------------------------- timefmt


def test_timefmt_forms_and_deltas() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        t0 = 1_000_000_000_500_000_001
        assert TimeFormat(0).prefix(t0) == "01:46:40.500000 "
        assert TimeFormat(1).prefix(t0) == ""
        assert TimeFormat(2).prefix(t0) == "1000000000.500000 "
        assert TimeFormat(2, nano=True).format(t0) == "1000000000.500000001"
        assert TimeFormat(4).format(t0) == "2001-09-09 01:46:40.500000"
        delta = TimeFormat(3, nano=True)
        assert delta.format(t0) == " 00:00:00.000000000"
        assert delta.format(t0 - 100_000_999) == "-00:00:00.100000999"
        # days are dropped from a delta, as tcpdump does; the first packet is the base of -ttttt
        since = TimeFormat(5)
        since.format(t0)
        assert since.format(t0 + (2 * 86400 + 3723) * 10**9 + 5000) == " 01:02:03.000005"
        with pytest.raises(ValueError, match="only -t"):
            TimeFormat(6)
    finally:
        del os.environ["TZ"]
        time.tzset()


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("ticks", [0, 2, 3, 4, 5])
def test_time_prefixes_equal_tcpdumps(ticks: int, tz: str) -> None:
    """Every capture, every -t form, three time zones: the prefixes line by line."""
    flag = ["-" + "t" * ticks] if ticks else []
    for path in CAPTURES:
        if ticks == 2 and "time_2107" in path.name:
            continue  # see the table in the module docstring
        theirs = _times(_tcpdump(["-n", "-#", *flag, "-r", str(path)], tz), ticks)
        mine = _times(_ours(["read", "-#", *flag, str(path)], tz), ticks)
        assert mine == theirs, path.name
        assert theirs, path.name


@pytest.mark.parametrize("ticks", [0, 2, 3, 5])
def test_nanosecond_precision_equals_tcpdumps(ticks: int) -> None:
    flag = ["-" + "t" * ticks] if ticks else []
    for path in NOT_2107[:12] + [p for p in CAPTURES if "nano" in p.name]:
        args = ["--time-stamp-precision=nano", "-#", *flag]
        theirs = _times(_tcpdump(["-n", *args, "-r", str(path)]), ticks, nano=True)
        mine = _times(_ours(["read", *args, str(path)]), ticks, nano=True)
        assert mine == theirs, path.name


def test_default_time_is_local() -> None:
    path = str(next(p for p in CAPTURES if p.name == "zeek__smtp.pcap"))
    utc = _ours(["read", "-c", "1", path], "UTC")
    ny = _ours(["read", "-c", "1", path], "America/New_York")
    assert utc.startswith("06:06:07.492060 ") and ny.startswith("02:06:07.492060 ")
    assert utc.split(" ", 1)[1] == ny.split(" ", 1)[1]


# ---------------------------------------------------------------- selection: -c, filters, input


SMTP = str(next(p for p in CAPTURES if p.name == "zeek__smtp.pcap"))


def _theirs_selected(args: list[str], stdin: bytes | None = None) -> list[str]:
    """tcpdump's -tt time column of the packets the options select (args hold its -r)."""
    assert "-r" in args  # never a live capture
    return _times(_tcpdump(["-n", "-#", "-tt", *args], stdin=stdin), 2)


def _ours_selected(args: list[str], stdin: bytes | None = None) -> list[str]:
    return _times(_ours(["read", "-#", "-tt", *args], stdin=stdin), 2)


def _selection(args: list[str]) -> tuple[list[str], list[str]]:
    """(tcpdump's, wirecraft's) time columns for the same options."""
    return _theirs_selected(args), _ours_selected(args)


@pytest.mark.parametrize("args", [
    ["-r", SMTP, "tcp", "port", "25"],
    ["-r", SMTP, "-c", "7", "tcp", "and", "dst", "port", "25"],
    ["-c", "3", "-r", SMTP],
    ["-r", SMTP, "udp or icmp"],
])
def test_count_and_trailing_filter_select_what_tcpdump_selects(args: list[str]) -> None:
    theirs, mine = _selection(args)
    assert mine == theirs and theirs


def test_positional_file_and_f_option() -> None:
    theirs = _theirs_selected(["-r", SMTP, "tcp port 25"])
    positional = _ours_selected([SMTP, "tcp", "port", "25"])
    dash_f = _ours_selected([SMTP, "-f", "tcp port 25"])
    assert positional == dash_f == theirs


def test_filter_from_file_with_comments(tmp_path: Path) -> None:
    rules = tmp_path / "filter.txt"
    rules.write_text("# only the mail\ntcp port 25   # SMTP\n and greater 100\n")
    theirs = _theirs_selected(["-r", SMTP, "tcp port 25 and greater 100"])
    mine = _ours_selected(["-F", str(rules), SMTP])
    assert mine == theirs and theirs
    done = _wirecraft(["read", "-F", str(rules), SMTP, "udp"], code=2)
    assert done.stderr.decode().count("\n") == 1 and b"-F" in done.stderr


@pytest.mark.parametrize("compress", [False, True])
def test_stdin_plain_and_gzip(compress: bool) -> None:
    data = Path(SMTP).read_bytes()
    theirs = _theirs_selected(["-r", SMTP, "tcp port 25"])
    feed = gzip.compress(data) if compress else data
    mine = _ours_selected(["-r", "-", "tcp", "port", "25"], stdin=feed)
    assert mine == theirs


def test_clustered_counted_flags() -> None:
    """-nnvS, -tttt and -# in the forms a tcpdump user types them."""
    mine = _ours(["read", "-nnvS", "-#", "-tttt", "-c", "2", SMTP])
    theirs = _tcpdump(["-nnvS", "-#", "-tttt", "-c", "2", "-r", SMTP])
    assert _times(mine, 4) == _times(theirs, 4)
    assert "ttl 128" in mine and "seq 2126795696" not in mine.split("\n")[0]


@pytest.mark.parametrize("args,needle", [
    (["--no-such-option"], b"No such option"),
    (["-tttttt"], b"only -t, -tt"),
    (["-Q", "in"], b"No such option"),   # -Q is sniff's
    (["--pcapng"], b"--pcapng"),
    (["-w", "x.pcap", "--json"], b"-w"),
    (["-c", "0"], b"-c"),
])
def test_bad_options_are_one_line_exit_2(args: list[str], needle: bytes) -> None:
    done = _wirecraft(["read", *args, SMTP], code=2)
    assert done.stderr.count(b"\n") == 1 and needle in done.stderr, done.stderr


def test_no_file_is_a_usage_error() -> None:
    done = _wirecraft(["read", "-n"], code=2)
    assert done.stderr.count(b"\n") == 1 and b"no capture file" in done.stderr


def test_k_drops_checksum_marks_as_tcpdump_does() -> None:
    dns = str(next(p for p in CAPTURES if p.name == "zeek__smtp.pcap"))
    for opts in (["-vv"], ["-vv", "-K"]):
        theirs = _tcpdump(["-n", "-t", *opts, "-c", "2", "-r", dns])
        mine = _ours(["read", "-t", *opts, "-c", "2", dns])
        assert ("sum ok" in mine) == ("sum ok" in theirs) == (opts == ["-vv"])


# ---------------------------------------------------------------- -w


@pytest.mark.parametrize("expression", [[], ["tcp"], ["udp", "port", "53"], ["icmp or arp"]])
def test_write_is_byte_identical_to_tcpdumps(expression: list[str], tmp_path: Path) -> None:
    tool = require_tool("tcpdump")
    for path in NOT_2107:
        want, got = tmp_path / "t.pcap", tmp_path / "w.pcap"
        # (tcpdump exits 1 after a cut last record; what it wrote is still the reference)
        subprocess.run([tool, "-r", str(path), "-w", str(want), *expression],
                       capture_output=True, check=False)
        _wirecraft(["read", str(path), "-w", str(got), *expression])
        assert got.read_bytes() == want.read_bytes(), (path.name, expression)


def test_write_nanosecond_and_count_and_stdout(tmp_path: Path) -> None:
    tool = require_tool("tcpdump")
    nano = str(next(p for p in CAPTURES if "nano" in p.name))
    want, got = tmp_path / "t.pcap", tmp_path / "w.pcap"
    subprocess.run([tool, "--time-stamp-precision=nano", "-r", nano, "-w", str(want)],
                   capture_output=True, check=True)
    _wirecraft(["read", "--time-stamp-precision=nano", nano, "-w", str(got)])
    assert got.read_bytes() == want.read_bytes()
    subprocess.run([tool, "-c", "9", "-r", SMTP, "-w", str(want), "tcp"], capture_output=True,
                   check=True)
    out = _wirecraft(["read", "-c", "9", "-U", "-w", "-", SMTP, "tcp"]).stdout
    assert out == want.read_bytes()


def test_write_pcapng_keeps_times_and_lengths(tmp_path: Path) -> None:
    import wirecraft

    got = tmp_path / "w.pcapng"
    _wirecraft(["read", SMTP, "--pcapng", "-w", str(got), "tcp port 25"])
    before = [(p.time_ns, p.wire_len, bytes(p.data))
              for p in wirecraft.read(SMTP, filter="tcp port 25")]
    after = [(p.time_ns, p.wire_len, bytes(p.data)) for p in wirecraft.read(str(got))]
    assert after == before and before
    theirs = _times(_tcpdump(["-n", "-#", "-tt", "-r", str(got)]), 2)
    assert theirs == _times(_tcpdump(["-n", "-#", "-tt", "-r", SMTP, "tcp port 25"]), 2)


def test_write_with_a_display_filter(tmp_path: Path) -> None:
    tool = require_tool("tcpdump")
    want, got = tmp_path / "t.pcap", tmp_path / "w.pcap"
    subprocess.run([tool, "-r", SMTP, "-w", str(want), "tcp dst port 25"], capture_output=True,
                   check=True)
    _wirecraft(["read", SMTP, "-Y", "tcp.dstport == 25", "-w", str(got)])
    assert got.read_bytes() == want.read_bytes()


def test_write_after_2106_says_pcapng(tmp_path: Path) -> None:
    late = str(next(p for p in CAPTURES if "time_2107" in p.name))
    done = _wirecraft(["read", late, "-w", str(tmp_path / "w.pcap")], code=2)
    assert done.stderr.count(b"\n") == 1 and b"pcapng" in done.stderr
    _wirecraft(["read", late, "--pcapng", "-w", str(tmp_path / "w.pcapng")])


# ---------------------------------------------------------------- -x, -X, -A

# 802.3 frames with an LLC header (the STP frames of zeek__wikipedia): tcpdump counts the LLC
# header as part of the link layer and dumps from after it; the decoder's network offset is
# the LLC header, so wirecraft's single -x/-X/-A dumps from there. Left out below.


def _blocks(text: str) -> list[str]:
    """The output of each packet (its lines and dump), split at the -# column."""
    out: list[list[str]] = []
    for line in text.split("\n"):
        if line.startswith(f"{len(out) + 1:5d}  "):
            out.append([line])
        elif out:
            out[-1].append(line)
    return ["\n".join(b) for b in out]


def _dumps(plain: str, dumped: str) -> list[str]:
    """What -x/-X/-A added to each packet's output."""
    before, after = _blocks(plain), _blocks(dumped)
    assert len(before) == len(after)
    found = []
    for b, a in zip(before, after, strict=True):
        assert a.startswith(b.rstrip("\n")), (b, a)
        found.append(a[len(b.rstrip("\n")):])
    return found


def _llc_frames(path: Path) -> set[int]:
    import warnings

    import wirecraft

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = list(wirecraft.read(str(path)))
    return {i for i, p in enumerate(frames)
            if p.linktype == 1 and len(p.data) >= 14
            and int.from_bytes(bytes(p.data[12:14]), "big") <= 1500}


@pytest.mark.parametrize("flag", ["-x", "-xx", "-X", "-XX", "-A", "-AA", "-xA", "-Xx"])
def test_dumps_equal_tcpdumps(flag: str) -> None:
    for path in CAPTURES:
        theirs = _dumps(_tcpdump(["-n", "-t", "-#", "-r", str(path)]),
                        _tcpdump(["-n", "-t", "-#", flag, "-r", str(path)]))
        mine = _dumps(_ours(["read", "-t", "-#", str(path)]),
                      _ours(["read", "-t", "-#", flag, str(path)]))
        skip = set() if flag in ("-xx", "-XX", "-AA") else _llc_frames(path)
        assert len(mine) == len(theirs) and any(theirs), path.name
        for i, (m, t) in enumerate(zip(mine, theirs, strict=True)):
            if i not in skip:
                assert m == t, (path.name, i + 1)


def test_hex_ascii_dump_is_packet_hexdump() -> None:
    import wirecraft
    from wirecraft.dumps import Dumper

    for whole in (False, True):
        dumper = Dumper.from_counts(X=2 if whole else 1)
        assert dumper is not None
        for pkt in wirecraft.read(SMTP, filter="tcp port 25"):
            assert dumper.dump(pkt) == "\n" + pkt.hexdump(link=whole, dump=True)


# ---------------------------------------------------------------- dns and smtp share them


def test_dns_takes_r_c_filter_and_times() -> None:
    positional = _ours(["dns", SMTP, "udp", "port", "53"])
    assert positional == _ours(["dns", "-r", SMTP, "-f", "udp port 53"]) != ""
    first = _theirs_selected(["-c", "1", "-r", SMTP, "udp port 53"])[0]
    assert _ours(["dns", "-tt", SMTP]).split(" ", 1)[0] == first
    assert _ours(["dns", SMTP]).split(" ", 1)[0] == _times(
        _tcpdump(["-n", "-#", "-c", "1", "-r", SMTP, "udp port 53"]), 0)[0]
    only_query = _ours(["dns", "-c", "1", SMTP]).splitlines()
    assert len(only_query) == 1 and only_query[0].endswith("unanswered")
    assert not _ours(["dns", "-t", SMTP])[:1].isdigit()


def test_smtp_takes_r_stdin_filter_and_times() -> None:
    from_file = _ours(["smtp", "-tt", SMTP, "tcp port 25"])
    assert from_file == _ours(["smtp", "-tt", "-r", "-", "tcp port 25"],
                              stdin=Path(SMTP).read_bytes())
    stamp = from_file.split(" ", 1)[0]
    assert stamp in _theirs_selected(["-r", SMTP, "tcp port 25"])
    assert _ours(["smtp", SMTP, "udp"]) == ""


# ---------------------------------------------------------------- man pages, completion


def test_every_command_has_a_page_listing_exactly_its_options(tmp_path: Path) -> None:
    import click

    from wirecraft.cli import COMMANDS, main
    from wirecraft.cli.manpage import option_spellings, write_pages

    done = subprocess.run([sys.executable, "-m", "wirecraft.cli.manpage", str(tmp_path)],
                          env=ENV, capture_output=True, check=True)
    assert b"wirecraft.1" in done.stdout
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"wirecraft.1", *(f"wirecraft-{c}.1" for c in COMMANDS)}
    assert {p.name for p in write_pages(tmp_path / "again")} == names
    root = click.Context(main, info_name="wirecraft", **main.context_settings)
    for cmd_name in COMMANDS:
        cmd = main.get_command(root, cmd_name)
        assert cmd is not None
        ctx = click.Context(cmd, info_name=cmd_name, parent=root)
        want = {tuple(option_spellings(p)) for p in cmd.get_params(ctx)
                if isinstance(p, click.Option)}
        roff = (tmp_path / f"wirecraft-{cmd_name}.1").read_text().splitlines()
        listed = set()
        for i, line in enumerate(roff):
            if line == ".TP":
                entry = roff[i + 1].split("\\fR")
                listed.add(tuple(part.split("\\fB")[-1].replace("\\-", "-")
                                 for part in entry if "\\fB" in part))
        assert listed == want, (cmd_name, listed ^ want)
        assert roff[0].startswith(f'.TH "WIRECRAFT-{cmd_name.upper()}" "1"')


def test_man_renders_the_page_and_help_shows_it(tmp_path: Path) -> None:
    from wirecraft.cli.manpage import write_pages

    man = require_tool("man")
    write_pages(tmp_path)
    shown = subprocess.run([man, "-l", str(tmp_path / "wirecraft-read.1")], capture_output=True,
                           env={**ENV, "MANPAGER": "cat", "PAGER": "cat"}, check=True)
    text = shown.stdout.decode()
    assert "WIRECRAFT-READ(1)" in text and "--time-stamp-precision" in text
    # not on a terminal: the help text
    out = _ours(["help", "read"])
    assert out.startswith("Usage: wirecraft read [OPTIONS] [FILE] [EXPRESSION]...")
    done = _wirecraft(["help", "nosuch"], code=2)
    assert done.stderr.count(b"\n") == 1 and b"no such command" in done.stderr


@pytest.mark.parametrize("shell,marker", [("bash", b"complete -o nosort -F"),
                                          ("zsh", b"#compdef wirecraft"),
                                          ("fish", b"complete --no-files --command wirecraft")])
def test_shell_completion_scripts(shell: str, marker: bytes) -> None:
    done = subprocess.run([sys.executable, "-m", "wirecraft"], capture_output=True, check=False,
                          env={**ENV, "_WIRECRAFT_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0 and marker in done.stdout, done.stdout[-300:]
    # and the completion itself answers: the subcommands after `wirecraft re`
    words = subprocess.run([sys.executable, "-m", "wirecraft"], capture_output=True,
                           check=False, env={**ENV, "_WIRECRAFT_COMPLETE": "bash_complete",
                                             "COMP_WORDS": "wirecraft re", "COMP_CWORD": "1"})
    assert b"read" in words.stdout and b"replay" in words.stdout


# ---------------------------------------------------------------- sniff, live (namespaces)

_SEND = r"""
import socket, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"wirecraft%04d" % i, (dst, 9999))
    time.sleep(0.005)
"""


@pytest.mark.live
def test_sniff_direction_numbering_times_and_d() -> None:
    """-Q in keeps what the interface receives (not its own sends); -# numbers and -tt times
    the lines; -X dumps them; -D lists the namespace's interfaces."""
    from conftest import require_root
    from netns import VethPair

    require_root()
    with VethPair() as pair:
        listed = pair.run("b", [sys.executable, "-m", "wirecraft", "sniff", "-D"], env=ENV,
                          capture_output=True, text=True, check=True).stdout
        assert re.search(rf"^\d+\.{pair.iface_b} \[", listed, re.M), listed
        sniff = pair.popen("b", [sys.executable, "-m", "wirecraft", "sniff", "-i", pair.iface_b,
                                 "-Q", "in", "-c", "5", "-#", "-tt", "-X", "-l", "--immediate",
                                 "--duration", "30", "udp", "port", "9999"],
                           env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert sniff.stderr is not None
        assert "listening on" in sniff.stderr.readline()
        # b's own datagrams to a go out of the interface: -Q in must not see them
        pair.run("b", [sys.executable, "-c", _SEND, pair.addr_a, "3"], check=True)
        pair.run("a", [sys.executable, "-c", _SEND, pair.addr_b, "5"], check=True)
        out, err = sniff.communicate(timeout=60)
    assert sniff.returncode == 0, err
    firsts = _numbered(out)
    assert len(firsts) == 5, out
    assert all(re.match(r"\d+\.\d{6} IP 198\.18\.0\.1\.\d+ > 198\.18\.0\.2\.9999: UDP", f)
               for f in firsts), firsts
    assert out.count("craft000") == 5 and out.count("\t0x0000:  4500") == 5


def test_write_goes_on_past_batches_the_filter_leaves_empty(tmp_path: Path) -> None:
    """Matching frames before and after several batches with none: all of them are written
    (a batch with no match once ended the copy, dropping the rest of the file)."""
    import struct

    tool = require_tool("tcpdump")

    def frame(proto: int, sport: int, dport: int) -> bytes:
        l4 = (struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x10, 512, 0, 0)
              if proto == 6 else struct.pack("!HHHH", sport, dport, 1408, 0) + bytes(1400))
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4

    smtp, other = frame(6, 40000, 25), frame(17, 5000, 5001)
    frames = [smtp] * 7 + [other] * 6000 + [smtp] * 5 + [other] * 100 + [smtp] * 3
    src = tmp_path / "sparse.pcap"
    with open(src, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000, len(fr), len(fr)))
            f.write(fr)
    want, got = tmp_path / "t.pcap", tmp_path / "w.pcap"
    subprocess.run([tool, "-r", str(src), "-w", str(want), "tcp port 25"], capture_output=True,
                   check=True)
    _wirecraft(["read", str(src), "-w", str(got), "tcp", "port", "25"])
    assert got.read_bytes() == want.read_bytes()
    assert len(_ours(["read", "-r", str(got)]).splitlines()) == 15
