"""Run every benchmark scenario side by side with its peers and print the ratios to targets.

    ./dev bench [--quick | --smoke] [--only GROUP[,GROUP]] [--runs N] [--live]
    .venv/bin/python benchmarks/run.py --quick [--wirecraft installed|source|auto]

Which wirecraft is measured is decided once, before anything runs, and printed with its
path and version: `installed` is the package the interpreter imports without the source
tree (what `./dev bench` has just installed from this checkout), `source` is `src/` with
extensions built in place (`./dev build`), `auto` (the default) takes the in-place build
when there is one and the installed package otherwise. If neither imports with its
compiled extensions, the run stops at once with exit status 2, and a wirecraft scenario
that is unavailable, fails its manifest check or errors makes the exit status 1: a
benchmark never silently drops its own subject.

Each scenario runs in a fresh process on a warm page cache, several times; the harness
reports the median and spread of the work time (start-up and imports excluded, measured by
the scenario itself; for tools without such a figure, the whole process), packets/s, the
whole-process time and the peak RSS (from wait4). Every scenario's counts are checked
against the generator's manifest: a fast wrong answer is a FAIL, not a number.
Results go to benchmarks/out/results-<mode>.json and benchmarks/out/results-<mode>.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
PY = sys.executable
SRC = REPO / "src"
# the environment the `requires` probes run in: the wirecraft under test (set by main())
PROBE_ENV: dict[str, str] = dict(os.environ)
EXTENSIONS = ("_core", "_dns", "_reassembly", "_craft")
SMOKE_SIZES = {"mixed_frames": 4000, "dns_transactions": 600, "smtp_sessions": 25}
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

BASIC_KEYS = ("packets", "vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6",
              "tcp_port_25", "dns_messages")


# ---------------------------------------------------------------- scenario definitions

@dataclass
class Scenario:
    group: str
    name: str
    argv: list[str]
    file: str | None  # manifest file key: mixed, dns, smtp, big (None: no input file)
    check: Callable[[dict, dict], list[str]]  # (result, file manifest) -> problems
    units: Callable[[dict, dict], int] | None = None  # packets (or items) per run
    unit: str = "pkt"
    stdout_parser: Callable[[Path], dict] | None = None  # for tools that print, not JSON
    requires: Callable[[], str | None] | None = None  # None when available, else why not
    runs: int | None = None
    timeout: float = 600.0
    note: str = ""
    results: list[dict] = field(default_factory=list)
    status: str = "not run"
    problems: list[str] = field(default_factory=list)


def expect(keys: tuple[str, ...], prefix: int = 0, rename: dict | None = None):
    """A check comparing result counts with the manifest (or its prefix counts) on `keys`."""
    def check(result: dict, fm: dict) -> list[str]:
        # a limit at or past the end of the file (the small smoke captures) is the whole file
        whole = not prefix or prefix >= fm["counts"]["packets"]
        truth = fm["counts"] if whole else fm["prefix"][str(prefix)]
        got = result.get("counts", {})
        problems = []
        for k in keys:
            want = truth[(rename or {}).get(k, k)]
            if got.get(k, 0) != want:
                problems.append(f"{k}: got {got.get(k, 0)}, manifest says {want}")
        return problems
    return check


def from_result(result: dict, fm: dict) -> int:
    return int(result["packets"])


def tshark_protocols(path: Path) -> dict:
    """Counts from `tshark -T fields -e frame.protocols -e tcp.srcport -e tcp.dstport`."""
    c: Counter = Counter()
    names = {"vlan": "vlan", "arp": "arp", "ip": "ipv4", "ipv6": "ipv6", "tcp": "tcp",
             "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "dns": "dns_messages"}
    with open(path, "rb") as f:
        for line in f:
            parts = line.rstrip(b"\n").split(b"\t")
            c["packets"] += 1
            protos = set(parts[0].decode().split(":"))
            for p in protos & names.keys():
                c[names[p]] += 1
            if len(parts) > 2 and b"25" in (parts[1], parts[2]):
                c["tcp_port_25"] += 1
    return {"packets": c["packets"], "counts": dict(c)}


def count_lines(path: Path) -> dict:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return {"packets": n, "counts": {"lines": n}}


def tshark_smtp(path: Path) -> dict:
    """`tshark -Y imf -T fields -e frame.number`: one line per message reassembled by imf."""
    n = count_lines(path)["packets"]
    return {"packets": n, "counts": {"smtp_messages": n}}


def tshark_imf_expected(counts: dict) -> int:
    """Messages tshark 4.0's imf shows: it misses those whose last TCP segment holds only the
    "\\n" or "\\r\\n" of the CRLF.CRLF end of data (the dot in the segment before)."""
    return (counts["smtp_messages"] - counts.get("smtp_end_split_1", 0)
            - counts.get("smtp_end_split_2", 0))


def tshark_imf_check(result: dict, fm: dict) -> list[str]:
    want = tshark_imf_expected(fm["counts"])
    got = result["counts"]["smtp_messages"]
    return [] if got == want else [f"smtp_messages: got {got}, expected {want} (manifest "
                                   f"{fm['counts']['smtp_messages']} less tshark's known misses)"]


def lines_are(key: str):
    def check(result: dict, fm: dict) -> list[str]:
        want = fm["counts"][key]
        got = result["counts"]["lines"]
        return [] if got == want else [f"printed {got} lines, manifest has {want} {key}"]
    return check


def module_available(module: str, attr: str | None = None) -> Callable[[], str | None]:
    """A `requires` check: the wirecraft module imports (and has `attr`), in a child process."""
    code = (f"import importlib; m = importlib.import_module({module!r}); "
            + (f"getattr(m, {attr!r})" if attr else "pass"))

    def probe() -> str | None:
        r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=PROBE_ENV,
                           timeout=120, cwd="/")
        if r.returncode == 0:
            return None
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"{module}{'.' + attr if attr else ''} not available yet ({last[:120]})"
    return probe


def tool(name: str) -> Callable[[], str | None]:
    return lambda: None if shutil.which(name) else f"{name} is not installed"


def written_frames(out: Path) -> Callable[[Path], dict]:
    """A stdout parser for a tool that writes the capture `out`: the frames in it, as
    capinfos counts them; `out` is removed after (it is as large as the input)."""
    def parse(_stdout: Path) -> dict:
        r = subprocess.run(["capinfos", "-T", "-r", "-c", str(out)], capture_output=True,
                           text=True)
        out.unlink(missing_ok=True)
        try:
            n = int(r.stdout.strip().rsplit("\t", 1)[-1])
        except ValueError:
            n = -1
        return {"packets": n, "counts": {"packets": n}}
    return parse


def frames_are(want: int, what: str) -> Callable[[dict, dict], list[str]]:
    """A check: the run wrote `want` frames (`what` says which)."""
    def check(result: dict, fm: dict) -> list[str]:
        got = result.get("counts", {}).get("packets")
        return [] if got == want else [f"wrote {got} frames, expected {want} ({what})"]
    return check


def build_scenarios(mode: str, data: Path, manifest: dict, c_ref: Path | None,
                    live: bool) -> list[Scenario]:
    quick = mode in ("quick", "smoke")
    smoke = mode == "smoke"
    files = {k: str(data / v["file"]) for k, v in manifest["files"].items()}
    mixed, dns, smtp = files["mixed"], files["dns"], files["smtp"]
    sc = HERE / "scenarios"
    peers = HERE / "peers"
    scapy_n = 5000 if quick else 20000
    need_core = module_available("wirecraft.capture", "open")
    need_table = module_available("wirecraft.table", "Table")
    need_dns = module_available("wirecraft.dns", "transactions")
    need_smtp = module_available("wirecraft.smtp", "transactions")
    need_craft = module_available("wirecraft.craft", "DNS")
    need_template = module_available("wirecraft.craft.template", "Template")
    c_missing = (lambda: None) if c_ref else (lambda: "the C reference did not compile")
    s: list[Scenario] = []
    add = s.append

    # start-up, on its own line
    add(Scenario("startup", "python -c pass", [PY, "-c", "pass"], None, lambda r, m: [],
                 runs=7))
    add(Scenario("startup", "python: import wirecraft + open a file",
                 [PY, str(sc / "wc_startup.py"), mixed], "mixed", lambda r, m: [],
                 requires=need_core, runs=7))
    add(Scenario("startup", "python: import dpkt", [PY, "-c", "import dpkt"], None,
                 lambda r, m: [], runs=5))
    add(Scenario("startup", "python: import scapy.all", [PY, "-c", "import scapy.all"], None,
                 lambda r, m: [], runs=3))

    # 1. columnar decode vs the C reference (and the command-line tools)
    basic = expect(BASIC_KEYS)
    add(Scenario("columnar", "C libpcap pcap_next_ex + decode", [str(c_ref), mixed], "mixed",
                 basic, from_result, requires=c_missing))
    add(Scenario("columnar", "wirecraft open().table()",
                 [PY, str(sc / "wc_columnar.py"), mixed, "--mode", "table"], "mixed", basic,
                 from_result, requires=need_table))
    add(Scenario("columnar", "wirecraft open().batches()",
                 [PY, str(sc / "wc_columnar.py"), mixed, "--mode", "batches"], "mixed", basic,
                 from_result, requires=need_table))
    add(Scenario("columnar", "tshark -T fields (frame.protocols, tcp ports)",
                 ["tshark", "-n", "-r", mixed, "-T", "fields", "-e", "frame.protocols",
                  "-e", "tcp.srcport", "-e", "tcp.dstport"], "mixed", basic, from_result,
                 stdout_parser=tshark_protocols, requires=tool("tshark"),
                 runs=2 if not quick else None))
    add(Scenario("columnar", "tcpdump -n -r", ["tcpdump", "-n", "-r", mixed], "mixed",
                 lines_are("packets"), from_result, stdout_parser=count_lines,
                 requires=tool("tcpdump")))

    # 2. per-packet views
    add(Scenario("per-packet", "wirecraft read(): ip.src/dst + ports",
                 [PY, str(sc / "wc_packets.py"), mixed], "mixed", basic, from_result,
                 requires=need_core))
    add(Scenario("per-packet", "dpkt: Ethernet(buf), inet_ntoa, ports",
                 [PY, str(peers / "dpkt_packets.py"), mixed], "mixed", basic, from_result,
                 runs=2 if not quick else None))
    add(Scenario("per-packet", "pypacker: Ethernet(buf), src_s, ports",
                 [PY, str(peers / "pypacker_packets.py"), mixed], "mixed", basic, from_result,
                 runs=2 if not quick else None))
    add(Scenario("per-packet", f"scapy PcapReader (first {scapy_n} frames, scaled)",
                 [PY, str(peers / "scapy_packets.py"), mixed, "--limit", str(scapy_n)],
                 "mixed", expect(BASIC_KEYS, prefix=scapy_n), from_result, runs=2))

    # 3. BPF-filtered columnar read
    bpf = expect(("packets",), rename={"packets": "bpf_tcp_port_25"})
    add(Scenario("filter", "wirecraft open(filter='tcp port 25').table()",
                 [PY, str(sc / "wc_columnar.py"), mixed, "--mode", "table",
                  "--filter", "tcp port 25"], "mixed", bpf, lambda r, m: m["counts"]["packets"],
                 requires=need_table,
                 note="rate = frames of the file read and filtered per second"))
    add(Scenario("filter", "wirecraft open(filter='tcp port 25').batches()",
                 [PY, str(sc / "wc_columnar.py"), mixed, "--mode", "batches",
                  "--filter", "tcp port 25"], "mixed", bpf, lambda r, m: m["counts"]["packets"],
                 requires=need_table,
                 note="rate = frames of the file read and filtered per second"))
    add(Scenario("filter", "C libpcap with pcap_setfilter('tcp port 25')",
                 [str(c_ref), mixed, "tcp port 25"], "mixed", bpf,
                 lambda r, m: m["counts"]["packets"], requires=c_missing))
    add(Scenario("filter", "tcpdump -n -r FILE 'tcp port 25'",
                 ["tcpdump", "-n", "-r", mixed, "tcp port 25"], "mixed",
                 lines_are("bpf_tcp_port_25"), lambda r, m: m["counts"]["packets"],
                 stdout_parser=count_lines, requires=tool("tcpdump")))

    # 4. DNS
    msgs = lambda r, m: m["counts"]["dns_messages"]  # noqa: E731
    add(Scenario("dns", "wirecraft.dns.transactions(path)",
                 [PY, str(sc / "wc_dns.py"), dns], "dns",
                 expect(("dns_transactions", "dns_answers")), msgs, unit="msg",
                 requires=need_dns))
    add(Scenario("dns", "dpkt: every message, names/types/TTLs/rdata",
                 [PY, str(peers / "dpkt_dns.py"), dns], "dns",
                 expect(("dns_messages", "dns_answers", "dns_transactions")), msgs, unit="msg"))
    add(Scenario("dns", "scapy DNS (first 5000 frames, scaled)",
                 [PY, str(peers / "scapy_dns.py"), dns, "--limit", "5000"], "dns",
                 expect(("dns_messages",), prefix=5000), from_result, unit="msg", runs=2))
    add(Scenario("dns", "tcpdump -n -r (prints every message)", ["tcpdump", "-n", "-r", dns],
                 "dns", lines_are("dns_messages"), msgs, unit="msg",
                 stdout_parser=count_lines, requires=tool("tcpdump")))

    # 5. SMTP
    sessions = lambda r, m: m["counts"]["smtp_sessions"]  # noqa: E731
    add(Scenario("smtp", "wirecraft.smtp.transactions(path)",
                 [PY, str(sc / "wc_smtp.py"), smtp], "smtp",
                 expect(("smtp_messages", "smtp_sessions")), sessions, unit="session",
                 requires=need_smtp))
    add(Scenario("smtp", "tshark -Y imf (smtp + imf dissectors)",
                 ["tshark", "-n", "-r", smtp, "-Y", "imf", "-T", "fields", "-e",
                  "frame.number"], "smtp", tshark_imf_check, sessions,
                 unit="session", stdout_parser=tshark_smtp, requires=tool("tshark")))

    # 5b. connections (Zeek conn.log) and the folder of logs
    frames = lambda r, m: m["counts"]["packets"]  # noqa: E731

    def conns_ok(r: dict, m: dict) -> list[str]:
        c, want = r.get("counts", {}), m["counts"]
        ip = want["tcp"] + want["udp"] + want["icmp"] + want["icmpv6"]
        bad = []
        if not c.get("connections"):
            bad.append("no connections")
        if "in_connections" in c and not 0.98 * ip <= c["in_connections"] <= ip:
            bad.append(f"{c['in_connections']} packets in connections, the file has {ip} "
                       "TCP/UDP/ICMP")
        return bad

    need_flows = module_available("wirecraft.conn", "flows")
    add(Scenario("flows", "wirecraft.flows(path)",
                 [PY, str(sc / "wc_flows.py"), mixed, "--mode", "flows"], "mixed", conns_ok,
                 frames, requires=need_flows))
    add(Scenario("flows", "NFStream to_pandas() (dissection and statistics off)",
                 [PY, str(peers / "nfstream_flows.py"), mixed], "mixed", conns_ok, frames,
                 requires=module_available("nfstream"), runs=2 if not quick else None))
    add(Scenario("flows", "wirecraft logs: conn, dns, smtp, weird as Zeek TSV",
                 [PY, str(sc / "wc_flows.py"), mixed, "--mode", "logs"], "mixed",
                 lambda r, m: [] if r.get("counts", {}).get("connections") else ["no rows"],
                 frames, requires=need_flows))
    add(Scenario("flows", "tshark -q -z conv,tcp -z conv,udp",
                 ["tshark", "-n", "-q", "-r", mixed, "-z", "conv,tcp", "-z", "conv,udp"],
                 "mixed", lambda r, m: [], frames, stdout_parser=count_lines,
                 requires=tool("tshark"), runs=2 if not quick else None))

    # 5c. the command line beside tcpdump (whole processes: start-up and imports included)
    need_cli = module_available("wirecraft.cli.tcpdump")
    n_frames = lambda r, m: m["counts"]["packets"]  # noqa: E731
    w_ours, w_theirs = OUT / "cli-read-w.pcap", OUT / "cli-tcpdump-w.pcap"
    add(Scenario("cli", "wirecraft read -n FILE", [PY, "-m", "wirecraft", "read", "-n", mixed],
                 "mixed", lines_are("packets"), n_frames, stdout_parser=count_lines,
                 requires=need_cli, note="stdout to a file; one line per frame"))
    add(Scenario("cli", "tcpdump -n -r FILE", ["tcpdump", "-n", "-r", mixed], "mixed",
                 lines_are("packets"), n_frames, stdout_parser=count_lines,
                 requires=tool("tcpdump")))
    port25 = expect(("packets",), rename={"packets": "bpf_tcp_port_25"})
    add(Scenario("cli", "wirecraft read -w OUT FILE 'tcp port 25'",
                 [PY, "-m", "wirecraft", "read", "-w", str(w_ours), mixed, "tcp port 25"],
                 "mixed", port25, n_frames, stdout_parser=written_frames(w_ours),
                 requires=need_cli, note="rate = frames of the file read per second"))
    add(Scenario("cli", "tcpdump -r FILE -w OUT 'tcp port 25'",
                 # as root, tcpdump -w drops to its own user, who cannot write to OUT
                 ["tcpdump", *(["-Z", "root"] if os.geteuid() == 0 else []), "-r", mixed,
                  "-w", str(w_theirs), "tcp port 25"], "mixed", port25,
                 n_frames, stdout_parser=written_frames(w_theirs), requires=tool("tcpdump")))

    # 6. crafting
    n_craft = 2000 if smoke else 10000 if quick else 50000
    crafted = lambda r, m: int(r["packets"])  # noqa: E731
    craft_ok = lambda r, m: r.get("problems", [])  # noqa: E731
    add(Scenario("craft", "wirecraft layers: Ethernet/IPv4/UDP/DNS.query -> bytes",
                 [PY, str(sc / "wc_craft.py"), "--mode", "layers", "-n", str(n_craft)], None,
                 craft_ok, crafted, unit="frame", requires=need_craft))
    add(Scenario("craft", "dpkt: Ethernet(IP(UDP(DNS))) -> bytes",
                 [PY, str(peers / "dpkt_craft.py"), "-n", str(n_craft)], None, craft_ok,
                 crafted, unit="frame"))
    add(Scenario("craft", "scapy: Ether/IP/UDP/DNS -> bytes (scaled)",
                 [PY, str(peers / "scapy_craft.py"), "-n", str(n_craft // 20)], None,
                 craft_ok, crafted, unit="frame", runs=2))
    n_tpl = 50_000 if smoke else 1_000_000 if quick else 5_000_000
    add(Scenario("craft", "wirecraft template: vary DNS id, name and IPv4 id",
                 [PY, str(sc / "wc_craft.py"), "--mode", "template", "-n", str(n_tpl)], None,
                 craft_ok, crafted, unit="frame", requires=need_template))
    add(Scenario("craft", "wirecraft template -> pcap file",
                 [PY, str(sc / "wc_craft.py"), "--mode", "template-pcap", "-n", str(n_tpl),
                  "--out", str(OUT / "template.pcap")], None, craft_ok, crafted, unit="frame",
                 requires=need_template))

    # 7. file tools: copy, convert, merge and slice at file-copy speed (issue 17)
    n_mixed = manifest["files"]["mixed"]["counts"]["packets"]
    n_dns = manifest["files"]["dns"]["counts"]["packets"]
    half = n_mixed // 2
    ft = sc / "wc_filetools.py"
    need_files = module_available("wirecraft.filetools", "merge")
    all_frames = frames_are(n_mixed, "every frame of the capture")
    merged = frames_are(n_mixed + n_dns, "the frames of both captures")
    halved = frames_are(half, f"frames 1-{half}")
    outs = {k: OUT / f"filetools-{k}" for k in ("cp.pcap", "ng.pcapng", "pcap.pcap",
                                                  "merge.pcapng", "slice.pcap")}
    both = "MB/s counts the first input only"
    for label, argv, check, parser, req, note in (
            ("cp FILE OUT (the copy floor)", ["cp", mixed, str(outs["cp.pcap"])], all_frames,
             written_frames(outs["cp.pcap"]), tool("capinfos"), ""),
            ("wirecraft convert -> pcapng",
             [PY, str(ft), mixed, "--op", "convert", "--out", str(outs["ng.pcapng"])],
             all_frames, None, need_files, ""),
            ("editcap -F pcapng", ["editcap", "-F", "pcapng", mixed, str(outs["ng.pcapng"])],
             all_frames, written_frames(outs["ng.pcapng"]), tool("editcap"), ""),
            ("wirecraft convert --pcap (pcap -> pcap)",
             [PY, str(ft), mixed, "--op", "convert-pcap", "--out", str(outs["pcap.pcap"])],
             all_frames, None, need_files, ""),
            ("editcap -F pcap (pcap -> pcap)",
             ["editcap", "-F", "pcap", mixed, str(outs["pcap.pcap"])], all_frames,
             written_frames(outs["pcap.pcap"]), tool("editcap"), ""),
            ("wirecraft merge (mixed + dns, by time)",
             [PY, str(ft), mixed, "--second", dns, "--op", "merge", "--out",
              str(outs["merge.pcapng"])], merged, None, need_files, both),
            ("mergecap -w (mixed + dns, by time)",
             ["mergecap", "-w", str(outs["merge.pcapng"]), mixed, dns], merged,
             written_frames(outs["merge.pcapng"]), tool("mergecap"), both),
            (f"wirecraft slice -r 1-{half}",
             [PY, str(ft), mixed, "--op", "slice", "--last", str(half), "--out",
              str(outs["slice.pcap"])], halved, None, need_files, ""),
            (f"editcap -r FILE OUT 1-{half}",
             ["editcap", "-r", mixed, str(outs["slice.pcap"]), f"1-{half}"], halved,
             written_frames(outs["slice.pcap"]), tool("editcap"), "")):
        add(Scenario("filetools", label, argv, "mixed", check, from_result, unit="frame",
                     stdout_parser=parser, requires=req, note=note))

    # 8. injection on a veth pair between two namespaces (only with --live, needs root)
    if live:
        loops = "2" if quick else "5"

        def root() -> str | None:
            return None if os.geteuid() == 0 else "needs root for network namespaces"

        inj = HERE / "out" / "pcap_inject"
        for tool_name, label, req in (
                ("wirecraft", "wirecraft replay --topspeed", need_core),
                ("c", "C pcap_inject loop", lambda: None if inj.exists() else "no pcap_inject"),
                ("tcpreplay", "tcpreplay --topspeed", tool("tcpreplay"))):
            add(Scenario("inject", f"{label} (dns capture x{loops}, veth pair)",
                         [PY, str(sc / "live.py"), "--tool", tool_name, "--file", dns,
                          "--loops", loops], None, craft_ok, crafted, unit="frame",
                         requires=lambda req=req: root() or req(), timeout=300))
        count = "20000" if quick else "50000"
        for mode, label, req in (
                ("raw", "wirecraft Sniffer, capture only", need_core),
                ("decode", "wirecraft Sniffer, capture + decode (ip, ports)", need_core),
                ("write", "wirecraft Sniffer, capture + decode + write pcap", need_core),
                ("tcpdump", "tcpdump -w FILE", tool("tcpdump"))):
            add(Scenario("live", f"{label}: best zero-drop pps",
                         [PY, str(sc / "live.py"), "--capture", mode, "--file", dns,
                          "--count", count], None, craft_ok, crafted, unit="frame", runs=1,
                         requires=lambda req=req: root() or req(), timeout=300,
                         note="tcpreplay --pps 25k..200k, then C pcap_inject at top speed"))

        # 9. send and receive: a SYN scan of every port, and echo requests by the thousand
        def probe_ok(r: dict, m: dict) -> list[str]:
            c = r.get("counts", {})
            bad = []
            if "open_right" in c and not c["open_right"]:
                bad.append(f"reported {c['open']} open ports, the target has 10")
            if c.get("closed") is not None and c["closed"] != c["probes"] - 10:
                bad.append(f"reported {c['closed']} closed ports of {c['probes'] - 10}")
            if c.get("unanswered"):
                bad.append(f"{c['unanswered']} echo requests left unanswered")
            return bad

        probes = lambda r, m: int(r["packets"])  # noqa: E731
        ports = "65535"
        for tool_name, label, req in (
                ("wirecraft", "wirecraft scan (SYN, template probes, C matching)",
                 module_available("wirecraft.exchange", "sr")),
                ("masscan", "masscan --rate 300k --wait 1", tool("masscan")),
                ("nmap", "nmap -sS -T5 --min-rate 20000", tool("nmap")),
                ("scapy", "scapy sr() SYN (first 2000 ports + listeners, scaled)",
                 module_available("scapy.all"))):
            add(Scenario("probe", f"{label}: {ports} ports",
                         [PY, str(sc / "probe.py"), "--tool", tool_name, "--scan", ports,
                          "--limit", "2000"], None, probe_ok, probes, unit="probe",
                         requires=lambda req=req: root() or req(), timeout=600,
                         note="work = the tool's whole process; wire = first-to-last probe "
                              "arriving at the target"))
        echoes = "20000" if quick else "100000"
        for tool_name, label, req in (
                ("wirecraft", f"wirecraft sr(Template) ICMP echo x{echoes}",
                 module_available("wirecraft.exchange", "sr")),
                ("scapy", "scapy sr() ICMP echo (2000, scaled)", module_available("scapy.all"))):
            add(Scenario("probe", label,
                         [PY, str(sc / "probe.py"), "--tool", tool_name, "--echo", echoes,
                          "--limit", "2000"], None, probe_ok, probes, unit="probe",
                         requires=lambda req=req: root() or req(), timeout=600))
    return s


# ---------------------------------------------------------------- the subject


def _without_src(pythonpath: str) -> str:
    keep = [p for p in pythonpath.split(os.pathsep)
            if p and Path(p).resolve() != SRC.resolve()]
    return os.pathsep.join(keep)


def wirecraft_env(choice: str, base: dict[str, str]) -> tuple[dict[str, str], str]:
    """(environment for every scenario, description of the wirecraft it imports).

    Raises SystemExit(2) with one line when the chosen wirecraft cannot be imported with all
    its compiled extensions."""
    installed = dict(base, PYTHONPATH=_without_src(base.get("PYTHONPATH", "")))
    source = dict(base, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC),
                                                                 installed["PYTHONPATH"]])))
    code = ("import importlib, wirecraft; "
            f"[importlib.import_module('wirecraft.' + m) for m in {EXTENSIONS!r}]; "
            "print(wirecraft.__version__, wirecraft.__file__)")
    tried = []
    order = {"installed": [("installed", installed)], "source": [("source", source)],
             "auto": [("source", source), ("installed", installed)]}[choice]
    for name, env in order:
        r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env,
                           cwd="/", timeout=120)
        if r.returncode == 0:
            version, path = r.stdout.split(maxsplit=1)
            return env, f"wirecraft {version} ({name}: {Path(path.strip()).parent})"
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        tried.append(f"{name}: {last[:160]}")
    print("run.py: no wirecraft to measure (" + "; ".join(tried) + "). Run `./dev bench`, "
          "which installs it, or `./dev build` for the source tree.", file=sys.stderr)
    raise SystemExit(2)


def is_subject(sc: Scenario) -> bool:
    """A scenario that measures wirecraft itself (its absence is a failure, not a skip)."""
    return "wirecraft" in sc.name


# ---------------------------------------------------------------- running

def warm(path: str) -> None:
    """Read the file once so every run starts from a warm page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


