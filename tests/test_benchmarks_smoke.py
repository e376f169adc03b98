"""The benchmark harness's own ground truth: the generator's manifest agrees with dpkt,
tshark and the C libpcap reference on a small capture, so a benchmark that checks its
counts against the manifest checks them against the truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, require_tool

BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import run  # noqa: E402

BASIC = run.BASIC_KEYS
SIZES = {"mixed_frames": 4000, "dns_transactions": 600, "smtp_sessions": 25}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench")
    manifest = generate.generate(out, "quick", seed=7, sizes=SIZES)
    return out, manifest


def peer(script: str, path: Path, *extra: str) -> dict:
    r = subprocess.run([sys.executable, str(BENCH / "peers" / script), str(path), *extra],
                       capture_output=True, text=True, timeout=120, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_manifest_is_sane(small: tuple[Path, dict]) -> None:
    out, m = small
    mixed = m["files"]["mixed"]["counts"]
    assert mixed["packets"] >= SIZES["mixed_frames"]
    for key in ("vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "tcp_port_25",
                "dns_messages", "smtp_sessions", "dns_transactions"):
        assert mixed[key] > 0, key
    assert mixed["ipv4"] + mixed["ipv6"] + mixed["arp"] == mixed["packets"]
    assert mixed["dns_messages"] == 2 * mixed["dns_transactions"]
    assert m["files"]["smtp"]["counts"]["smtp_sessions"] == SIZES["smtp_sessions"]
    # a second call reuses the files instead of writing them again
    again = generate.generate(out, "quick", seed=7, sizes=SIZES)
    assert again["files"] == m["files"]


def test_dpkt_counts_agree(small: tuple[Path, dict]) -> None:
    out, m = small
    got = peer("dpkt_packets.py", out / "mixed.pcap")["counts"]
    want = m["files"]["mixed"]["counts"]
    assert {k: got.get(k, 0) for k in BASIC} == {k: want[k] for k in BASIC}


def test_dpkt_dns_agrees(small: tuple[Path, dict]) -> None:
    out, m = small
    got = peer("dpkt_dns.py", out / "dns.pcap")["counts"]
    want = m["files"]["dns"]["counts"]
    for key in ("dns_messages", "dns_transactions", "dns_answers"):
        assert got[key] == want[key], key


def test_tshark_counts_agree(small: tuple[Path, dict]) -> None:
    require_tool("tshark")
    out, m = small
    fields = out / "fields.txt"
    with open(fields, "wb") as f:
        subprocess.run(["tshark", "-n", "-r", str(out / "mixed.pcap"), "-T", "fields",
                        "-e", "frame.protocols", "-e", "tcp.srcport", "-e", "tcp.dstport"],
                       stdout=f, stderr=subprocess.DEVNULL, check=True, timeout=120)
    got = run.tshark_protocols(fields)["counts"]
    want = m["files"]["mixed"]["counts"]
    assert {k: got.get(k, 0) for k in BASIC} == {k: want[k] for k in BASIC}
    # tshark's imf dissector shows every message the generator sent, except those it is known
    # to miss (end of data split after the dot, counted by the generator)
    r = subprocess.run(["tshark", "-n", "-r", str(out / "smtp.pcap"), "-Y", "imf", "-T",
                        "fields", "-e", "frame.number"], capture_output=True, text=True,
                       check=True, timeout=120)
    assert len(r.stdout.splitlines()) == run.tshark_imf_expected(m["files"]["smtp"]["counts"])


def test_checksums_valid_per_tshark(small: tuple[Path, dict]) -> None:
    require_tool("tshark")
    out, _ = small
    r = subprocess.run(
        ["tshark", "-n", "-r", str(out / "mixed.pcap"), "-o", "ip.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y",
         "ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0"
         " || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed",
         "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, check=True, timeout=120)
    assert r.stdout.split() == []


def test_c_reference_compiles_and_agrees(small: tuple[Path, dict]) -> None:
    require_tool("cc")
    require_tool("pcap-config")  # libpcap-dev: headers and the library to link
    out, m = small
    exe = out / "pcap_decode"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", str(exe),
                    str(BENCH / "pcap_decode.c"), "-lpcap"], check=True, timeout=120)
    res = json.loads(subprocess.run([str(exe), str(out / "mixed.pcap")], capture_output=True,
                                    text=True, check=True).stdout)
    want = m["files"]["mixed"]["counts"]
    assert {k: res["counts"][k] for k in BASIC} == {k: want[k] for k in BASIC}
    assert res["counts"]["bytes"] == want["bytes"]
    filtered = json.loads(subprocess.run([str(exe), str(out / "mixed.pcap"), "tcp port 25"],
                                         capture_output=True, text=True, check=True).stdout)
    assert filtered["packets"] == want["bpf_tcp_port_25"]


def test_count_checks_fail_on_wrong_answers(small: tuple[Path, dict]) -> None:
    _, m = small
    fm = m["files"]["mixed"]
    right = {"counts": {k: fm["counts"][k] for k in BASIC}}
    check = run.expect(BASIC)
    assert check(right, fm) == []
    wrong = {"counts": dict(right["counts"], tcp=right["counts"]["tcp"] - 1)}
    assert check(wrong, fm) and "tcp" in check(wrong, fm)[0]
