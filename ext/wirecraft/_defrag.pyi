"""Type stubs for the IP defragmentation core (see _defrag.pyx for the policy)."""

from typing import Any

IPV4_MAX_PAYLOAD: int

class Piece:
    frame: bytes
    ts_ns: int
    wire_len: int
    linktype: int
    iface: int
    index: int
    l3: int
    data_start: int
    data_end: int
    offset: int
    more: bool

class Core:
    table: dict[tuple[Any, ...], Any]
    stats: dict[str, int]
    held: int
    def __init__(self, *, timeout: float = ..., max_held: int = ..., max_per_source: int = ...,
                 max_datagram: int = ..., max_datagrams: int = ..., max_fragments: int = ...,
                 ip_len_at: int = ..., ip_flags_at: int = ..., ip_checksum_at: int = ...,
                 ipv6_plen_at: int = ...) -> None: ...
    def __len__(self) -> int: ...
    def fragment_positions(self, batch: Any) -> list[int]: ...
    def feed(self, batch: Any, positions: list[int]) -> list[tuple[int, list[tuple[Any, ...]]]]: ...
    def flush(self) -> list[tuple[Any, ...]]: ...
