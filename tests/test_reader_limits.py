"""Bounded memory for pcapng metadata (issue 11, item 7) and interface numbering (item 12).

Interface descriptions, section comments, names and packet comments come from the file,
so a small (gzip) file could otherwise grow them without bound.  The caps are in
`_core.READER_LIMITS`; whatever they drop is counted in `Capture.limits_hit`, warned about
with CaptureLimitWarning, and packets whose interface was dropped are delivered with the
`interface_dropped` problem.  Memory is measured in a subprocess (VmHWM).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import warnings

import pytest

import wirecraft
from wirecraft import _core
from wirecraft.capture import CaptureLimitWarning

from pcapbuild import block, end_options, epb, idb, option, shb, udp_frame

LIMITS = _core.READER_LIMITS
MAX_IF = LIMITS["interfaces"]

PROBE = r"""
import json, sys, warnings
import wirecraft
out = {"packets": 0, "problems": [], "ifaces": [], "linktypes": []}
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    with wirecraft.open(sys.argv[1]) as cap:
        for pkt in cap:
            out["packets"] += 1
            out["problems"].append(pkt.problems)
            i = pkt.interface
            out["ifaces"].append(None if i is None else i["name"])
            out["linktypes"].append(pkt.linktype)
        out["limits_hit"] = cap.limits_hit
        out["interfaces"] = len(cap.interfaces)
        out["comments"] = len(cap.comments)
        out["comment_bytes"] = sum(len(c) for c in cap.comments)
out["warnings"] = [w.category.__name__ + ": " + str(w.message) for w in w]
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        out["hwm_kb"] = int(line.split()[1])
print(json.dumps(out))
"""


def probe(path) -> dict:
    """Read `path` in a fresh interpreter limited to 1.5 GB of address space."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    res = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                         text=True, env=env, preexec_fn=limit, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def baseline_kb(tmp_path_factory) -> int:
    p = tmp_path_factory.mktemp("base") / "small.pcapng.gz"
    p.write_bytes(gzip.compress(shb() + idb(1) + epb(0, 1, udp_frame())))
    return probe(p)["hwm_kb"]


def write_gz(tmp_path, name: str, data: bytes):
    p = tmp_path / name
    p.write_bytes(gzip.compress(data, compresslevel=1))
    return p


@pytest.mark.slow
def test_interface_flood_in_one_section(tmp_path, baseline_kb) -> None:
    n = 3_000_000
    data = (shb() + idb(1, name="if-kept") + idb(1) * (MAX_IF - 1) + idb(101) * (n - MAX_IF)
            + epb(0, 1, udp_frame()) + epb(MAX_IF - 1, 2, udp_frame())
            + epb(MAX_IF, 3, udp_frame()) + epb(n - 1, 4, udp_frame()))
    out = probe(write_gz(tmp_path, "idb.pcapng.gz", data))
    assert out["packets"] == 4 and out["interfaces"] == MAX_IF
    assert out["ifaces"][0] == "if-kept" and out["linktypes"][:2] == [1, 1]
    # packets on a dropped interface: delivered, flagged, with no interface and link type
    assert out["problems"][2] == ["interface_dropped"] == out["problems"][3]
    assert out["ifaces"][2:] == [None, None] and out["linktypes"][2:] == [0xFFFF, 0xFFFF]
    assert out["limits_hit"]["interfaces"] == n - MAX_IF
    assert out["limits_hit"]["packets_with_dropped_interface"] == 2
    assert any(w.startswith("CaptureLimitWarning") for w in out["warnings"])
    assert out["hwm_kb"] - baseline_kb < 200_000, out["hwm_kb"]


@pytest.mark.slow
def test_interface_flood_over_many_sections(tmp_path, baseline_kb) -> None:
    """Each section may define few interfaces, but the total is capped too, so every kept
    interface has a 16-bit number and `pkt.interface` is always the right one."""
    sections = 300_000
    data = b"".join([shb() + idb(1) * 9 + idb(1, name="s") + epb(9, 1, udp_frame())] * sections)
    out = probe(write_gz(tmp_path, "sections.pcapng.gz", data))
    assert out["packets"] == sections and out["interfaces"] == MAX_IF
    kept = MAX_IF // 10          # sections whose 10th interface is still listed
    assert out["ifaces"][:kept] == ["s"] * kept
    assert set(out["ifaces"][kept + 1:]) == {None}
    assert out["problems"][0] == [] and out["problems"][-1] == ["interface_dropped"]
    assert set(out["linktypes"]) == {1}      # decoding still knows the link type
    assert out["limits_hit"]["interface_info"] == sections * 10 - MAX_IF
    assert out["hwm_kb"] - baseline_kb < 250_000, out["hwm_kb"]