_RUN_IDS = itertools.count(1)


def run_once(sc: Scenario, env: dict, launcher: Path | None) -> dict:
    OUT.mkdir(exist_ok=True)
    tag = f"{os.getpid()}-{next(_RUN_IDS)}"
    out_path, err_path, rss_path = (OUT / f"run-{tag}.out", OUT / f"run-{tag}.err",
                                    OUT / f"run-{tag}.rss")
    try:
        return _run_once(sc, env, launcher, out_path, err_path, rss_path)
    finally:
        for p in (out_path, err_path, rss_path):
            p.unlink(missing_ok=True)


def _run_once(sc: Scenario, env: dict, launcher: Path | None, out_path: Path, err_path: Path,
              rss_path: Path) -> dict:
    argv = [str(launcher), str(rss_path), *sc.argv] if launcher else sc.argv
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO,
                                start_new_session=True)
        timer = threading.Timer(sc.timeout, lambda: os.killpg(proc.pid, 9))
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss = ru.ru_maxrss
    if launcher and rss_path.exists():  # the command's own peak, not inherited from us
        maxrss = int(rss_path.read_text().split()[0])
    res: dict = {"wall_s": wall, "maxrss_kb": maxrss, "rc": proc.returncode}
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        res["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
        return res
    if sc.stdout_parser is not None:
        res.update(sc.stdout_parser(out_path))
        res["work_s"] = wall
    elif sc.group == "startup":
        res["work_s"] = wall
        res["packets"] = 0
    else:
        lines = out_path.read_text(errors="replace").strip().splitlines()
        try:
            child = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            res["error"] = "no JSON result line: " + (lines[-1][:200] if lines else "(empty)")
            return res
        child.pop("maxrss_kb", None)  # includes what exec inherited; the launcher's is exact
        res.update(child)
    return res


def run_scenario(sc: Scenario, manifest: dict, runs: int, env: dict,
                 launcher: Path | None) -> None:
    if sc.requires is not None:
        why = sc.requires()
        if why:
            sc.status = "MISSING" if is_subject(sc) else "n/a"
            sc.problems = [why]
            label = "MISSING" if is_subject(sc) else "not available"
            print(f"  {sc.group:<10} {sc.name:<58} {label}: {why}", flush=True)
            return
    fm = manifest["files"].get(sc.file) if sc.file else None
    if sc.file:
        warm(str(Path(manifest["dir"]) / fm["file"]))
    n = sc.runs or runs
    for _ in range(n):
        r = run_once(sc, env, launcher)
        sc.results.append(r)
        if "error" in r:
            sc.status = "ERROR"
            sc.problems = [r["error"]]
            break
        probs = sc.check(r, fm) if fm is not None or sc.file is None else []
        if probs:
            sc.status = "FAIL"
            sc.problems = probs
            break
    else:
        sc.status = "ok"
    print("  " + format_line(sc, manifest), flush=True)


def summary(sc: Scenario, manifest: dict) -> dict | None:
    ok = [r for r in sc.results if "error" not in r]
    if not ok:
        return None
    work = [r["work_s"] for r in ok]
    wall = [r["wall_s"] for r in ok]
    med = statistics.median(work)
    fm = manifest["files"].get(sc.file) if sc.file else None
    units = sc.units(ok[0], fm) if sc.units and (fm is not None or sc.file is None) else 0
    out = {
        "runs": len(ok), "work_median_s": med, "work_min_s": min(work),
        "work_max_s": max(work), "spread_pct": 100 * (max(work) - min(work)) / med if med else 0,
        "wall_median_s": statistics.median(wall), "peak_rss_mb": max(r["maxrss_kb"] for r in ok)
        / 1024, "units": units,
    }
    if fm is not None and med:
        out["mb_per_s"] = fm["size"] / 1e6 / med
    if units and med:
        out["rate"] = units / med
        out["rate_wall"] = units / out["wall_median_s"]
    if units:
        out["rate_min"] = units / max(work)      # the worst run
        out["rate_max"] = units / min(work)
    wire = [r["wire_probes_per_s"] for r in ok if r.get("wire_probes_per_s")]
    if wire:
        out["wire_min"], out["wire_median"], out["wire_max"] = (
            min(wire), statistics.median(wire), max(wire))
    imp = [r["import_s"] for r in ok if "import_s" in r]
    if imp:
        out["import_median_s"] = statistics.median(imp)
    for key in ("mb", "extra"):
        if key in ok[0]:
            out[key] = ok[0][key]
    return out


def human(rate: float) -> str:
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if rate >= div:
            return f"{rate / div:.2f}{suf}"
    return f"{rate:.1f}"


def format_line(sc: Scenario, manifest: dict) -> str:
    s = summary(sc, manifest)
    head = f"{sc.group:<10} {sc.name:<58}"
    if s is None:
        return f"{head} {sc.status}: {'; '.join(sc.problems)[:300]}"
    rate = f"{human(s['rate'])} {sc.unit}/s" if "rate" in s else ""
    line = (f"{head} {s['work_median_s']:8.3f}s ±{s['spread_pct']:4.1f}% "
            f"(n={s['runs']}) {rate:>15}  wall {s['wall_median_s']:7.3f}s  "
            f"RSS {s['peak_rss_mb']:7.1f} MB")
    if any(r.get("sender_bound") for r in sc.results):
        line += "  (a lower bound: no drops even at the sender's top speed)"
    if sc.group in ("smtp", "dns", "filetools") and "mb_per_s" in s:
        line += f"  {s['mb_per_s']:.1f} MB/s"
    if sc.status != "ok":
        line += f"  {sc.status}: {'; '.join(sc.problems)[:300]}"
    return line


# ---------------------------------------------------------------- targets

def ratio(scs: dict, num: str, den: str, key: str = "rate") -> float | None:
    a, b = scs.get(num), scs.get(den)
    if not a or not b or a["status"] != "ok" or b["status"] != "ok":
        return None
    if key not in a["summary"] or key not in b["summary"]:
        return None
    return a["summary"][key] / b["summary"][key]


def targets(scs: dict) -> list[tuple[str, float | None, str]]:
    """(description, measured value, target text) for every target of issue 3."""
    out = []

    def add(desc: str, value: float | None, target: float | None, unit: str = "x") -> None:
        if value is None:
            out.append((desc, None, f">= {target}{unit}" if target else "report"))
            return
        verdict = "" if target is None else ("  MET" if value >= target else "  MISSED")
        tgt = f">= {target:g}{unit}" if target is not None else "report"
        out.append((desc, value, tgt + verdict))

    wc_t, c_ref = "wirecraft open().table()", "C libpcap pcap_next_ex + decode"
    bare, imp = scs.get("python -c pass"), scs.get("python: import wirecraft + open a file")
    if bare and imp and bare["status"] == imp["status"] == "ok":
        add("start-up: python + import wirecraft + open a file (ms, whole process)",
            imp["summary"]["wall_median_s"] * 1e3, None, " ms")
        add("start-up: of which import + open beyond a bare interpreter (ms)",
            (imp["summary"]["wall_median_s"] - bare["summary"]["wall_median_s"]) * 1e3, None,
            " ms")
    add("1. columnar: wirecraft table() / C reference (steady state)",
        ratio(scs, wc_t, c_ref), 1.0)
    add("1. columnar: same, whole process (start-up + imports included)",
        ratio(scs, wc_t, c_ref, "rate_wall"), None)
    add("1. columnar: wirecraft batches() / C reference (steady state)",
        ratio(scs, "wirecraft open().batches()", c_ref), None)
    add("1. columnar: wirecraft table() / tshark -T fields (whole process)",
        ratio(scs, wc_t, "tshark -T fields (frame.protocols, tcp ports)", "rate_wall"), None)
    add("2. per-packet: wirecraft / dpkt", ratio(scs, "wirecraft read(): ip.src/dst + ports",
                                                  "dpkt: Ethernet(buf), inet_ntoa, ports"), 20)
    add("2. per-packet: wirecraft / pypacker",
        ratio(scs, "wirecraft read(): ip.src/dst + ports",
              "pypacker: Ethernet(buf), src_s, ports"), None)
    add("2. per-packet: wirecraft / scapy (scaled)",
        ratio(scs, "wirecraft read(): ip.src/dst + ports",
              [k for k in scs if k.startswith("scapy PcapReader")][0]
              if any(k.startswith("scapy PcapReader") for k in scs) else ""), None)
    add("3. filtered columnar ('tcp port 25') / unfiltered columnar, table()",
        ratio(scs, "wirecraft open(filter='tcp port 25').table()", wc_t), 0.8)
    add("3. filtered columnar ('tcp port 25') / unfiltered columnar, batches()",
        ratio(scs, "wirecraft open(filter='tcp port 25').batches()",
              "wirecraft open().batches()"), 0.8)
    add("3. filtered C reference / unfiltered C reference (for scale)",
        ratio(scs, "C libpcap with pcap_setfilter('tcp port 25')", c_ref), None)
    add("4. DNS: wirecraft transactions / dpkt decoding every message",
        ratio(scs, "wirecraft.dns.transactions(path)",
              "dpkt: every message, names/types/TTLs/rdata"), 30)
    add("4. DNS: wirecraft transactions / tcpdump -n -r (whole process)",
        ratio(scs, "wirecraft.dns.transactions(path)", "tcpdump -n -r (prints every message)",
              "rate_wall"), 5)
    add("4. DNS: wirecraft transactions / scapy (scaled)",
        ratio(scs, "wirecraft.dns.transactions(path)", "scapy DNS (first 5000 frames, scaled)"),
        None)
    add("5. SMTP: wirecraft transactions / tshark smtp+imf (whole process)",
        ratio(scs, "wirecraft.smtp.transactions(path)", "tshark -Y imf (smtp + imf dissectors)",
              "rate_wall"), None)
    fl = scs.get("wirecraft.flows(path)")
    nf = scs.get("NFStream to_pandas() (dissection and statistics off)")
    if fl and nf and fl["status"] == nf["status"] == "ok":
        # a target holds only if it holds on the worst run: ours worst against theirs best
        add("5b. flows: wirecraft.flows worst run / NFStream best run",
            fl["summary"]["rate_min"] / nf["summary"]["rate_max"], 10)
    else:
        add("5b. flows: wirecraft.flows worst run / NFStream best run", None, 10)
    add("5b. logs: wirecraft logs (conn, dns, smtp, weird) / tshark conv,tcp+udp (processes)",
        ratio(scs, "wirecraft logs: conn, dns, smtp, weird as Zeek TSV",
              "tshark -q -z conv,tcp -z conv,udp", "rate_wall"), None)
    for desc, ours, theirs, want in (
            ("5c. cli: wirecraft read -n worst run / tcpdump -n -r best run",
             "wirecraft read -n FILE", "tcpdump -n -r FILE", 5),
            ("5c. cli: wirecraft read -w 'tcp port 25' worst run / tcpdump -w best run",
             "wirecraft read -w OUT FILE 'tcp port 25'", "tcpdump -r FILE -w OUT 'tcp port 25'",
             1)):
        a, b = scs.get(ours), scs.get(theirs)
        both = a and b and a["status"] == b["status"] == "ok"
        add(desc, a["summary"]["rate_min"] / b["summary"]["rate_max"] if both else None, want)
    lay = "wirecraft layers: Ethernet/IPv4/UDP/DNS.query -> bytes"
    add("6. craft: wirecraft layers / dpkt", ratio(scs, lay, "dpkt: Ethernet(IP(UDP(DNS))) -> bytes"),
        10)
    add("6. craft: wirecraft layers / scapy",
        ratio(scs, lay, "scapy: Ether/IP/UDP/DNS -> bytes (scaled)"), 300)
    tpl = scs.get("wirecraft template: vary DNS id, name and IPv4 id")
    add("6. craft: template frames/s (millions)",
        tpl["summary"]["rate"] / 1e6 if tpl and tpl["status"] == "ok" else None, 5, "M")
    tpp = scs.get("wirecraft template -> pcap file")
    add("6. craft: template -> pcap frames/s (millions)",
        tpp["summary"]["rate"] / 1e6 if tpp and tpp["status"] == "ok" else None, 1, "M")
    inj = {n.split(" (")[0]: n for n, r in scs.items() if r["group"] == "inject"}
    if inj:
        add("7. inject: wirecraft / C pcap_inject loop",
            ratio(scs, inj.get("wirecraft replay --topspeed", ""),
                  inj.get("C pcap_inject loop", "")), 1.0)
        add("7. inject: wirecraft / tcpreplay --topspeed",
            ratio(scs, inj.get("wirecraft replay --topspeed", ""),
                  inj.get("tcpreplay --topspeed", "")), 1.5)
    pr = {n.split(":")[0]: n for n, r in scs.items() if r["group"] == "probe"}
    if pr:
        ours = pr.get("wirecraft scan (SYN, template probes, C matching)", "")
        worst = "rate_min"   # a target holds only if it holds on the worst run

        def vs(num: str, den: str, key: str, den_key: str) -> float | None:
            a, b = scs.get(num), scs.get(den)
            if not a or not b or a["status"] != "ok" or b["status"] != "ok":
                return None
            if key not in a["summary"] or den_key not in b["summary"]:
                return None
            return a["summary"][key] / b["summary"][den_key]

        scapy_scan = pr.get("scapy sr() SYN (first 2000 ports + listeners, scaled)", "")
        masscan = pr.get("masscan --rate 300k --wait 1", "")
        nmap = pr.get("nmap -sS -T5 --min-rate 20000", "")
        # the measure is the probe rate: probes arriving at the target per
        # second, first to last; the whole processes (start-up, imports and scapy's
        # fixed costs included) are reported beside it
        add("9. probe: SYN scan, wirecraft worst / scapy best, probes on the wire",
            vs(ours, scapy_scan, "wire_min", "wire_max"), 100)
        add("9. probe: SYN scan, wirecraft worst run / scapy best run (processes)",
            vs(ours, scapy_scan, worst, "rate_max"), None)
        add("9. probe: SYN scan, wirecraft worst / masscan best, probes on the wire",
            vs(ours, masscan, "wire_min", "wire_max"), 0.5)
        add("9. probe: SYN scan, wirecraft worst / masscan best, whole processes",
            vs(ours, masscan, worst, "rate_max"), None)
        add("9. probe: SYN scan, wirecraft worst / nmap best, whole processes",
            vs(ours, nmap, worst, "rate_max"), None)
        echo = next((v for k, v in pr.items() if k.startswith("wirecraft sr(Template)")), "")
        scapy_echo = pr.get("scapy sr() ICMP echo (2000, scaled)", "")
        add("9. probe: ICMP echo, wirecraft worst / scapy best, probes on the wire",
            vs(echo, scapy_echo, "wire_min", "wire_max"), 100)
        add("9. probe: ICMP echo, wirecraft worst run / scapy best run (processes)",
            vs(echo, scapy_echo, worst, "rate_max"), None)
    for name, rec in scs.items():
        if rec["group"] == "memory" and rec["status"] == "ok" and name.startswith("wirecraft"):
            add(f"8. memory: {name} peak RSS (MB, must stay under 200)",
                rec["summary"]["peak_rss_mb"], None, " MB")
    return out


# ---------------------------------------------------------------- machine and versions

def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text()
                          .splitlines() if ln.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 1024**2, 1),
            "kernel": platform.release(), "python": platform.python_version()}


