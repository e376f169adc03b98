"""Columns of decoded packets: numpy views over the decoder's record array.

Column names come from the field catalogue (wirecraft.proto): every record slot
is a raw column of its name (`ip_ttl`, `l4_src_port`), a field whose column is
not a plain slot read is a derived one (`tcp_src_port`: the port where the
layer is TCP, 0 elsewhere; `vlan_id`: the TCI's low 12 bits), and any
catalogue name works too: `t["tcp.srcport"]`, `t["ip.flags.df"]`,
`t["ip.ttl"]` (the value where the field's protocol is present, 0 or False
elsewhere: `ip.ttl` is IPv4's, `ipv6.hlim` IPv6's, while the `ip_ttl` slot
holds both).

A Table never builds a Python object per packet: each column is a numpy
array (a strided view of the records, or a cheap vectorised derivation), and
conversion to pandas, Arrow and polars goes column by column.

A field whose bytes were not captured (a header cut short) holds 0 in its
column, where the Packet view reads None: `has_<layer>` says which layers were
decoded, and `has_ip_src` / `has_ip_dst` whether each address was captured
(`text()` renders an absent address as '').
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _ext
from . import proto as _proto
from ._optional import require
from .flags import StopReason

if TYPE_CHECKING:
    from ._core import Batch, Packet

_core = _ext.load("_core")

RECORD_DTYPE = np.dtype(
    {
        "names": [f[0] for f in _core.record_fields()],
        "formats": [f[2] for f in _core.record_fields()],
        "offsets": [f[1] for f in _core.record_fields()],
        "itemsize": _core.record_size(),
    }
)
_L = _core.LAYER_BITS
_HIDDEN = {"frame_offset"}
ADDRESS_COLUMNS = ("ip_src", "ip_dst")
MAC_COLUMNS = ("eth_src", "eth_dst", "arp_sender_mac", "arp_target_mac")


# Bytes of the IP header an address needs (its end), per family: a header cut short
# may hold the source but not the destination, or neither.
_ADDRESS_END = {"ip_src": (16, 24), "ip_dst": (20, 40)}


def _has_address(field: str) -> Callable[[np.ndarray], np.ndarray]:
    """Whether each row's `field` address was captured (False: the column holds 0s)."""
    need4, need6 = _ADDRESS_END[field]

    def f(rec: np.ndarray) -> np.ndarray:
        layers = rec["layers"]
        have = rec["caplen"].astype(np.int64) - rec["l3_offset"]
        return (((layers & _L["ipv4"]) != 0) & (have >= need4)) | (
            ((layers & _L["ipv6"]) != 0) & (have >= need6))
    return f


def _ipv4(field: str) -> Callable[[np.ndarray], np.ndarray]:
    has = _has_address(field)

    def f(rec: np.ndarray) -> np.ndarray:
        raw = np.ascontiguousarray(rec[field]).view(np.uint8).reshape(-1, 16)[:, :4]
        val = np.ascontiguousarray(raw).view(">u4").reshape(-1).astype(np.uint32)
        return np.where((rec["ip_version"] == 4) & has(rec), val, 0).astype(np.uint32)
    return f


