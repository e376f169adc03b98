"""Type stubs for the connection table core (see _flows.pyx for the model)."""

from typing import Any

STATE_NAMES: tuple[str, ...]

class Side:
    pkts: int
    ip_bytes: int
    size: int
    seen_bytes: int
    state: int
    hist: int
    retrans: int
    zero_win: int
    bad_checksums: int
    seq_known: bool
    fin_seen: bool
    did_close: bool
    base: int
    top: int
    data_top: int
    acked: int

class Conn:
    key: bytes
    proto: int
    version: int
    orig_h: bytes
    resp_h: bytes
    orig_p: int
    resp_p: int
    first_ts: int
    last_ts: int
    moved_ts: int
    first_index: int
    last_index: int
    orig: Side
    resp: Side
    flipped: bool
    history: bytearray
    vlan: int
    anomalies: int
    ended: str
    apps: int
    @property
    def uid(self) -> str: ...

class Table:
    conns: dict[bytes, Conn]
    @property
    def stats(self) -> dict[str, int]: ...
    tcp_timeout: int
    udp_timeout: int
    icmp_timeout: int
    max_connections: int
    server_ports: frozenset[int]
    def __init__(self, *, tcp_timeout: float = ..., udp_timeout: float = ...,
                 icmp_timeout: float = ..., max_connections: int = ...,
                 server_ports: Any = ...) -> None: ...
    def __len__(self) -> int: ...
    def feed(self, batch: Any, mask: Any = None) -> list[Conn]: ...
    def flush(self) -> list[Conn]: ...

def tcp_size(s: Side) -> tuple[int, int]: ...
def start_keys(conns: list[Conn]) -> tuple[bytes, bytes]: ...
def columns(conns: list[Conn], local_nets: list[tuple[int, bytes, int]] | None = None,
            anomalies: tuple[tuple[int, str], ...] = ()) -> dict[str, list[Any]]: ...
def uid_of(key: bytes, first_ts: int, first_index: int) -> str: ...
def key_for(proto: int, version: int, src: bytes, sport: int, dst: bytes, dport: int) -> bytes: ...
