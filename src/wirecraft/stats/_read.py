"""Reading for the statistics: a capture as filtered Tables, one per decoded batch.

Every statistic streams: it folds each batch into its group tables and drops the batch,
so memory grows with the number of groups, not with the capture."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

Source = str | os.PathLike[str] | IO[bytes] | Any


@dataclass
class Reading:
    """What the batches of one pass saw: the capture's first timestamp (ns), the packets
    read and the packets the filters let through."""

    first_ns: int | None = None
    read: int = 0
    passed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def batches(source: Source, where: str | None = None, filter: str | None = None,  # noqa: A002
            info: Reading | None = None, with_batch: bool = False) -> Iterator[Any]:
    """wirecraft Tables of the packets of `source` that pass `filter` (BPF) and `where`
    (a display filter).  `source` is a path, a file object or an open Capture.

    The first timestamp is the first packet read (before `where`), as tshark's
    relative times count from frame 1 of what it read.  With `with_batch`, each item is
    (table, the decoded batch, the boolean mask of its rows kept or None)."""
    from .. import capture as _capture
    from ..table import Table

    info = info if info is not None else Reading()
    display = None
    if where is not None:
        from ..display import compile as compile_display
        display = compile_display(where).stream()
    if isinstance(source, _capture.Capture):
        if filter is not None:
            raise ValueError("filter= is for a path; the Capture has its own")
        cap, owned = source, False
        if cap._display is not None:
            if display is not None:
                raise ValueError("both the Capture and where= have a display filter")
            display = cap._display
    else:
        cap, owned = _capture.Capture(source, filter=filter), True
    try:
        for b in cap.raw_batches():
            t = Table.from_batches([b])
            if not len(t):
                continue
            if info.first_ns is None:
                info.first_ns = int(t["ts_ns"][0])
            info.read += len(t)
            keep = None
            if display is not None:
                keep = display.mask(b)
                t = t.filter(keep)
            info.passed += len(t)
            if len(t):
                yield (t, b, keep) if with_batch else t
            del b
    finally:
        if owned:
            cap.close()
