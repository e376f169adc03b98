"""Checks that the AddressSanitizer pass of `./dev test` is real.

`./dev test` runs the decoder, reader, DNS and fuzz tests a second time against
extensions built with -fsanitize=address (build/asan/), with libasan preloaded,
PYTHONMALLOC=malloc and WIRECRAFT_UNDER_ASAN=1. These tests only mean something
there, so they skip elsewhere: that the imported extensions carry ASan's checks,
and that an out-of-bounds read next to a small bytes object (a 60-byte frame,
which pymalloc would otherwise hide in its arenas) aborts the process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

UNDER_ASAN = os.environ.get("WIRECRAFT_UNDER_ASAN") == "1"
pytestmark = pytest.mark.skipif(not UNDER_ASAN, reason="runs in ./dev test's ASan pass only")

MODULES = ("_core", "_dns", "_reassembly", "_craft", "_fastobj")


@pytest.mark.parametrize("name", MODULES)
def test_extensions_are_instrumented(name: str) -> None:
    import importlib

    mod = importlib.import_module(f"wirecraft.{name}")
    data = Path(mod.__file__).read_bytes()
    assert b"__asan_report_load" in data, f"{mod.__file__} was not built with ASan"


def test_environment_hides_no_small_object_overflow() -> None:
    assert os.environ.get("PYTHONMALLOC") == "malloc"
    assert "libasan" in os.environ.get("LD_PRELOAD", "")
    assert "abort_on_error=1" in os.environ.get("ASAN_OPTIONS", "")


# a read 16 bytes past the end of a 60-byte bytes object, through libc's memcpy
# (which ASan intercepts): it must abort with a report, not return garbage
OVERREAD = """
import ctypes
frame = bytes(range(60))
base = id(frame) + bytes.__basicsize__ - 1
ctypes.string_at(base, len(frame) + 16)
print("not caught")
"""


def test_an_overread_aborts_the_interpreter() -> None:
    # the report goes to this child's stderr, not to the pass's report files
    # (where it would fail the pass)
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}
    proc = subprocess.run([sys.executable, "-c", OVERREAD], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == -signal.SIGABRT, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert "AddressSanitizer: heap-buffer-overflow" in proc.stderr
    assert "not caught" not in proc.stdout