def _derived(field: _proto.Field, bit: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A field's values from its slot: (slot >> shift) & mask (a bool for a flag), where
    its protocol's layer bit is set and 0 / False elsewhere."""
    slot, shift, mask = field.slot, field.shift, field.mask
    assert slot is not None

    def f(rec: np.ndarray) -> np.ndarray:
        raw = rec[slot]
        if field.getter == "bool":
            val = (raw & (mask if mask is not None else ~0)) != 0
        elif shift or mask is not None:
            val = raw >> shift if shift else raw
            if mask is not None:
                val = val & mask
            val = val.astype(raw.dtype, copy=False)
        else:
            val = raw      # a plain slot: np.where below makes the one copy
        if bit is None:
            return val
        return np.where((rec["layers"] & bit) != 0, val, 0).astype(val.dtype)
    return f


def _address(field: _proto.Field, bit: int) -> Callable[[np.ndarray], np.ndarray]:
    """An IP address field: IPv4 as a host-order uint32, IPv6 as the 16 raw bytes (zero
    where the family is not the field's or the address was not captured)."""
    assert field.slot is not None
    if field.type == "FT_IPv4":
        return _ipv4(field.slot)
    has = _has_address(field.slot)

    def f(rec: np.ndarray) -> np.ndarray:
        out = np.array(rec[field.slot])
        out[~(((rec["layers"] & bit) != 0) & has(rec))] = b"\0" * 16
        return out
    return f


def _slot_readers() -> dict[str, set[str]]:
    """slot -> the protocols whose fields read it."""
    out: dict[str, set[str]] = {}
    for name, f in _proto.FIELDS.items():
        if f.slot is not None:
            out.setdefault(f.slot, set()).add(_proto.PROTOCOL_OF[name].name)
    return out


def _field_column(field: _proto.Field, proto: _proto.Protocol, readers: dict[str, set[str]]
                  ) -> Callable[[np.ndarray], np.ndarray] | None:
    """The column of a catalogue field, or None when it has no record slot."""
    if field.slot is None or field.packet_value is not None or field.extra_value is not None:
        return None
    # a slot only this protocol fills is 0 where the protocol is absent (records start
    # zeroed): no layer mask needed; one shared with another (ports, IP) is masked
    shared = readers.get(field.slot, set()) != {proto.name}
    bit = _L.get(proto.layer_bit) if proto.layer_bit and shared else None
    if field.getter == "ip":
        return _address(field, bit or 0)
    return _derived(field, bit)


def _catalogue_columns() -> tuple[dict[str, Callable[[np.ndarray], np.ndarray]],
                                  dict[str, Callable[[np.ndarray], np.ndarray]]]:
    """(derived columns: a field's `column` that is not its plain slot, by column name;
    every catalogue name with a record slot, by dotted name)."""
    derived: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    dotted: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    readers = _slot_readers()
    for name, field in _proto.FIELDS.items():
        proto = _proto.PROTOCOL_OF[name]
        col = _field_column(field, proto, readers)
        if col is None:
            continue
        dotted[name] = col
        if field.column and field.column != field.slot and field.column not in derived:
            derived[field.column] = col
    return derived, dotted


# the stop reasons that mean "the capture cut it short" (wirecraft.flags, one list)
_TRUNCATED = [int(r) for r in StopReason.truncated()]

_Column = Callable[[np.ndarray], np.ndarray]

# derived columns that need no catalogue ("time" first, the rest after the catalogue's)
_STATIC: dict[str, _Column] = {
    "time": lambda rec: rec["ts_ns"] / 1e9,
    # the outer tag's id is vlan_id (vlan.id); the Table keeps the three tags decoded
    "vlan1_id": lambda rec: (rec["vlan1_tci"] & 0x0FFF).astype(np.uint16),
    "vlan2_id": lambda rec: (rec["vlan2_tci"] & 0x0FFF).astype(np.uint16),
    "vlan3_id": lambda rec: (rec["vlan3_tci"] & 0x0FFF).astype(np.uint16),
    "ipv4_src": _ipv4("ip_src"),
    "ipv4_dst": _ipv4("ip_dst"),
    "truncated": lambda rec: np.isin(rec["stop_reason"], _TRUNCATED),
    # an address column holds zeros where the address was not captured: these tell which
    "has_ip_src": _has_address("ip_src"),
    "has_ip_dst": _has_address("ip_dst"),
    **{f"has_{_n}": (lambda b: lambda rec: (rec["layers"] & b) != 0)(_b) for _n, _b in _L.items()},
}
# the raw record columns (every slot the catalogue declares a column, generated into the
# record): a Table reads these without the catalogue
_RAW = frozenset(n for n in RECORD_DTYPE.names if n not in _HIDDEN)
# every derived column's name in the order `columns` lists them: time, the catalogue's
# (generated into the core with the record, so listing them needs no catalogue: transport
# columns first, vlan_id with the per-tag ids after them, as before the catalogue; the
# column order is part of to_dict / to_arrow output), then the other static ones
_VIRTUAL_NAMES: tuple[str, ...] = (
    "time", *sorted(_core.derived_columns(), key=lambda n: n.startswith("vlan")),
    *(n for n in _STATIC if n != "time"))

# (VIRTUAL, DOTTED), built on first use: a process that reads only raw and _STATIC
# columns never imports the catalogue
_COLUMNS: tuple[dict[str, _Column], dict[str, _Column]] | None = None


_PRESENT_FIELDS: dict[str, tuple[str, ...]] | None = None


def _present_fields() -> dict[str, tuple[str, ...]]:
    """{Table column: the catalogue fields read from it}: a column counts as present in
    a row when any of them is (a virtual column by its own fields, such as tcp_src_port
    by tcp.srcport; a record slot by every field of that slot, l4_src_port by
    tcp.srcport and udp.srcport)."""
    global _PRESENT_FIELDS
    if _PRESENT_FIELDS is None:
        by_column: dict[str, list[str]] = {}
        by_slot: dict[str, list[str]] = {}
        for fname, f in _proto.FIELDS.items():
            if f.slot is None or f.slot not in RECORD_DTYPE.names:
                continue
            if f.column and f.column not in RECORD_DTYPE.names:   # a virtual column
                by_column.setdefault(f.column, []).append(fname)
            by_slot.setdefault(f.slot, []).append(fname)
        _PRESENT_FIELDS = {**{k: tuple(v) for k, v in by_slot.items()},
                           **{k: tuple(v) for k, v in by_column.items()}}
    return _PRESENT_FIELDS


def _pandas_integer_types(pd: Any) -> dict[Any, Any]:
    """pyarrow integer and bool types -> pandas' nullable dtypes (so a missing value is
    pd.NA in an integer column, not a float NaN)."""
    pa = require('pyarrow')

    return {pa.bool_(): pd.BooleanDtype(), pa.int8(): pd.Int8Dtype(),
            pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
            pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
            pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}


def _columns() -> tuple[dict[str, _Column], dict[str, _Column]]:
    """(VIRTUAL: every derived column by name, in the order `columns` lists them;
    DOTTED: every catalogue name with a record slot)."""
    global _COLUMNS
    if _COLUMNS is None:
        derived, dotted = _catalogue_columns()
        overlap = (set(derived) | set(dotted)) & (set(_STATIC) | _RAW)
        if overlap:  # the lookup order of __getitem__ would decide: a declaration error
            raise ValueError(f"catalogue columns named like other columns: {sorted(overlap)}")
        if tuple(derived) != _core.derived_columns():
            raise RuntimeError("wirecraft._core was built from another field catalogue: "
                               "rebuild it (its derived_columns() disagree)")
        virtual = {n: derived.get(n) or _STATIC[n] for n in _VIRTUAL_NAMES}
        _COLUMNS = (virtual, dotted)
    return _COLUMNS


def __getattr__(name: str) -> object:
    # VIRTUAL and DOTTED stay public names of this module, built when first read
    if name == "VIRTUAL":
        return _columns()[0]
    if name == "DOTTED":
        return _columns()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Fields:
    """What the VIRTUAL column functions index: record fields, joined once per Table."""

    __slots__ = ("table",)

    def __init__(self, table: Table) -> None:
        self.table = table

    def __getitem__(self, name: str) -> np.ndarray:
        return self.table._field(name)


class Table:
    """Decoded packets as columns.  `t["udp_dst_port"]` is a numpy array.

    The records may sit in several chunks (one per batch read); a column is
    joined from its chunks when asked for, so building a Table copies nothing.
    """

    def __init__(self, records: np.ndarray | Sequence[np.ndarray],
                 batches: Sequence[Batch] = (),
                 extra: dict[str, np.ndarray] | None = None) -> None:
        chunks = [records] if isinstance(records, np.ndarray) else list(records)
        for c in chunks:
            if c.dtype != RECORD_DTYPE:
                raise TypeError("records must use RECORD_DTYPE")
        self._chunks = chunks
        self._joined: np.ndarray | None = chunks[0] if len(chunks) == 1 else None
        self._batches = list(batches)
        self._cache: dict[str, np.ndarray] = {}
        # columns computed while the frames were there (Capture.table(fields=...))
        self._extra: dict[str, np.ndarray] = dict(extra or {})

    @classmethod
    def from_batches(cls, batches: Iterable[Batch], keep_frames: bool | None = None) -> Table:
        """Columns of `batches`; frames are kept (for `.packets()`) only for a single batch."""
        chunks, kept = [], []
        for b in batches:
            # a view of the record array only: the batch's frames are not held
            chunks.append(np.frombuffer(b.record_bytes(), dtype=RECORD_DTYPE))
            if keep_frames is not False:
                kept.append(b)
        if keep_frames is None:
            keep_frames = len(kept) == 1
        if not chunks:
            chunks = [np.zeros(0, dtype=RECORD_DTYPE)]
        return cls(chunks, kept if keep_frames else ())

    @property
    def records(self) -> np.ndarray:
        """All records as one structured array (joined on first use)."""
        if self._joined is None:
            # byte-level join: numpy's structured concatenate would repack the fields
            joined = bytearray().join(memoryview(c).cast("B") for c in self._chunks)
            self._joined = np.frombuffer(joined, dtype=RECORD_DTYPE)
            self._chunks = [self._joined]
        return self._joined

    # -- access --------------------------------------------------------------
    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)

    @property
    def columns(self) -> list[str]:
        """Every column name: record fields then derived ones."""
        names = [n for n in RECORD_DTYPE.names if n not in _HIDDEN]
        return names + [n for n in _VIRTUAL_NAMES if n not in names] + list(self._extra)

    def _field(self, name: str) -> np.ndarray:
        """A record field as one array; joined fields are kept for the next use."""
        if len(self._chunks) == 1:
            return self._chunks[0][name]
        col = self._cache.get(name)
        if col is None:
            col = self._cache[name] = np.concatenate([c[name] for c in self._chunks])
        return col

    def __getitem__(self, name: str) -> np.ndarray:
        """A column by its name (`tcp_src_port`) or any catalogue field name with a record
        slot (`tcp.srcport`, `ip.flags.df`; see `wirecraft fields`)."""
        col_of = _STATIC.get(name)
        if col_of is None:
            if name in _RAW:
                return self._field(name)
            virtual, dotted = _columns()
            col_of = virtual.get(name) or dotted.get(name)
        if col_of is not None:
            return col_of(_Fields(self))
        if name in self._extra:
            return self._extra[name]
        if name in _HIDDEN or name not in RECORD_DTYPE.names:
            if name in _proto.FIELDS and _proto.PROTOCOL_OF[name].extra.get("payload"):
                if not self._batches:
                    raise KeyError(f"field {name!r} is read from the frames, which this Table "
                                   f"does not keep: Capture.table(fields=[{name!r}])")
                from .proto._payload import column
                col = self._cache.get(name)
                if col is None:
                    col = self._cache[name] = np.concatenate(
                        [column(b, name) for b in self._batches])
                return col
            if name in _proto.FIELDS:
                raise KeyError(f"field {name!r} has no record slot, so no column "
                               "(wirecraft.proto.value reads it per packet)")
            raise KeyError(f"no column {name!r}; see Table.columns")
        return self._field(name)

    def __contains__(self, name: str) -> bool:
        return name in self.columns or name in _columns()[1] or name in self._extra

    def text(self, name: str) -> list[str]:
        """A column rendered as text: IP addresses and MAC addresses as people write them.

        An address that was not captured (a cut IP header, no IP at all) is ''."""
        if name in ADDRESS_COLUMNS:
            raw = np.ascontiguousarray(self[name]).view(np.uint8).reshape(-1, 16)
            versions = np.where(self[f"has_{name}"], self["ip_version"], 0).astype(np.uint8)
            return _core.format_addresses(raw, np.ascontiguousarray(versions))
        if name in MAC_COLUMNS:
            return _core.format_macs(np.ascontiguousarray(self[name]))
        return [str(v) for v in self[name]]

    def value_counts(self, name: str) -> dict[Any, int]:
        """Distinct values of a column with their counts, most common first."""
        values, counts = np.unique(self[name], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {values[i].item(): int(counts[i]) for i in order}

    def filter(self, mask: np.ndarray) -> Table:
        """Rows where the boolean `mask` is true (frames are not kept)."""
        return Table(self.records[mask], extra={k: v[mask] for k, v in self._extra.items()})

    def where(self, expression: str) -> Table:
        """Rows that pass a display filter (Wireshark's language over catalogue names:
        `t.where("tcp.port == 25 and ip.ttl < 64")`; see wirecraft.display), as a Table.

        Fields with a record slot are tested as whole columns; fields decoded from the
        frames (DNS, SMTP, TCP options) need a Table that keeps them (one batch, as
        `Capture.batches()` gives): otherwise filter while reading,
        `wirecraft.open(path, where=...)`. frame.time_relative counts from the first row."""
        from .display import compile as compile_filter

        return compile_filter(expression).where(self)

    def packets(self) -> Iterator[Packet]:
        """Packet views of the rows (only for a Table made from one batch)."""
        if not self._batches:
            raise ValueError("this Table keeps no frames; iterate the Capture for Packets")
        for b in self._batches:
            yield from b

    # -- conversion ------------------------------------------------------------
    def present(self, name: str) -> np.ndarray | None:
        """Rows where column `name` holds a value the packet carries: its protocol was
        decoded and the header reached that far (the same test as a display filter's
        field presence, `tcp.srcport`). None when the column always has a value (frame
        fields, offsets, bit sets). The typed exports make the other rows null."""
        names = _present_fields().get(name, ())
        mask: np.ndarray | None = None
        if names:
            from .display._operands import Context, SlotField

            ctx = Context("", self.records)
            for fname in names:
                field = SlotField(fname, 0)
                if not field.requires and field.field.need is None and \
                        field._has_address is None:
                    mask = None     # a field of this slot is always there
                    break
                m = field._present(ctx)
                mask = m.copy() if mask is None else (mask | m)
        return mask

    def to_dict(self, addresses: str = "text") -> dict[str, Any]:
        """{column: array or list}; addresses as text ('text') or 16-byte values ('binary').
        Untyped: every row has a value (0 or '' where the packet has none); the typed
        exports below make those null."""
        out: dict[str, Any] = {}
        for name in self.columns:
            if addresses == "text" and (name in ADDRESS_COLUMNS or name in MAC_COLUMNS):
                out[name] = self.text(name)
            elif name in ADDRESS_COLUMNS:
                out[name] = [bytes(v) for v in self[name]]
            else:
                out[name] = np.ascontiguousarray(self[name])
        return out

    def to_pandas(self, addresses: str = "text") -> Any:
        """A pandas DataFrame with the typed columns of `to_arrow` (through Arrow): `time`
        as datetime64[ns, UTC], enumerations as categoricals, nullable integers with
        missing values (pd.NA) where a packet has no such field."""
        pd = require('pandas')

        return self.to_arrow(addresses).to_pandas(types_mapper=_pandas_integer_types(pd).get)

    def to_arrow(self, addresses: str = "text") -> Any:
        """A pyarrow Table with typed columns: `time` as timestamp[ns, UTC]; `stop_layer`,
        `stop_reason` and `app` dictionary-encoded with the labels of wirecraft.flags;
        a field the packet does not carry (no TCP header, an IP header cut before its
        addresses) null, never 0 or ''; addresses and MACs as text, or with
        addresses="binary" IP addresses as fixed_size_binary(16) (no per-row copies)."""
        pa = require('pyarrow')
        from .flags import LABELS, labels

        cols = {}
        for name in self.columns:
            mask = self.present(name)
            valid = None if mask is None else pa.array(mask, pa.bool_())
            if name == "time":
                cols[name] = pa.array(np.ascontiguousarray(self["ts_ns"]),
                                      pa.timestamp("ns", tz="UTC"))
            elif name in LABELS:
                names = labels(name)
                codes = np.ascontiguousarray(self[name]).astype(np.int32)
                vocab = [names.get(i, f"code-{i}") for i in range(max(names) + 1)]
                extra = np.unique(codes[codes > max(names)])
                vocab += [f"code-{int(c)}" for c in extra]
                index = np.searchsorted(np.concatenate([np.arange(max(names) + 1), extra]),
                                        codes).astype(np.int32)
                cols[name] = pa.DictionaryArray.from_arrays(pa.array(index), pa.array(vocab))
            elif name in ADDRESS_COLUMNS or name in MAC_COLUMNS:
                if addresses == "text":
                    text = self.text(name)
                    cols[name] = pa.array(text, pa.string(),
                                          mask=None if mask is None else ~mask)
                elif name in ADDRESS_COLUMNS:
                    raw = np.ascontiguousarray(self[name]).view(np.uint8)
                    bitmap = None if valid is None else valid.buffers()[1]
                    cols[name] = pa.FixedSizeBinaryArray.from_buffers(
                        pa.binary(16), len(self), [bitmap, pa.py_buffer(raw)])
                else:
                    cols[name] = pa.array(np.ascontiguousarray(self[name]))
            else:
                cols[name] = pa.array(np.ascontiguousarray(self[name]),
                                      mask=None if mask is None else ~mask)
        return pa.table(cols)

    def to_polars(self, addresses: str = "text") -> Any:
        """A polars DataFrame with the typed columns of `to_arrow`."""
        pl = require('polars')

        return pl.from_arrow(self.to_arrow(addresses))

    def to_parquet(self, path: str, addresses: str = "text") -> None:
        """The typed columns of `to_arrow` as a Parquet file (DuckDB, pandas, Spark read
        it directly); addresses="binary" stores IP addresses as 16-byte values instead."""
        pq = require('pyarrow.parquet')

        pq.write_table(self.to_arrow(addresses), path)

    def __repr__(self) -> str:
        return f"<Table {len(self)} packets x {len(self.columns)} columns>"
