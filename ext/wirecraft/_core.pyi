"""Type stubs for wirecraft._core (the Cython reader, BPF machine, decoder and views)."""

from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

MAX_RECORD_BYTES: int
ANOMALIES: dict[int, str]
LAYER_BITS: dict[str, int]
STOP_LAYERS: dict[int, str | None]
STOP_REASONS: dict[int, str | None]
APP_NAMES: dict[int, str | None]
INFORMATIONAL_ANOMALIES: int
# the binding table's rows as compiled in: (lower, upper, field, values)
BINDING_ROWS: tuple[tuple[str, str, str, tuple[int, ...]], ...]

class BPFProgram:
    linktype: int
    def __init__(self, instructions: list[tuple[int, int, int, int]], linktype: int) -> None: ...
    def __len__(self) -> int: ...
    def matches(self, frame: bytes, wire_len: int | None = ...) -> bool: ...

class Filter:
    expression: str
    def __init__(self, expression: str, snaplen: int = ...) -> None: ...
    def program(self, linktype: int) -> BPFProgram: ...
    def matches(self, frame: bytes, linktype: int = ..., wire_len: int | None = ...) -> bool: ...

class Batch:
    data: bytes | bytearray
    records: bytearray | Any  # a pooled bytearray, or the caller's writable buffer
    n: int
    comments: dict[int, str] | None
    interfaces: list[dict[str, Any]] | None
    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> Packet: ...
    def __iter__(self) -> Iterator[Packet]: ...
    def record_bytes(self) -> memoryview: ...

class Reader:
    path: str
    format: int
    linktype: int
    snaplen: int
    interfaces: list[dict[str, Any]]
    section_comments: list[str]
    packets_read: int
    packets_matched: int
    blocks_skipped: int
    truncated: tuple[int, str] | None
    def __init__(self, fileobj: IO[bytes], path: str, chunk: int = ...,
                 bpf: Filter | None = ...) -> None: ...
    def read_batch(self, max_packets: int = ..., records: Any = ..., zeroed: bool = ...) -> Batch | None: ...

class PacketIterator(Iterator[Packet]):
    def __init__(self, reader: Reader, size: int, on_end: Callable[[], None] | None = ...) -> None: ...
    def __next__(self) -> Packet: ...
    def close(self) -> None: ...

class VlanTag(tuple[int, int, int, int]):
    tpid: int
    id: int
    pcp: int
    dei: int

class EthernetView:
    src: str
    dst: str
    type: int

class SLLView:
    packet_type: int
    src: str | None          # MAC text when the address length is 6 (all-zero too); None when 0
    protocol: int
    version: int

class ARPView:
    opcode: int
    sender_mac: str
    target_mac: str
    sender_ip: str
    target_ip: str

# IP/TCP/UDP/ICMP fields whose bytes a cut header did not carry read None (never 0).

class IPv4View:
    version: int
    src: str | None
    dst: str | None
    src_bytes: bytes | None
    dst_bytes: bytes | None
    header_length: int
    tos: int | None
    dscp: int
    ecn: int
    total_length: int | None
    id: int | None
    flags: int | None
    df: bool | None
    mf: bool | None
    frag_offset: int | None
    ttl: int | None
    protocol: int | None
    checksum: int | None
    options: bytes
    def verify_checksum(self) -> bool | None: ...

class IPv6View:
    version: int
    src: str | None
    dst: str | None
    src_bytes: bytes | None
    dst_bytes: bytes | None
    traffic_class: int | None
    tos: int | None
    flow_label: int | None
    payload_length: int | None
    total_length: int | None
    hop_limit: int | None
    ttl: int | None
    next_header: int | None
    protocol: int | None
    header_length: int | None
    extension_headers: list[int]
    id: int | None
    frag_offset: int | None
    mf: bool | None
    flags: int | None

class TCPView:
    src_port: int
    dst_port: int
    seq: int | None
    ack: int | None
    flags: int | None        # all 12 bits: FIN..CWR, AE 0x100, reserved 0xE00
    flags_str: str | None
    window: int | None
    header_length: int | None
    urgent: int | None
    checksum: int | None
    options_bytes: bytes
    options: list[tuple[Any, Any]]

class UDPView:
    src_port: int
    dst_port: int
    length: int | None
    checksum: int | None

class ICMPView:
    version: int
    type: int
    code: int
    checksum: int
    id: int | None           # echo/timestamp/information messages only, when captured
    seq: int | None

class Packet:
    batch: Batch
    position: int
    index: int
    time: float
    time_ns: int
    caplen: int
    wire_len: int
    linktype: int
    iface: int
    interface: dict[str, Any] | None
    comment: str | None
    data: bytes
    layers: int
    eth: EthernetView | None
    sll: SLLView | None
    vlan: list[VlanTag] | None
    arp: ARPView | None
    ip: IPv4View | IPv6View | None
    ipv4: IPv4View | None
    ipv6: IPv6View | None
    tcp: TCPView | None
    udp: UDPView | None
    icmp: ICMPView | None
    icmpv6: ICMPView | None
    payload: bytes
    payload_offset: int
    payload_length: int
    inner: Packet | None     # the packet an IP-in-IP tunnel carries
    app: str | None
    # stop_layer: the deepest layer the decoder reached ('link', 'vlan', 'arp', 'network',
    # 'transport', 'payload'); stop_reason: why it ended there (None: cleanly to the end),
    # one of 'truncated header', 'truncated payload', 'bad length', 'bad version',
    # 'unsupported', 'non-first fragment', 'fragmented header'. `problems` lists every
    # problem at any layer (with checksums=True also 'ip_bad_checksum', ...).
    stop_layer: str | None
    stop_reason: str | None
    anomalies: int
    truncated: bool
    problems: list[str]
    dns: Any
    def has(self, layer: str) -> bool: ...
    def verify_checksums(self) -> dict[str, bool | None]: ...
    def to_layers(self) -> Any: ...
    def summary(self) -> str: ...

def batch_from_buffer(data: bytes, offsets: Sequence[int], caplens: Sequence[int],
                      wire_lens: Sequence[int], ts_ns: Sequence[int], linktype: int,
                      first_index: int = ..., bpf: Filter | None = ...) -> Batch: ...
def batch_from_pcapy(data: bytes, meta: bytes, linktype: int,
                     wire_lens: Sequence[int] | None = ..., first_index: int = ...) -> Batch: ...
def parse_tcp_options(raw: bytes) -> list[tuple[Any, Any]]: ...
def check_checksums(b: Batch) -> None: ...
def record_size() -> int: ...
def record_fields() -> list[tuple[str, int, str]]: ...
def format_addresses(addrs: Any, versions: Any) -> list[str]: ...
def format_macs(macs: Any) -> list[str]: ...
def load_bindings(bindings: Sequence[Any] | None = ...) -> None: ...
def dispatch_tables() -> dict[str, dict[int, str]]: ...
def fast_tricks() -> bool: ...
