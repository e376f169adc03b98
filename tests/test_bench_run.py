"""The benchmark harness measures wirecraft or fails: it never reports the peers alone.

`./dev bench` once put `src/` on PYTHONPATH, which shadowed the installed package; a fresh
clone has no in-place build, so every wirecraft scenario was "not available" and the run
still exited 0. Here: the harness stops with exit 2 when no wirecraft imports with its
extensions, an unavailable wirecraft scenario is a failure, and a smoke run over tiny
captures (the CI guard) measures the same wirecraft the tests import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, WIRECRAFT_PATH

BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import run  # noqa: E402


def _fake_wirecraft(root: Path) -> Path:
    """A `wirecraft` package without its compiled extensions (a source tree never built)."""
    pkg = root / "wirecraft"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("__version__ = '0.0.0'\n")
    return root


def test_no_wirecraft_to_measure_stops_with_exit_2(tmp_path: Path) -> None:
    fake = _fake_wirecraft(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(fake))
    r = subprocess.run([sys.executable, str(BENCH / "run.py"), "--smoke", "--only", "craft",
                        "--wirecraft", "installed"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no wirecraft to measure" in r.stderr and "_core" in r.stderr
    assert "[craft]" not in r.stdout  # stopped before running any scenario


def _choice() -> str:
    """How the harness must be told to measure the wirecraft these tests import."""
    return "source" if Path(WIRECRAFT_PATH).resolve() == run.SRC.resolve() else "installed"


def test_wirecraft_env_names_what_it_measures(tmp_path: Path) -> None:
    env, desc = run.wirecraft_env(_choice(), dict(os.environ, PYTHONPATH=WIRECRAFT_PATH))
    assert desc.startswith("wirecraft ") and str(Path(WIRECRAFT_PATH) / "wirecraft") in desc
    # "installed" drops src/ from the path, whatever the caller's PYTHONPATH says
    base = dict(os.environ, PYTHONPATH=os.pathsep.join([str(run.SRC), str(tmp_path)]))
    with pytest.raises(SystemExit):
        run.wirecraft_env("installed", dict(base, PYTHONPATH=os.pathsep.join(
            [str(run.SRC), str(_fake_wirecraft(tmp_path))])))
    assert str(run.SRC) not in run._without_src(base["PYTHONPATH"]).split(os.pathsep)


def test_unavailable_wirecraft_scenario_is_a_failure() -> None:
    subject = run.Scenario("craft", "wirecraft layers", ["true"], None, lambda r, m: [],
                           requires=lambda: "wirecraft.craft not importable")
    peer = run.Scenario("craft", "dpkt craft", ["true"], None, lambda r, m: [],
                        requires=lambda: "dpkt is not installed")
    manifest: dict = {"files": {}, "dir": "."}
    for sc in (subject, peer):
        run.run_scenario(sc, manifest, 1, dict(os.environ), None)
    assert subject.status == "MISSING" and peer.status == "n/a"


def test_limit_past_the_end_of_a_small_file_checks_the_whole_file() -> None:
    fm = {"counts": {"packets": 100, "dns_messages": 40}, "prefix": {}}
    check = run.expect(("dns_messages",), prefix=5000)
    assert check({"counts": {"dns_messages": 40}}, fm) == []
    assert check({"counts": {"dns_messages": 39}}, fm)


@pytest.mark.slow
def test_bench_smoke_measures_wirecraft() -> None:
    """The CI guard: `benchmarks/run.py --smoke --only columnar,dns,craft` exits 0 and every
    wirecraft scenario of those groups ran and passed its manifest check."""
    choice = _choice()
    env = dict(os.environ, PYTHONPATH=WIRECRAFT_PATH)
    r = subprocess.run([sys.executable, str(BENCH / "run.py"), "--smoke", "--only",
                        "columnar,dns,craft", "--wirecraft", choice], capture_output=True,
                       text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"({choice}: {Path(WIRECRAFT_PATH) / 'wirecraft'})" in r.stdout
    results = json.loads((BENCH / "out" / "results-smoke.json").read_text())
    mine = {name: sc for name, sc in results["scenarios"].items() if "wirecraft" in name}
    assert {sc["group"] for sc in mine.values()} == {"columnar", "dns", "craft"}
    assert all(sc["status"] == "ok" for sc in mine.values()), mine
