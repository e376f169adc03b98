"""Every input the fuzzers found a bug with, replayed through the same target functions.

The inputs live in tests/fuzz_regressions/<target>/ (one file each, named for what it
found); each runs through `TestOneInput` of tests/fuzz/fuzz_<target>.py, without atheris,
in a forked child with a time limit, so that an input that once hung fails here instead
of hanging the suite. An input whose bug is not fixed yet has a `<file>.xfail` beside it
giving the reason; it is expected to fail (strictly: once fixed, the test says so).
Each target's seed corpus is replayed too (a sample of it), so that a target that
stopped accepting its own seeds is caught without a fuzzing run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from reasm_support import run_guarded

FUZZ = Path(__file__).resolve().parent / "fuzz"
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
sys.path.insert(0, str(FUZZ))

from fuzzrun import TARGETS  # noqa: E402 - the targets' folder is put on sys.path first

# hangs are what the limit catches: under ASan everything runs several times slower
TIMEOUT = 120.0 if os.environ.get("WIRECRAFT_UNDER_ASAN") == "1" else 30.0
SEEDS_PER_TARGET = 40


def _cases() -> list:
    cases = []
    for target in TARGETS:
        folder = REGRESSIONS / target
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".xfail", ".md"):
                continue
            marks = []
            note = path.with_name(path.name + ".xfail")
            if note.exists():
                marks.append(pytest.mark.xfail(reason=note.read_text().strip(), strict=True,
                                               raises=AssertionError))
            cases.append(pytest.param(target, path, marks=marks, id=f"{target}/{path.name}"))
    return cases


def _replay(target: str, inputs: list[bytes]) -> int:
    import importlib

    module = importlib.import_module(f"fuzz_{target}")
    for data in inputs:
        module.TestOneInput(data)
    return len(inputs)


def test_every_target_has_a_folder() -> None:
    for target in TARGETS:
        assert (FUZZ / f"fuzz_{target}.py").is_file(), target
    unknown = {p.name for p in REGRESSIONS.iterdir() if p.is_dir()} - set(TARGETS)
    assert not unknown, f"regression folders for no target: {sorted(unknown)}"


@pytest.mark.parametrize(("target", "path"), _cases())
def test_regression_input(target: str, path: Path) -> None:
    data = path.read_bytes()
    assert run_guarded(lambda: _replay(target, [data]), timeout=TIMEOUT) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_target_accepts_its_seeds(target: str) -> None:
    def replay() -> int:
        import importlib

        seeds = importlib.import_module(f"fuzz_{target}").seeds()
        assert seeds, f"{target} has no seeds"
        step = max(1, len(seeds) // SEEDS_PER_TARGET)
        return _replay(target, seeds[::step])

    assert run_guarded(replay, timeout=TIMEOUT * 4) > 0


@pytest.mark.parametrize("ts_ns", [-1, (1 << 32) * 1_000_000_000 + 5])
def test_pcap_writer_refuses_a_time_it_cannot_store(ts_ns: int) -> None:
    """Found writing the writers target: PcapWriter stored seconds modulo 2**32, so a time
    before 1970 or after 2106 was written as another time, silently. It refuses them now
    (pcapng stores 64-bit times)."""
    import io

    from wirecraft.writers import PcapWriter

    with pytest.raises(ValueError, match="outside what pcap can hold"):
        PcapWriter(io.BytesIO(), nanosecond=True).write(b"\0" * 20, ts_ns)
    with pytest.raises(ValueError, match="outside what pcap can hold"):   # a Template batch
        PcapWriter(io.BytesIO(), nanosecond=True).write_frames(b"\0" * 40, 20, ts_ns)
    w = PcapWriter(io.BytesIO(), nanosecond=True)      # the last frame's time counts too
    with pytest.raises(ValueError, match="outside what pcap can hold"):
        w.write_frames(b"\0" * 40, 20, (1 << 32) * 1_000_000_000 - 1, 10)
