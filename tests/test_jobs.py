"""Many files in a pool of processes (`jobs=N`): wirecraft.flows(paths),
wirecraft.dns.transactions(paths) and `wirecraft logs --jobs N` give what one process
gives (each file on its own, results in the order of the paths), errors and warnings of
a file in a worker arrive as they would from this process, and the DNS table's C store
travels between processes whole (and refuses damaged parts)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import wirecraft
from wirecraft import dns
from wirecraft._pool import check_jobs, map_files, usable_cores
from wirecraft.errors import CaptureFileError, CaptureTruncatedWarning

from conftest import CAPTURES, WIRECRAFT_PATH

PATHS = sorted(str(p) for p in CAPTURES.glob("*.pcap*"))
CUT = str(CAPTURES / "dpkt__truncated_dns_2.pcap")      # last record header cut short


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureTruncatedWarning)
        return fn(*a, **kw)


def test_check_jobs() -> None:
    assert check_jobs(None) == 1 and check_jobs(1) == 1 and check_jobs(3) == 3
    assert check_jobs(0) == usable_cores() >= 1
    with pytest.raises(ValueError, match="at least 1"):
        check_jobs(-1)
    with pytest.raises(TypeError):
        check_jobs("2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check_jobs(True)
    with pytest.raises(ValueError):
        wirecraft.flows(PATHS[0], jobs=-2)


@pytest.mark.parametrize("jobs", [1, 2, 0])
def test_flows_over_many_files_are_each_files_flows_in_order(jobs: int) -> None:
    alone = [_quiet(wirecraft.flows, p) for p in PATHS]
    many = _quiet(wirecraft.flows, PATHS, jobs=jobs)
    rows = [r for t in alone for r in t]
    assert len(rows) > 100
    assert list(many) == rows
    for k in alone[0].stats:
        assert many.stats[k] == sum(t.stats[k] for t in alone), k
    assert many.to_arrow().num_rows == len(rows)


def test_flows_options_reach_the_workers() -> None:
    paths = [str(CAPTURES / "zeek__smtp.pcap"), str(CAPTURES / "zeek__wikipedia.pcap")]
    for kw in ({"where": "tcp.port == 25"}, {"filter": "udp"}, {"local_nets": "private"},
               {"udp_timeout": 0.5}):
        want = [r for p in paths for r in wirecraft.flows(p, **kw)]
        assert list(wirecraft.flows(paths, jobs=2, **kw)) == want, kw


@pytest.mark.parametrize("jobs", [1, 2])
def test_dns_transactions_over_many_files(jobs: int) -> None:
    alone = [_quiet(dns.transactions, p) for p in PATHS]
    many = _quiet(dns.transactions, PATHS, jobs=jobs)
    rows = [r for t in alone for r in t.to_dicts()]
    assert len(rows) > 50
    assert many.to_dicts() == rows           # uids included: linked in the workers
    assert many.answer_types() == [a for t in alone for a in t.answer_types()]
    assert many.to_arrow().num_rows == len(rows)
    for k in many.stats:
        assert many.stats[k] == sum(t.stats[k] for t in alone)
    assert [r["query"] for r in many[3:9]] == [r["query"] for r in rows[3:9]]


def test_dns_paths_refuse_a_linker() -> None:
    from wirecraft.conn import UidLinker

    with pytest.raises(ValueError, match="linker"):
        dns.transactions(PATHS[:2], linker=UidLinker())


def test_dns_store_pickles_whole_and_refuses_damage() -> None:
    t = dns.transactions(CAPTURES / "tcpdump__dnssec.pcap")
    assert len(t) and any(r["answers"] for r in t)
    back = pickle.loads(pickle.dumps(t))
    assert back.to_dicts() == t.to_dicts()
    assert back.answer_types() == t.answer_types()
    func, parts = t._store.__reduce__()
    n, rows, qtext, atext, aitems, pcodes, uids = parts
    assert uids is not None and len(uids) == n          # linked before it travels
    assert func(*parts).to_dicts() == t.to_dicts()
    damaged = [
        (n + 1, rows, qtext, atext, aitems, pcodes, uids),             # more rows than bytes
        (n, rows, qtext[:-1], atext, aitems, pcodes, uids),            # a query name past the end
        (n, rows, qtext, atext[:-1], aitems, pcodes, uids),            # an answer past the end
        (n, rows, qtext, atext, aitems[:-1], pcodes, uids),            # a cut answer item
        (n, rows, qtext, atext, aitems, pcodes, uids[:-1]),             # a uid short
        (n, rows, qtext, atext, aitems, pcodes, [1] * n),               # uids not text
    ]
    for bad in damaged:
        with pytest.raises(ValueError, match="damaged"):
            func(*bad)


def test_dns_problems_survive_the_trip() -> None:
    t = _quiet(dns.transactions, [CUT, str(CAPTURES / "tcpdump__dns-badlabel.pcap")], jobs=2)
    want = [r for p in (CUT, CAPTURES / "tcpdump__dns-badlabel.pcap")
            for r in _quiet(dns.transactions, p).to_dicts()]
    assert t.to_dicts() == want
    assert any(r["problems"] for r in want)


def test_a_files_error_is_raised_whole(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\x00not a capture at all" * 4)
    for fn in (wirecraft.flows, dns.transactions):
        with pytest.raises(CaptureFileError) as e:
            fn([PATHS[0], str(bad), PATHS[1]], jobs=2)
        assert e.value.path == str(bad) and e.value.offset == 0
        assert "not a pcap" in e.value.reason


def test_a_files_warnings_arrive_here() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wirecraft.flows([PATHS[0], CUT], jobs=2)
    cut = [w for w in caught if issubclass(w.category, CaptureTruncatedWarning)]
    assert cut and CUT in str(cut[0].message)


def _boom(path: str) -> str:
    import os

    if path == "die":
        os._exit(3)
    return path.upper()


def test_map_files_keeps_order_and_reports_a_dead_worker() -> None:
    done: list[int] = []
    assert map_files(_boom, ["a", "b", "c", "d"], 2, on_done=lambda: done.append(1)) == [
        "A", "B", "C", "D"]
    assert len(done) == 4
    with pytest.raises(RuntimeError, match="worker process"):
        map_files(_boom, ["a", "die", "c"], 2)


def test_a_script_without_a_main_guard_can_use_jobs(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("import wirecraft\n"
                      f"t = wirecraft.flows({PATHS[:4]!r}, jobs=2)\n"
                      "print(len(t))\n")
    r = subprocess.run([sys.executable, "-W", "ignore", str(script)], capture_output=True,
                       text=True, env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"},
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == sum(len(_quiet(wirecraft.flows, p)) for p in PATHS[:4])


def _logs(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft", "logs", *args, "-o",
                           str(tmp_path / name)], capture_output=True, text=True,
                          env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"},
                          stdin=subprocess.DEVNULL, timeout=300)


def test_logs_jobs_writes_the_same_logs(tmp_path: Path) -> None:
    one = _logs(tmp_path, "one", *PATHS, "--format", "json")
    two = _logs(tmp_path, "two", *PATHS, "--format", "json", "-j", "2")
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    assert one.stdout.replace("/one/", "/two/") == two.stdout
    assert one.stderr == two.stderr                   # the cut capture's warning, once
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        a = (tmp_path / "one" / name).read_bytes()
        assert a == (tmp_path / "two" / name).read_bytes(), name
    assert sum(1 for _ in (tmp_path / "one" / "conn.json").open()) > 100


def test_logs_jobs_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"garbage" * 10)
    for args in (["-j", "2"], []):
        r = _logs(tmp_path, "x", PATHS[0], str(bad), *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.strip().splitlines() == [
            f"wirecraft: {bad}: at byte 0: not a pcap or pcapng file (magic 0x62726167)"]
    r = _logs(tmp_path, "y", PATHS[0], "-j", "-1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
