"""Many capture files at once: one file per task in a pool of processes (`jobs=N`).

`wirecraft.flows(paths, jobs=N)`, `wirecraft.dns.transactions(paths, jobs=N)` and
`wirecraft logs --jobs N` work file by file: each file's result depends on that file
alone (its connections, transactions and uids), so the files can be read in other
processes and their results put together in the order the paths were given, which is
what one process gives. A connection that continues from one file into the next is two
connections, one per file, with either number of jobs.

Workers are forked from this process (so a script without an `if __name__ ==
"__main__"` guard works, as it does with one job); a task's result travels back
pickled.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, as `nproc` counts)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_jobs(jobs: int | None) -> int:
    """The number of processes `jobs` asks for: None or 1 is this process alone, 0 every
    usable core; anything else below 1 is refused."""
    if jobs is None:
        return 1
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise TypeError(f"jobs must be an int, not {type(jobs).__name__}")
    if jobs < 0:
        raise ValueError(f"jobs must be at least 1, or 0 for every usable core (got {jobs})")
    return usable_cores() if jobs == 0 else jobs


def is_paths(source: Any) -> bool:
    """Whether `source` is a list or tuple of file paths (the many-files form)."""
    return (isinstance(source, list | tuple) and len(source) > 0
            and all(isinstance(p, str | os.PathLike) for p in source))


def map_files(fn: Callable[[Any], T], paths: Iterable[Any], jobs: int | None = 1, *,
              on_done: Callable[[], None] | None = None) -> list[T]:
    """`[fn(p) for p in paths]`, in that order, over `jobs` processes (see check_jobs).

    `on_done` is called in this process after each file (in the order they finish). The
    first error a file raises is raised here, after the tasks not yet started are
    cancelled; a worker that dies without an error is reported as a RuntimeError naming
    no file (the pool cannot say which). Warnings a file gives in a worker (a capture cut
    short, say) are given again here, in the order of the files, under this process's
    warning filters."""
    paths = list(paths)
    n = min(check_jobs(jobs), len(paths))
    if n <= 1:
        out = []
        for p in paths:
            out.append(fn(p))
            if on_done is not None:
                on_done()
        return out
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        futures = [pool.submit(_call, fn, p) for p in paths]
        pending: Sequence[Any] = futures
        try:
            while pending:
                done, not_done = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()          # raises the file's error
                    if on_done is not None:
                        on_done()
                pending = list(not_done)
        except BrokenProcessPool as e:
            pool.shutdown(cancel_futures=True)
            raise RuntimeError(f"a worker process ended without a result ({e})") from None
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        out = []
        for f in futures:
            result, caught = f.result()
            for message, category in caught:
                warnings.warn(message, category, stacklevel=2)
            out.append(result)
        return out


def _call(fn: Callable[[Any], T], path: Any) -> tuple[T, list[tuple[Any, type]]]:
    """In a worker: fn(path), and the warnings it gave (the filters stay as they were
    when the worker was forked, so what the caller ignores or raises stays so)."""
    with warnings.catch_warnings(record=True) as caught:
        result = fn(path)
    return result, [(w.message, w.category) for w in caught]
