"""Type stubs for the Cython DNS wire decoder (see _dns.pyx for the bounds it enforces)."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

TYPE_NAMES: dict[int, str]
TYPE_CODES: dict[str, int]
CLASS_NAMES: dict[int, str]
RCODE_NAMES: dict[int, str]
OPCODE_NAMES: dict[int, str]
FLAG_BITS: tuple[tuple[int, str], ...]
EDNS_OPTION_NAMES: dict[int, str]
SVC_PARAM_NAMES: dict[int, str]
STATUS_NAMES: tuple[str, str, str]
TRANSACTION_COLUMNS: tuple[str, ...]

def type_name(rtype: int) -> str: ...
def class_name(rclass: int) -> str: ...
def rcode_name(rcode: int) -> str: ...

class MX(NamedTuple):
    preference: int
    exchange: str

class SOA(NamedTuple):
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int

class SRV(NamedTuple):
    priority: int
    weight: int
    port: int
    target: str

class NAPTR(NamedTuple):
    order: int
    preference: int
    flags: bytes
    services: bytes
    regexp: bytes
    replacement: str

class CAA(NamedTuple):
    flags: int
    tag: bytes
    value: bytes

class HINFO(NamedTuple):
    cpu: bytes
    os: bytes

class MINFO(NamedTuple):
    rmailbx: str
    emailbx: str

class RP(NamedTuple):
    mbox: str
    txt: str

class AFSDB(NamedTuple):
    subtype: int
    hostname: str

class SSHFP(NamedTuple):
    algorithm: int
    fp_type: int
    fingerprint: bytes

class TLSA(NamedTuple):
    usage: int
    selector: int
    mtype: int
    cert: bytes

class DS(NamedTuple):
    key_tag: int
    algorithm: int
    digest_type: int
    digest: bytes

class DNSKEY(NamedTuple):
    flags: int
    protocol: int
    algorithm: int
    key: bytes

class RRSIG(NamedTuple):
    type_covered: int
    algorithm: int
    labels: int
    original_ttl: int
    expiration: int
    inception: int
    key_tag: int
    signer: str
    signature: bytes

class NSEC(NamedTuple):
    next: str
    types: tuple[int, ...]

class NSEC3(NamedTuple):
    algorithm: int
    flags: int
    iterations: int
    salt: bytes
    next: bytes
    types: tuple[int, ...]

class NSEC3PARAM(NamedTuple):
    algorithm: int
    flags: int
    iterations: int
    salt: bytes

class CSYNC(NamedTuple):
    serial: int
    flags: int
    types: tuple[int, ...]

class URI(NamedTuple):
    priority: int
    weight: int
    target: bytes

class SVCB(NamedTuple):
    priority: int
    target: str
    params: dict[str, Any]

class TSIG(NamedTuple):
    algorithm: str
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes

class EdnsOption(NamedTuple):
    code: int
    name: str
    value: Any

class Edns(NamedTuple):
    payload_size: int
    ext_rcode: int
    version: int
    do: bool
    z: int
    options: list[EdnsOption]

class ClientSubnet(NamedTuple):
    family: int
    source_prefix: int
    scope_prefix: int
    address: str

class Cookie(NamedTuple):
    client: bytes
    server: bytes

class ExtendedError(NamedTuple):
    code: int
    text: str

class Question:
    name: str
    type: int
    cls: int
    unicast_response: bool
    @property
    def type_name(self) -> str: ...
    @property
    def class_name(self) -> str: ...
    @property
    def rclass(self) -> int: ...

class Record:
    name: str
    type: int
    cls: int
    ttl: int
    data: Any
    rdata: bytes
    cache_flush: bool
    malformed: bool
    @property
    def type_name(self) -> str: ...
    @property
    def class_name(self) -> str: ...
    @property
    def rclass(self) -> int: ...
    @property
    def text(self) -> str: ...

class Message:
    id: int
    flags: int
    rcode: int
    counts: tuple[int, int, int, int]
    questions: list[Question]
    answers: list[Record]
    authorities: list[Record]
    additionals: list[Record]
    edns: Edns | None
    tsig: Record | None
    problems: list[str]
    size: int
    end: int
    @property
    def qr(self) -> bool: ...
    @property
    def opcode(self) -> int: ...
    @property
    def opcode_name(self) -> str: ...
    @property
    def aa(self) -> bool: ...
    @property
    def tc(self) -> bool: ...
    @property
    def rd(self) -> bool: ...
    @property
    def ra(self) -> bool: ...
    @property
    def z(self) -> bool: ...
    @property
    def ad(self) -> bool: ...
    @property
    def cd(self) -> bool: ...
    @property
    def header_rcode(self) -> int: ...
    @property
    def rcode_name(self) -> str: ...
    @property
    def flag_names(self) -> list[str]: ...
    @property
    def question(self) -> Question | None: ...
    def records(self) -> list[Record]: ...
    def to_text(self) -> str: ...

def decode(data: bytes | bytearray | memoryview, mdns: bool | None = None) -> Message: ...
def decode_light(data: bytes | bytearray | memoryview, mdns: bool | None = None) -> Message: ...
def _columnar_agrees(data: bytes | bytearray | memoryview,
                     mdns: bool | None = None) -> tuple[tuple, tuple]: ...
def _ip6_text(raw: bytes) -> str: ...
def decode_name(data: bytes, offset: int = 0) -> tuple[str, int, list[str]]: ...
def rdata_text(r: Record) -> str: ...
def connection_uid(proto: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int) -> str: ...

class TransactionStore:
    """The table's columns in C buffers (see _dns.pyx)."""
    uids: list[str] | None
    uid_source: Any
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[TransactionRow]: ...
    def row(self, i: int) -> TransactionRow: ...
    def column(self, name: str) -> list[Any]: ...
    def to_dicts(self) -> list[dict[str, Any]]: ...
    def answer_types(self) -> Any: ...
    def arrow_parts(self) -> dict[str, Any]: ...
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]: ...

def _store_from_parts(n: int, rows: bytes, qtext: bytes, atext: bytes, aitems: bytes,
                      pcodes: bytes, uids: list[str] | None) -> TransactionStore: ...
def concat_stores(stores: list[TransactionStore]) -> TransactionStore: ...

class TransactionBuilder:
    def __init__(self, ports: Iterable[int], timeout: float,
                 tcp_handler: Callable[[Any], None] | None = None,
                 streaming: bool = False) -> None: ...
    def __len__(self) -> int: ...
    def columns(self) -> TransactionStore: ...
    def take(self, now: int, everything: bool = False) -> TransactionStore | None: ...
    def feed_message(self, ts: int, proto: str, src: str | bytes, sport: int,
                     dst: str | bytes, dport: int, msg: Message, dst_multicast: bool) -> None: ...
    def feed(self, ts: int, proto: str, src: str | bytes, sport: int, dst: str | bytes,
             dport: int, payload: bytes, mdns: bool | None, fragment: bool,
             problem: str | None = None) -> None: ...
    def feed_batch(self, batch: Any) -> None: ...

class TransactionRow:
    def __init__(self, store: TransactionStore, i: int) -> None: ...
    def __getitem__(self, name: str) -> Any: ...
    def get(self, name: str, default: Any = None) -> Any: ...
    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def keys(self) -> list[str]: ...
    def values(self) -> list[Any]: ...
    def items(self) -> list[tuple[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...

def transaction_rows(store: TransactionStore) -> list[TransactionRow]: ...