@pytest.mark.slow
def test_section_comment_floods(tmp_path, baseline_kb) -> None:
    big = shb(comment="x" * 60000)
    # one section header of ~16 MB holding 4 million empty comments
    empties = option(1, b"") * 4_000_000 + end_options()
    tiny = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + empties)
    data = big * 1000 + tiny * 2 + shb() + idb(1) + epb(0, 1, udp_frame())
    out = probe(write_gz(tmp_path, "comments.pcapng.gz", data))
    assert out["packets"] == 1
    assert out["comments"] <= LIMITS["comments"]
    assert out["comment_bytes"] <= LIMITS["kept_bytes"]
    hit = out["limits_hit"]
    assert hit["comments"] == 1000 + 8_000_000 - out["comments"]
    assert hit["kept_bytes"] >= (1000 - LIMITS["kept_bytes"] // 60000) * 60000
    assert out["hwm_kb"] - baseline_kb < 200_000, out["hwm_kb"]


def test_packet_comments_are_capped(tmp_path) -> None:
    n = 5000
    opts = b"".join(option(1, f"c{i}".encode()) for i in range(n)) + end_options()
    frame = udp_frame(b"hi")
    body = (struct.pack("<IIIII", 0, 0, 1, len(frame), len(frame)) + frame
            + b"\0" * (-len(frame) % 4) + opts)
    p = tmp_path / "pc.pcapng"
    p.write_bytes(shb() + idb(1) + block(6, body) + epb(0, 2, frame, comment="plain"))
    with pytest.warns(CaptureLimitWarning, match="packet_comments"), wirecraft.open(p) as cap:
        a, b = list(cap)
        hit = cap.limits_hit
    keep = LIMITS["packet_comments"]
    assert a.comment.split("\n") == [f"c{i}" for i in range(keep)]
    assert b.comment == "plain" and b.payload == b"hi"
    assert hit == {"packet_comments": n - keep}


def test_names_and_descriptions_count_against_kept_bytes(tmp_path) -> None:
    name = "n" * 60000
    k = LIMITS["kept_bytes"] // 60000 + 5
    data = shb() + idb(1, name=name) * k + epb(k - 1, 1, udp_frame())
    p = tmp_path / "names.pcapng"
    p.write_bytes(data)
    with pytest.warns(CaptureLimitWarning), wirecraft.open(p) as cap:
        (pkt,) = list(cap)
        assert cap.limits_hit["kept_bytes"] == 5 * 60000
        names = [i["name"] for i in cap.interfaces]
    assert names[: k - 5] == [name] * (k - 5) and names[k - 5:] == [None] * 5
    assert pkt.interface["linktype"] == 1 and pkt.problems == []


def test_interface_numbers_past_65536_in_one_section(tmp_path) -> None:
    """Old reader: more than 65536 interfaces was an error, and rec_t.iface wrapped."""
    n = 70_000
    data = (shb() + b"".join(idb(1 + (i % 3), name=f"if{i}") for i in range(n))
            + epb(65534, 1, udp_frame()) + epb(65535, 2, udp_frame()) + epb(n - 1, 3, udp_frame()))
    p = tmp_path / "many.pcapng"
    p.write_bytes(data)
    with pytest.warns(CaptureLimitWarning), wirecraft.open(p) as cap:
        a, b, c = list(cap)
    assert a.interface["name"] == "if65534" and a.linktype == 1 + 65534 % 3
    assert a.problems == []
    for pkt in (b, c):
        assert pkt.interface is None and pkt.problems == ["interface_dropped"]
        assert pkt.iface == _core.IFACE_NONE


def test_clean_multi_interface_files_hit_no_limit(captures_dir) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with wirecraft.open(captures_dir / "zeek__pcapng-multi-interface.pcapng") as cap:
            n = sum(1 for _ in cap)
            assert cap.limits_hit == {} and n > 0
