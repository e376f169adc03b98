"""RawBatch: one read of a live handle (frames and pcapy-ng's metadata), decoded on
demand; the wire length of records cut at the snaplen is inferred from the packet
(see wirecraft.live)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..flags import Anomaly

# pcapy-ng's batch metadata: one row per record
META_DTYPE = np.dtype([("sec", "=u4"), ("usec", "=u4"), ("offset", "=u4"), ("caplen", "=u4")])

# --------------------------------------------------------------------------- batches


def _capture_module() -> Any:
    """wirecraft.capture (the shared batch decoder); imported on first decode."""
    from .. import capture

    return capture


class RawBatch:
    """One `next_batch` read: the frames' bytes and libpcap's 16-byte records.

    Wire lengths are inferred (see the module docstring) the first time they are
    needed; `decode()` gives the decoded `Batch` of the shared core decoder.
    """

    __slots__ = ("data", "meta", "linktype", "snaplen", "first_index", "_wire", "_batch",
                 "_unknown")

    def __init__(self, data: bytes, meta: bytes, linktype: int, snaplen: int,
                 first_index: int = 0) -> None:
        self.first_index = first_index
        self.data = data
        self.meta = meta
        self.linktype = linktype
        self.snaplen = snaplen
        self._wire: np.ndarray | None = None
        self._batch: Any = None
        self._unknown = 0

    def __len__(self) -> int:
        return len(self.meta) // 16

    def __getstate__(self) -> tuple:
        # sent from a worker to the parent: frames and lengths, not the decoded batch
        return (self.data, self.meta, self.linktype, self.snaplen, self.first_index,
                self.wire_lens().tobytes(), self._unknown)

    def __setstate__(self, state: tuple) -> None:
        (self.data, self.meta, self.linktype, self.snaplen, self.first_index, wire,
         self._unknown) = state
        self._wire = np.frombuffer(wire, dtype=np.uint32)
        self._batch = None

    def head(self, n: int) -> RawBatch:
        """The first n records (the frames' bytes are shared)."""
        return RawBatch(self.data, self.meta[: 16 * n], self.linktype, self.snaplen,
                        self.first_index)

    def records(self) -> np.ndarray:
        """libpcap's records as a structured array (sec, usec, offset, caplen)."""
        return np.frombuffer(self.meta, dtype=META_DTYPE)

    def ts_ns(self) -> np.ndarray:
        rec = self.records()
        return rec["sec"].astype(np.int64) * 1_000_000_000 + rec["usec"].astype(np.int64) * 1000

    def may_be_cut(self) -> np.ndarray:
        """Boolean mask of records that reach the snaplen (the only ones libpcap cut)."""
        return self.records()["caplen"] >= self.snaplen

    def wire_lens(self) -> np.ndarray:
        """True wire length of each record (uint32); see the module docstring."""
        if self._wire is None:
            self._infer()
        assert self._wire is not None
        return self._wire

    @property
    def wire_len_unknown(self) -> int:
        """Records cut at the snaplen whose wire length could not be inferred."""
        if self._wire is None:
            self._infer()
        return self._unknown

    def _infer(self) -> None:
        caplen = self.records()["caplen"].astype(np.uint32)
        cut = caplen >= self.snaplen
        if not cut.any():
            self._wire = caplen
            return
        cap = _capture_module()
        first = cap.batch_from_pcapy(self.data, self.meta, self.linktype,
                                     first_index=self.first_index)
        inferred = _wire_from_records(first, len(caplen))
        wire = np.where(cut, np.maximum(inferred, caplen), caplen).astype(np.uint32)
        self._unknown = int((cut & (inferred == 0)).sum())
        self._wire = wire
        if (wire != caplen).any():
            self._batch = cap.batch_from_pcapy(self.data, self.meta, self.linktype,
                                               wire_lens=wire, first_index=self.first_index)
        else:
            self._batch = first

    def decode(self) -> Any:
        """The decoded `Batch` (Packet views by index, `.table()` for columns)."""
        if self._batch is None:
            if self._wire is None:
                self._infer()
        if self._batch is None:
            wire = self.wire_lens()
            known = wire if (wire != self.records()["caplen"]).any() else None
            self._batch = _capture_module().batch_from_pcapy(
                self.data, self.meta, self.linktype, wire_lens=known,
                first_index=self.first_index)
        return self._batch

    def frames(self) -> Iterator[tuple[memoryview, int, int]]:
        """(frame bytes, ts_ns, wire_len) for each record, for writers."""
        view = memoryview(self.data)
        rec = self.records()
        ts = self.ts_ns().tolist()
        wire = self.wire_lens().tolist()
        for i, (off, cap) in enumerate(zip(rec["offset"].tolist(), rec["caplen"].tolist(),
                                           strict=True)):
            yield view[off:off + cap], ts[i], wire[i]


_RECORD_DTYPE: np.dtype | None = None


def _record_dtype() -> np.dtype:
    """numpy view of the core decoder's rec_t (field names, offsets, size from _core)."""
    global _RECORD_DTYPE
    if _RECORD_DTYPE is None:
        from .. import _ext

        core = _ext.load("_core")
        names, offsets, formats = zip(*core.record_fields(), strict=True)
        _RECORD_DTYPE = np.dtype({"names": list(names), "formats": list(formats),
                                  "offsets": list(offsets), "itemsize": core.record_size()})
    return _RECORD_DTYPE


def _wire_from_records(batch: Any, n: int) -> np.ndarray:
    """Wire lengths from the decoded IP headers: link header + IP datagram length; 0 if unknown.

    The decoder's `ip_total_length` is the IPv4 total length, or 40 + the IPv6
    payload length (a jumbogram's length lives in an option: unknown here);
    `l3_offset` is where the IP header starts (after any VLAN tags).
    """
    rec = np.frombuffer(batch.record_bytes(), dtype=_record_dtype(), count=n)
    version = rec["ip_version"]
    total = rec["ip_total_length"].astype(np.int64)
    ok = ((version == 4) & (total >= 20)) | (
        (version == 6) & (total >= 40) & ((rec["anomalies"] & int(Anomaly.IP6_JUMBO)) == 0))
    return np.where(ok, rec["l3_offset"].astype(np.int64) + total, 0)


