"""Type stubs for the TCP reassembly core (see _reassembly.pyx for the policy)."""

from collections.abc import Callable
from typing import Any

CLIENT_TO_SERVER: int
SERVER_TO_CLIENT: int

class Half:
    started: bool
    syn_seen: bool
    isn: int
    next_seq: int
    next_off: int
    fin_off: int
    max_ack_off: int
    closed: bool
    delivered: int
    gap_bytes: int
    ooo_bytes: int
    hist_bytes: int
    oow_streak: int
    @property
    def buffered(self) -> int: ...
    @property
    def segments_buffered(self) -> int: ...

class Connection:
    index: int
    version: int
    client: str
    server: str
    client_port: int
    server_port: int
    client_bytes: bytes
    first_ns: int
    last_ns: int
    c2s: Half
    s2c: Half
    gaps: list[tuple[int, int, int]]
    gap_count: int
    flags: set[str]
    handler: Any
    finished: bool
    packets: int
    @property
    def bytes_to_server(self) -> int: ...
    @property
    def bytes_to_client(self) -> int: ...

class Core:
    on_open: Callable[[Connection], None] | None
    on_data: Callable[[Connection, int, bytes], None] | None
    on_gap: Callable[[Connection, int, int], None] | None
    on_close: Callable[[Connection], None] | None
    max_ooo_per_direction: int
    max_buffered: int
    max_connections: int
    idle_timeout_ns: int
    history: int
    max_window: int
    buffered: int
    peak_buffered: int
    table: dict[tuple[Any, ...], Connection]
    stats: dict[str, int]
    def __init__(
        self,
        on_open: Callable[[Connection], None] | None = None,
        on_data: Callable[[Connection, int, bytes], None] | None = None,
        on_gap: Callable[[Connection, int, int], None] | None = None,
        on_close: Callable[[Connection], None] | None = None,
        *,
        max_ooo_per_direction: int = ...,
        max_buffered: int = ...,
        max_connections: int = ...,
        idle_timeout: float = ...,
        history: int = ...,
        max_window: int | None = ...,
    ) -> None: ...
    def packet(self, pkt: Any) -> Connection | None: ...
    def segment(
        self,
        version: int,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        payload: bytes,
        time_ns: int,
        src_text: str | None = None,
        dst_text: str | None = None,
    ) -> Connection | None: ...
    def flush(self) -> None: ...
    def __len__(self) -> int: ...
