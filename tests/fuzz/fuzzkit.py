"""What the fuzz targets share: reading decisions from an input, the captures, warnings.

A target is a module `fuzz_<name>.py` in this folder with `TestOneInput(data: bytes)`
(the atheris entry point; it raises on a bug and returns otherwise) and `seeds()`
(the starting corpus, made with wirecraft itself from captures/ and the tests'
generators). Targets import nothing from atheris, so tests/test_fuzz_regressions.py
replays saved inputs through the very same functions in the normal test suite.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
CAPTURES = REPO / "captures"


# hang bounds catch loops, not slowness: an ASan build runs several times slower
SLACK = 10.0 if os.environ.get("WIRECRAFT_UNDER_ASAN") == "1" else 1.0


class Input:
    """A fuzz input read as a sequence of decisions (integers, byte strings).

    Past the end every read gives zeros (empty byte strings), so every byte string is a
    valid input, and a mutation of one byte changes one decision. The inverse,
    `Output`, writes seeds in the same layout.
    """

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        """Bytes not yet read."""
        return max(0, len(self.data) - self.pos)

    def uint(self, width: int) -> int:
        """A big-endian unsigned integer of `width` bytes."""
        chunk = self.data[self.pos:self.pos + width]
        self.pos += width
        return int.from_bytes(chunk.ljust(width, b"\0"), "big")

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)

    def pick(self, n: int) -> int:
        """An index below n (n >= 1), from one byte."""
        return self.u8() % n

    def take(self, n: int) -> bytes:
        """Up to n bytes (fewer at the end of the input)."""
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def blob(self, limit: int = 0xFFFF) -> bytes:
        """A byte string with a 2-byte length prefix (the length taken modulo limit + 1)."""
        return self.take(self.u16() % (limit + 1))

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk


class Output:
    """Writes decisions in the layout `Input` reads them (for seeds)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def uint(self, value: int, width: int) -> Output:
        self.parts.append((value % (1 << (8 * width))).to_bytes(width, "big"))
        return self

    def u8(self, value: int) -> Output:
        return self.uint(value, 1)

    def u16(self, value: int) -> Output:
        return self.uint(value, 2)

    def u32(self, value: int) -> Output:
        return self.uint(value, 4)

    def raw(self, data: bytes) -> Output:
        self.parts.append(bytes(data))
        return self

    def blob(self, data: bytes) -> Output:
        data = bytes(data[:0xFFFF])
        return self.u16(len(data)).raw(data)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


@contextmanager
def allowed_warnings(*categories: type[Warning]) -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings; one of any other category is a finding (raised as AssertionError)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield seen
    for w in seen:
        if not issubclass(w.category, categories):
            raise AssertionError(f"unexpected warning {w.category.__name__}: {w.message}")


def capture_paths() -> list[Path]:
    """The sample captures in captures/."""
    return sorted(p for p in CAPTURES.glob("*") if p.suffix in {".pcap", ".pcapng", ".gz"})


def capture_packets(limit_per_file: int | None = None) -> Iterator[Any]:
    """Every packet of every sample capture (warnings about damaged samples silenced)."""
    import wirecraft

    for path in capture_paths():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, pkt in enumerate(wirecraft.read(path)):
                if limit_per_file is not None and i >= limit_per_file:
                    break
                yield pkt


def distinct(items: Iterator[bytes], limit: int) -> list[bytes]:
    """The first `limit` distinct byte strings of items."""
    out: dict[bytes, None] = {}
    for item in items:
        if len(out) >= limit:
            break
        out.setdefault(item)
    return list(out)


def run_all(target: Callable[[bytes], None], inputs: list[bytes]) -> None:
    """Feed every input to a target (what the regression test and the seed check do)."""
    for data in inputs:
        target(data)
