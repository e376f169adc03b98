"""wirecraft merge against mergecap on the sample captures: the same frames in the same
order with the same timestamps (read back by wirecraft and by tshark), the same
interfaces as `mergecap -I none`, -a concatenation, pcap output, and flat memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import wirecraft
from wirecraft.filetools import merge
from wirecraft.writers import PcapngWriter, PcapWriter

from conftest import require_tool

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
ENV = {**os.environ, "PYTHONPATH": str(Path(wirecraft.__file__).resolve().parent.parent)}

# sets of inputs: several link types, a pcapng with two interfaces, a nanosecond pcap,
# and two captures whose times interleave
SETS = {
    "mixed": ["zeek__smtp.pcap", "zeek__pcapng-multi-interface.pcapng",
              "zeek__linux_dlt_sll2.pcap", "zeek__smtp-multi-addr.pcap"],
    "nano": ["tcpdump__tcp-handshake-nano.pcap", "zeek__tls__irc-starttls.pcap"],
    "dns": ["tcpdump__dnssec.pcap", "tcpdump__edns-opts.pcap", "zeek__dns-txt-multiple.pcap",
            "gopacket__test_dns.pcap"],
}
# one link type (Ethernet) each, for pcap output
PCAP_SETS = {
    "ether": ["zeek__smtp.pcap", "zeek__smtp-multi-addr.pcap", "zeek__http-vlan-0.pcap"],
    "dns": SETS["dns"],
}


def _frames(path: Path) -> list[tuple[int, int, int, bytes]]:
    return [(p.time_ns, p.wire_len, p.linktype, bytes(p.data)) for p in wirecraft.open(path)]


def _interfaces(path: Path) -> list[tuple[int, int, str | None]]:
    cap = wirecraft.open(path)
    list(cap)
    return [(d["linktype"], d["snaplen"], d["name"]) for d in cap.interfaces]


def _tshark_times(path: Path) -> str:
    return subprocess.run([require_tool("tshark"), "-r", str(path), "-T", "fields", "-e",
                           "frame.time_epoch", "-e", "frame.len"], check=True,
                          capture_output=True, text=True).stdout


def _mergecap(out: Path, *args: str | Path) -> None:
    subprocess.run([require_tool("mergecap"), "-w", str(out), *map(str, args)], check=True,
                   capture_output=True)


@pytest.mark.parametrize("name", sorted(SETS))
def test_merge_matches_mergecap(tmp_path: Path, name: str) -> None:
    srcs = [CAPTURES / n for n in SETS[name]]
    ours, theirs = tmp_path / "ours.pcapng", tmp_path / "theirs.pcapng"
    counts = merge(srcs, ours)
    _mergecap(theirs, "-I", "none", *srcs)
    got, want = _frames(ours), _frames(theirs)
    assert got == want
    assert counts["frames_written"] == len(want) == sum(i["frames_read"]
                                                        for i in counts["inputs"])
    assert _tshark_times(ours) == _tshark_times(theirs)
    assert wirecraft.open(ours).format == "pcapng"
    # one interface per (input, interface), in the inputs' order, as mergecap -I none
    assert _interfaces(ours) == _interfaces(theirs)


@pytest.mark.parametrize("name", sorted(SETS))
def test_concatenate_matches_mergecap_a(tmp_path: Path, name: str) -> None:
    srcs = [CAPTURES / n for n in SETS[name]]
    ours, theirs = tmp_path / "ours.pcapng", tmp_path / "theirs.pcapng"
    merge(srcs, ours, concatenate=True)
    _mergecap(theirs, "-a", "-I", "none", *srcs)
    assert _frames(ours) == _frames(theirs)
    assert _tshark_times(ours) == _tshark_times(theirs)
    assert _interfaces(ours) == _interfaces(theirs)


@pytest.mark.parametrize("name", sorted(PCAP_SETS))
def test_pcap_output_matches_mergecap_f_pcap(tmp_path: Path, name: str) -> None:
    srcs = [CAPTURES / n for n in PCAP_SETS[name]]
    ours, theirs = tmp_path / "ours.pcap", tmp_path / "theirs.pcap"
    merge(srcs, ours, pcapng=False)
    _mergecap(theirs, "-F", "pcap", *srcs)
    assert _frames(ours) == _frames(theirs)
    assert _tshark_times(ours) == _tshark_times(theirs)
    assert wirecraft.open(ours).format == "pcap"


def _write(path: Path, frames: list[tuple[int, bytes]], pcapng: bool = False) -> Path:
    w = PcapngWriter(path) if pcapng else PcapWriter(path, linktype=1, nanosecond=True)
    with w:
        for t, data in frames:
            w.write(data, t)
    return path


def _frame(tag: int, n: int) -> bytes:
    return bytes([tag]) * 12 + b"\x88\xb5" + n.to_bytes(4, "big") + bytes(46)


def test_equal_times_keep_input_order_and_unsorted_inputs(tmp_path: Path) -> None:
    """Ties go to the earlier input (a stable merge), frame order within an input is
    kept, and an input whose times go backwards is merged as mergecap merges it (the
    next frame of each input competes). mergecap 4.0 gives ties to the later input
    instead: its times and frames are the same, only equal-time runs are reordered."""
    t = 1_700_000_000_000_000_000
    a = _write(tmp_path / "a.pcap", [(t, _frame(1, 0)), (t, _frame(1, 1)),
                                     (t + 5000, _frame(1, 2)), (t + 1000, _frame(1, 3))])
    b = _write(tmp_path / "b.pcapng", [(t, _frame(2, 0)), (t + 1000, _frame(2, 1)),
                                       (t + 1000, _frame(2, 2)), (t + 9000, _frame(2, 3))],
               pcapng=True)
    c = _write(tmp_path / "c.pcap", [(t - 1000, _frame(3, 0)), (t, _frame(3, 1))])
    ours, theirs = tmp_path / "ours.pcapng", tmp_path / "theirs.pcapng"
    merge([a, b, c], ours)
    _mergecap(theirs, "-I", "none", a, b, c)
    got, want = _frames(ours), _frames(theirs)
    assert [f[0] for f in got] == [f[0] for f in want]
    assert sorted(got) == sorted(want)
    assert [(d[0], d[17]) for *_, d in want] == [
        (3, 0), (3, 1), (2, 0), (1, 0), (1, 1), (2, 1), (2, 2), (1, 2), (1, 3), (2, 3)]
    assert [(d[0], d[17]) for *_, d in got] == [
        (3, 0), (1, 0), (1, 1), (2, 0), (3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (2, 3)]


def test_empty_input_and_errors(tmp_path: Path) -> None:
    empty = _write(tmp_path / "empty.pcap", [])
    out = tmp_path / "out.pcapng"
    counts = merge([empty, CAPTURES / "zeek__smtp.pcap"], out)
    assert counts["frames_written"] == 125 == len(_frames(out))
    with pytest.raises(ValueError, match="one link type"):
        merge([CAPTURES / "zeek__smtp.pcap", CAPTURES / "zeek__linux_dlt_sll2.pcap"],
              tmp_path / "x.pcap", pcapng=False)
    with pytest.raises(ValueError, match="at least one"):
        merge([], out)


def test_memory_stays_flat(tmp_path: Path) -> None:
    """The merge holds one pending batch per input: its peak Python allocation does not
    grow with the number of frames (20 000 and 80 000 frames of 600 bytes)."""
    peaks = []
    for n in (20_000, 80_000):
        srcs = []
        for k in range(2):
            path = tmp_path / f"in{n}_{k}.pcap"
            with PcapWriter(path, linktype=1, nanosecond=True) as w:
                body = _frame(k + 1, 0) + bytes(540)
                for i in range(n):
                    w.write(body, 1_700_000_000_000_000_000 + 2 * i + k)
            srcs.append(path)
        tracemalloc.start()
        try:
            counts = merge(srcs, tmp_path / f"out{n}.pcapng")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert counts["frames_written"] == 2 * n
        assert (tmp_path / f"out{n}.pcapng").stat().st_size > 2 * n * 600
    small, large = peaks
    # a fixed ~10 MB (read chunks, a 1024-frame batch per input, the 1 MB write buffer and
    # the block being joined), for 96 MB of frames in
    assert large < 16 << 20, peaks
    assert large < 1.5 * small + (256 << 10), peaks


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                          text=True, env=ENV, timeout=60)


def test_cli_merge_and_errors(tmp_path: Path) -> None:
    a, b = CAPTURES / "zeek__smtp.pcap", CAPTURES / "zeek__smtp-multi-addr.pcap"
    r = _cli("merge", "-o", str(tmp_path / "m.pcapng"), str(a), str(b))
    assert r.returncode == 0 and "146 frames from 2 files" in r.stderr, r.stderr
    r = _cli("merge", "-F", "pcap", "-a", "-o", str(tmp_path / "m.pcap"), str(b), str(a))
    assert r.returncode == 0, r.stderr
    assert _frames(tmp_path / "m.pcap") == _frames(b) + _frames(a)
    for bad in (["merge", "--pcap", "-o", str(tmp_path / "x"), str(a),
                 str(CAPTURES / "zeek__linux_dlt_sll2.pcap")],
                ["merge", "-o", str(tmp_path / "x"), str(a), str(tmp_path / "missing.pcap")],
                ["merge", "-o", str(tmp_path / "x"), str(Path(__file__))],
                ["merge", "-o", str(tmp_path / "x")]):
        r = _cli(*bad)
        assert r.returncode == 2, (bad, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wirecraft"), (bad, r.stderr)


# ---- the batch copy path (convert, slice and shift without a display filter) -----------

ALL = sorted(p.name for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("pcapng", [True, False])
def test_batch_copy_is_byte_identical_to_frame_by_frame(tmp_path: Path, name: str,
                                                        pcapng: bool) -> None:
    """The copy that assembles whole batches with numpy writes the very bytes the
    frame-by-frame writer does (forced here by a `keep` that keeps everything)."""
    import warnings

    from wirecraft.filetools import _copy

    src = CAPTURES / name
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for out, keep in ((fast, None), (slow, lambda n, pkt: True)):
            try:
                results.append(_copy(src, out, pcapng=pcapng, nanosecond=True, keep=keep,
                                     shift_ns=-1500))
            except ValueError as exc:       # pcap and several link types: both refuse
                results.append(str(exc))
    assert results[0] == results[1] or (isinstance(results[0], str) and
                                        results[0].split(":")[0] == results[1].split(":")[0])
    if isinstance(results[0], dict):
        if name == "zeek__pcapng-multi-interface.pcapng" and pcapng:
            # a batch declares all its interfaces before its first frame, the frame by
            # frame copy each one before the first frame on it: the same file otherwise
            assert _frames(fast) == _frames(slow)
            assert _interfaces(fast) == _interfaces(slow)
        else:
            assert fast.read_bytes() == slow.read_bytes()


def test_batch_copy_falls_back_for_comments_and_times(tmp_path: Path) -> None:
    from wirecraft.filetools import convert, shift

    src = tmp_path / "c.pcapng"
    with PcapngWriter(src) as w:
        for i in range(5):
            w.write(_frame(1, i), 1_700_000_000_000_000_000 + i, comment=f"n{i}" if i % 2 else None)
    out = tmp_path / "o.pcapng"
    convert(src, out)
    assert [p.comment for p in wirecraft.open(out)] == [None, "n1", None, "n3", None]
    assert _frames(out) == _frames(src)
    with pytest.raises(ValueError, match="outside what pcap can hold"):
        shift(CAPTURES / "zeek__smtp.pcap", tmp_path / "early.pcap", "-2000000000")


@pytest.mark.parametrize("seed", range(6))
def test_merge_order_equals_comparing_next_frames(tmp_path: Path, seed: int) -> None:
    """Random inputs (many equal times, some going backwards, batches of 7 frames so runs
    cross batch ends) come out in the order that comparing each input's next frame
    gives, the earlier input first on a tie, whatever path the merge takes."""
    import random

    rng = random.Random(seed)
    inputs = []
    for k in range(rng.randint(2, 4)):
        t, frames = 1_700_000_000_000_000_000, []
        for i in range(rng.randint(0, 60)):
            t += rng.choice([0, 0, 1000, 2000, 5000] + ([-3000] if seed % 2 else []))
            frames.append((t, _frame(k + 1, i)))
        inputs.append(_write(tmp_path / f"in{k}.pcap", frames))
    # the reference: compare the next frame of every input, one frame at a time
    queues = [[(p.time_ns, bytes(p.data)) for p in wirecraft.open(path)] for path in inputs]
    want, heads = [], [0] * len(queues)
    while any(h < len(q) for h, q in zip(heads, queues, strict=True)):
        k = min((i for i, q in enumerate(queues) if heads[i] < len(q)),
                key=lambda i: (queues[i][heads[i]][0], i))
        want.append(queues[k][heads[k]])
        heads[k] += 1
    for pcapng in (True, False):
        out = tmp_path / f"out-{pcapng}"
        merge(inputs, out, pcapng=pcapng, batch_size=7)
        assert [(t, d) for t, _, _, d in _frames(out)] == want