def source_state() -> str:
    """The commit the run measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=REPO).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=REPO).stdout.split("\n")
    except OSError:
        return "?"
    changed = [ln for ln in dirty if ln.strip()]
    return head + (f" + {len(changed)} modified files" if changed else "")


def versions() -> dict:
    v: dict = {}
    code = ("import dpkt, scapy, numpy, importlib.metadata as md; "
            "print(dpkt.__version__, scapy.__version__, md.version('pypacker'), "
            "numpy.__version__)")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True)
    if r.returncode == 0:
        v["dpkt"], v["scapy"], v["pypacker"], v["numpy"] = r.stdout.split()
    for name, argv in (("tshark", ["tshark", "--version"]), ("tcpdump", ["tcpdump", "--version"]),
                       ("cc", ["cc", "--version"]), ("tcpreplay", ["tcpreplay", "-V"])):
        if shutil.which(argv[0]):
            r = subprocess.run(argv, capture_output=True, text=True)
            v[name] = ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]
    r = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True)
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("libpcap"):
            v["libpcap"] = line.strip()
    return v


def compile_c(name: str, libs: tuple[str, ...] = ()) -> Path | None:
    """Compile benchmarks/<name>.c into benchmarks/out/<name>; None (and why) if that fails."""
    OUT.mkdir(exist_ok=True)
    exe = OUT / name
    r = subprocess.run(["cc", "-O2", "-o", str(exe), str(HERE / f"{name}.c"), *libs],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{name}.c failed to compile:\n" + r.stderr, file=sys.stderr)
        return None
    return exe


# ---------------------------------------------------------------- memory scenario

def memory_scenarios(data: Path, manifest: dict, env: dict, c_ref: Path | None,
                     launcher: Path | None) -> list[Scenario]:
    """Stream a ~2 GB capture in per-packet and columnar modes; the file is removed after."""
    big = data / "big.pcap"
    t0 = time.perf_counter()
    info = generate.make_big(data / manifest["files"]["mixed"]["file"], big, 2 * 1024**3,
                             manifest["files"]["mixed"]["counts"])
    print(f"  (made {big.name}: {info['size'] / 1024**3:.2f} GiB, {info['loops']} loops, "
          f"{time.perf_counter() - t0:.1f}s)", flush=True)
    manifest["files"]["big"] = info
    sc = HERE / "scenarios"
    need = module_available("wirecraft.table", "Table")
    basic = expect(BASIC_KEYS)
    out = [
        Scenario("memory", "wirecraft per-packet over the 2 GB capture",
                 [PY, str(sc / "wc_packets.py"), str(big)], "big", basic, from_result,
                 requires=need, runs=1),
        Scenario("memory", "wirecraft batches() over the 2 GB capture",
                 [PY, str(sc / "wc_columnar.py"), str(big), "--mode", "batches"], "big", basic,
                 from_result, requires=need, runs=1),
        Scenario("memory", "C reference over the 2 GB capture", [str(c_ref), str(big)],
                 "big", basic, from_result, runs=1,
                 requires=lambda: None if c_ref else "the C reference did not compile"),
    ]
    try:
        for s in out:
            run_scenario(s, manifest, 1, env, launcher)
    finally:
        big.unlink(missing_ok=True)
    return out


# ---------------------------------------------------------------- report

def report_md(mode: str, command: str, mach: dict, vers: dict, scs: list[Scenario],
              manifest: dict, tgts: list, elapsed: float, source: str) -> str:
    lines = [f"## Run: {mode} mode, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Command: `{command}` (total {elapsed / 60:.1f} min); source: {source}", "",
             f"Machine: {mach['nproc']} cores, {mach['cpu']}, {mach['ram_gb']} GB RAM, "
             f"Linux {mach['kernel']}, Python {mach['python']}", "",
             "Peers: " + ", ".join(f"{k} {v}" for k, v in vers.items()), "", "Captures:", ""]
    for key, f in manifest["files"].items():
        c = f["counts"]
        lines.append(f"- `{key}`: {f['file']}, {c['packets']:,} frames, "
                     f"{f['size'] / 1e6:,.1f} MB")
    lines += ["", "| group | scenario | median work s | spread | runs | rate | whole-process s "
              "| peak RSS MB | status |", "|---|---|---|---|---|---|---|---|---|"]
    for sc in scs:
        s = summary(sc, manifest)
        if s is None:
            lines.append(f"| {sc.group} | {sc.name} | | | | | | | {sc.status}: "
                         f"{'; '.join(sc.problems)[:200]} |")
            continue
        rate = f"{human(s['rate'])} {sc.unit}/s" if "rate" in s else ""
        status = sc.status if sc.status == "ok" else f"{sc.status}: {'; '.join(sc.problems)[:200]}"
        if any(r.get("sender_bound") for r in sc.results):
            status += " (lower bound: no drops at the sender's top speed)"
        lines.append(f"| {sc.group} | {sc.name} | {s['work_median_s']:.3f} | "
                     f"±{s['spread_pct']:.1f}% | {s['runs']} | {rate} | "
                     f"{s['wall_median_s']:.3f} | {s['peak_rss_mb']:.1f} | {status} |")
    lines += ["", "| target | measured | target |", "|---|---|---|"]
    for desc, val, tgt in tgts:
        lines.append(f"| {desc} | {'n/a' if val is None else f'{val:.2f}'} | {tgt} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small captures, fewer runs (~2 min)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny captures, one run each: checks that every scenario works "
                    "(figures are not meaningful)")
    ap.add_argument("--wirecraft", choices=("auto", "installed", "source"), default="auto",
                    help="which wirecraft to measure (see the module docstring)")
    ap.add_argument("--runs", type=int, help="runs per scenario (default 3, quick 2)")
    ap.add_argument("--only", help="comma-separated groups: startup,columnar,per-packet,"
                    "filter,dns,smtp,flows,cli,craft,filetools,memory,inject,live,probe")
    ap.add_argument("--memory", action="store_true", help="the 2 GB memory scenario in quick "
                    "mode too (always on in full mode)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 2 GB memory scenario")
    ap.add_argument("--live", action="store_true",
                    help="injection on a veth pair between namespaces (needs root)")
    args = ap.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    runs = args.runs or (1 if args.smoke else 2 if args.quick else 3)
    only = set(args.only.split(",")) if args.only else None
    t_start = time.perf_counter()
    source = source_state()
    data = HERE / "data" / mode
    print(f"wirecraft benchmarks, {mode} mode, source {source}; captures in {data}", flush=True)
    t0 = time.perf_counter()
    manifest = generate.generate(data, mode, sizes=SMOKE_SIZES if mode == "smoke" else None)
    manifest["dir"] = str(data)
    print(f"captures ready in {time.perf_counter() - t0:.1f}s: " + ", ".join(
        f"{k} {v['counts']['packets']:,} frames" for k, v in manifest["files"].items()),
        flush=True)
    c_ref = compile_c("pcap_decode", ("-lpcap",))
    launcher = compile_c("rss_run")
    if args.live:
        compile_c("pcap_inject", ("-lpcap",))
    if launcher is None:
        print("peak RSS: no launcher, figures include the harness's own size", file=sys.stderr)
    env = dict(os.environ)
    # Python's default: cache compiled bytecode (a shell that switches it off would make
    # every scenario recompile the modules it imports, inflating start-up figures)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env, subject = wirecraft_env(args.wirecraft, env)
    PROBE_ENV.clear()
    PROBE_ENV.update(env)
    print(f"measuring {subject}", flush=True)
    scs = build_scenarios(mode, data, manifest, c_ref, args.live)
    if only:
        scs = [s for s in scs if s.group in only]
    group = None
    for s in scs:
        if s.group != group:
            group = s.group
            print(f"[{group}]", flush=True)
        run_scenario(s, manifest, runs, env, launcher)
    do_memory = (not args.no_memory and (mode == "full" or args.memory)
                 and (only is None or "memory" in only))
    if do_memory:
        print("[memory]", flush=True)
        scs += memory_scenarios(data, manifest, env, c_ref, launcher)
    by_name = {s.name: {"status": s.status, "group": s.group,
                        "summary": summary(s, manifest) or {}} for s in scs}
    tgts = targets(by_name)
    print("\nTargets (issue 3), ratios from this run"
          + (" (smoke mode: tiny captures, the figures mean nothing):" if mode == "smoke"
             else ":"))
    for desc, val, tgt in tgts:
        print(f"  {desc:<72} {'n/a' if val is None else f'{val:8.2f}':>8}   {tgt}")
    elapsed = time.perf_counter() - t_start
    failed = [s for s in scs if s.status in ("FAIL", "ERROR", "MISSING")]
    print(f"\n{len(scs)} scenarios, {len(failed)} failed, "
          f"{sum(s.status == 'n/a' for s in scs)} not available; {elapsed:.0f}s in all")
    for s in failed:
        print(f"  {s.status}: {s.group} / {s.name}: {'; '.join(s.problems)[:300]}")
    command = "./dev bench " + " ".join(sys.argv[1:])
    mach, vers = machine(), versions()
    OUT.mkdir(exist_ok=True)
    (OUT / f"results-{mode}.json").write_text(json.dumps({
        "command": command.strip(), "source": source, "machine": mach, "versions": vers,
        "scenarios": {s.name: {"group": s.group, "status": s.status, "problems": s.problems,
                               "runs": s.results, "summary": summary(s, manifest)}
                      for s in scs},
        "targets": tgts, "elapsed_s": elapsed}, indent=1))
    (OUT / f"results-{mode}.md").write_text(
        report_md(mode, command.strip(), mach, vers, scs, manifest, tgts, elapsed, source))
    print(f"results: {OUT / f'results-{mode}.json'} and .md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
