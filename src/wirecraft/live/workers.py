"""Capture with several worker processes: one PACKET_FANOUT_HASH handle each, forked;
every worker dies with its parent (PR_SET_PDEATHSIG and a pipe watch)."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import WirecraftError
from .batch import RawBatch
from .handle import LiveStats, _Reader

_PR_SET_PDEATHSIG = 1
_libc: Any = None


def _load_libc() -> Any:
    """libc through ctypes, loaded while the library is still readable (before -Z)."""
    global _libc
    if _libc is None:
        try:
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)
        except (ImportError, OSError):
            _libc = False
    return _libc


def _die_with_parent(parent: int) -> None:
    """In a freshly forked worker: be killed (SIGKILL) when `parent` exits.

    PR_SET_PDEATHSIG (Linux) has the kernel send the signal when the thread that
    forked us ends, which for a worker pool is the thread that runs the capture.
    A parent that died before the call is caught by comparing getppid().
    """
    libc = _load_libc()
    if libc:
        try:
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (AttributeError, OSError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int, life_fd: int) -> None:
    """Defence in depth behind PR_SET_PDEATHSIG: exit once the parent is gone.

    Runs in a daemon thread of each worker. `life_fd` is the read end of a pipe
    whose write end only the parent holds, so it turns readable (EOF) when the
    parent dies; getppid() is checked every half second as well, in case another
    process inherited the write end. Whatever the main thread is blocked on (a
    full queue, a handler), the worker ends: its results had nowhere to go.
    """
    while True:
        try:
            ready, _, _ = select.select([life_fd], [], [], 0.5)
        except (OSError, ValueError):
            ready = []
            time.sleep(0.5)
        if ready or os.getppid() != parent:
            os._exit(1)


# how long a worker waits to hand over its last result and counters to a parent
# that is alive but not reading (the parent's join() kills it after 5 s anyway)
_FINAL_PUT_WAIT = 10.0


class _WorkerPool:
    """One forked process per fanout handle; each runs the handler, the parent merges.

    The handles were opened and joined to the fanout group before the fork, so
    errors surface in the parent and privileges can be dropped once for all.
    Workers ignore SIGINT (the terminal sends it to the whole process group) and
    stop when the parent writes to a shared pipe; each then drains its ring,
    calls `handler.finish()` and sends its final counters. `count` is shared: a
    worker reserves packets from a common counter before handing them over.

    Workers never outlive the parent: each asks for SIGKILL on the parent's death
    (PR_SET_PDEATHSIG) right after the fork, and a thread of its own also watches
    a pipe that only the parent holds open and getppid(). No put on the result
    queue blocks for long: a result the parent does not take within a second is
    dropped and counted in `dropped_wirecraft`.
    """

    def __init__(self, readers: list[_Reader], count: int | None) -> None:
        # made with the Sniffer, before any privilege drop: these imports read the library
        import multiprocessing as mp
        import multiprocessing.popen_fork  # noqa: F401
        import queue  # noqa: F401

        self.ctx = mp.get_context("fork")
        self.readers = readers
        self.queue = self.ctx.Queue(maxsize=64 * len(readers))
        self.taken = self.ctx.Value("q", 0)
        self.count = count
        self.stop_r, self.stop_w = os.pipe()
        # only the parent keeps life_w: the workers see EOF on life_r when it dies
        self.life_r, self.life_w = os.pipe()
        self.parent = os.getpid()
        _load_libc()
        self.latest: dict[int, LiveStats] = {i: LiveStats() for i in range(len(readers))}
        self.done: set[int] = set()
        self.errors: list[str] = []
        self.procs: list[Any] = []
        self.started = False

    def start(self, handler: Callable[[RawBatch], Any], deadline: float | None) -> None:
        """Fork one worker per handle (once)."""
        if self.started:
            raise WirecraftError("this capture has already run")
        self.started = True
        for i, reader in enumerate(self.readers):
            proc = self.ctx.Process(target=self._work, args=(i, reader, handler, deadline),
                                    name=f"wirecraft-sniff-{i}", daemon=True)
            proc.start()
            self.procs.append(proc)
        os.close(self.stop_r)
        self.stop_r = -1
        os.close(self.life_r)
        self.life_r = -1

    # -- in the worker
    def _work(self, i: int, reader: _Reader, handler: Callable[[RawBatch], Any],
              deadline: float | None) -> None:
        import queue as queue_mod  # imported in __init__, before any privilege drop

        parent = self.parent
        _die_with_parent(parent)
        os.close(self.life_w)
        threading.Thread(target=_watch_parent, args=(parent, self.life_r),
                         name="wirecraft-parent-watch", daemon=True).start()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(self.stop_w)
        stats = LiveStats()
        stopping = False

        def stop() -> bool:
            return (stopping or os.getppid() != parent
                    or bool(select.select([self.stop_r], [], [], 0)[0]))

        def put(item: tuple, wait: float) -> bool:
            """Queue item within `wait` seconds; False when the parent is not draining."""
            end = time.monotonic() + wait
            while True:
                try:
                    self.queue.put(item, timeout=min(0.25, max(end - time.monotonic(), 0.0)))
                    return True
                except queue_mod.Full:
                    if os.getppid() != parent:
                        os._exit(1)  # nobody will ever read it
                    if time.monotonic() >= end:
                        return False

        def report(kind: str) -> None:
            recv, drop, ifdrop = reader.kernel_stats()
            snap = LiveStats(**stats.as_dict())
            snap.received, snap.dropped_kernel, snap.dropped_interface = recv, drop, ifdrop
            # progress reports can wait for the next one; the last one matters more
            put((kind, i, snap), 0.1 if kind == "stats" else _FINAL_PUT_WAIT)

        try:
            last = time.monotonic()
            for raw in reader.batches(stop, self.stop_r, deadline):
                if self.count is not None:
                    with self.taken.get_lock():
                        take = min(len(raw), self.count - self.taken.value)
                        self.taken.value += take
                    if take < len(raw):
                        stopping = True
                        if take <= 0:
                            continue
                        raw = raw.head(take)
                raw.first_index = stats.captured
                stats.captured += len(raw)
                rec = raw.records()
                stats.bytes += int(rec["caplen"].sum())
                if raw.may_be_cut().any():
                    stats.truncated += int((raw.wire_lens() > rec["caplen"]).sum())
                    stats.wire_len_unknown += raw.wire_len_unknown
                out = handler(raw)
                if out is not None and not put(("result", i, out), 1.0):
                    stats.dropped_wirecraft += len(raw)  # the parent is not keeping up
                now = time.monotonic()
                if now - last > 0.5:
                    last = now
                    report("stats")
            finish = getattr(handler, "finish", None)
            if finish is not None:
                out = finish()
                if out is not None:
                    # no packets in it to count; join() kills a worker still here after 5 s
                    put(("result", i, out), _FINAL_PUT_WAIT)
            report("done")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            put(("error", i, f"worker {i}: {type(exc).__name__}: {exc}"), _FINAL_PUT_WAIT)
        finally:
            self.queue.close()
            if os.getppid() != parent:
                self.queue.cancel_join_thread()  # the pipe has no reader any more
            else:
                self.queue.join_thread()  # bounded: the watcher ends us if the parent dies
            os._exit(0)

    # -- in the parent
    def stop(self) -> None:
        if self.stop_w < 0:
            return
        try:
            os.write(self.stop_w, b"x")
        except OSError:
            pass  # the pipe is full: already stopping

    def stats(self) -> LiveStats:
        total = LiveStats()
        for s in self.latest.values():
            total = total + s
        return total

    def results(self) -> Iterator[Any]:
        import queue as queue_mod

        while len(self.done) < len(self.procs):
            try:
                kind, i, payload = self.queue.get(timeout=0.2)
            except queue_mod.Empty:
                for i, proc in enumerate(self.procs):
                    if i not in self.done and not proc.is_alive() and self.queue.empty():
                        self.done.add(i)
                        self.errors.append(f"worker {i} exited with status {proc.exitcode}")
                continue
            if self.count is not None and self.taken.value >= self.count:
                self.stop()
            if kind == "result":
                yield payload
            elif kind == "stats":
                self.latest[i] = payload
            elif kind == "done":
                self.latest[i] = payload
                self.done.add(i)
            elif kind == "error":
                self.errors.append(payload)
                self.done.add(i)
        if self.errors:
            raise WirecraftError("; ".join(self.errors))

    def join(self) -> None:
        self.stop()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        fds = (self.stop_r, self.stop_w, self.life_r, self.life_w)
        self.stop_r = self.stop_w = self.life_r = self.life_w = -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)


