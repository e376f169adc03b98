"""The layer machinery shared by every crafted protocol.

A layer class declares its fields once, as (name, default) pairs; a field
whose default is AUTO is derived at build time (lengths, checksums, type
numbers) unless the caller sets it, and an explicit value always wins, so a
wrong checksum or length can be crafted on purpose. Layers stack with `/`.

Each class gets slots for its fields and a generated `__init__` (_LayerMeta),
and, while that `__init__` is its own, a C constructor doing the same
(wirecraft._fastobj.c_constructor); building runs in wirecraft._craft, and `/` and
copies in wirecraft._fastobj, so a frame costs little more than its objects'
allocations. WIRECRAFT_NO_FAST=1 turns the _fastobj tricks off: the generated
`__init__` runs, `/` always copies and copies go field by field (the plain
versions below).
"""

from __future__ import annotations

import ipaddress
import keyword
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

from .._ext import load

_c = load("_craft")
_fo = load("_fastobj")
_FAST: bool = _fo.enabled()  # False with WIRECRAFT_NO_FAST=1 (read once, at import)


class _Auto:
    """Sentinel for "compute this field when the packet is built"."""

    _instance: _Auto | None = None

    def __new__(cls) -> _Auto:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AUTO"

    def __reduce__(self) -> str:
        return "AUTO"

    def __copy__(self) -> _Auto:
        return self

    def __deepcopy__(self, memo: dict) -> _Auto:
        return self


AUTO: Any = _Auto()
"""Derive this field at build time (length, checksum, type number...)."""


# ---------------------------------------------------------------- addresses nobody gave

class DefaultAddress(str):
    """An address a layer holds because none was given: IPv4's source 127.0.0.1, IPv6's
    ::1, Ethernet's source 00:00:00:00:00:00 and destination ff:ff:ff:ff:ff:ff.

    Building bytes uses it as it reads, so a frame built without sending is the same every
    time; sending it (wirecraft.send, wirecraft.sendp) puts the route's source address and
    the interface's and the neighbour's MAC in its place. An address given explicitly,
    even the same text, is a plain str and is always sent as given.
    """

    packed: bytes  # the address's bytes, so that building it parses nothing

    def __repr__(self) -> str:
        return str.__repr__(self)


def default_address(text: str, packed: bytes) -> DefaultAddress:
    """The marked default for a field's declaration (`packed`: its bytes)."""
    marked = DefaultAddress(text)
    marked.packed = packed
    return marked


def is_default(value: Any) -> bool:
    """Whether a field holds the default nobody gave (a DefaultAddress)."""
    return type(value) is DefaultAddress


# ---------------------------------------------------------------- address helpers
# Text forms are parsed once: crafting loops give the same few addresses again and again.
# The caches hold only str keys and are emptied when they reach _CACHE_MAX entries.

_CACHE_MAX = 4096
_MAC_CACHE: dict[str, bytes] = {}
_IP4_CACHE: dict[str, bytes] = {}
_IP6_CACHE: dict[str, bytes] = {}


def _remember(cache: dict[str, bytes], key: Any, value: bytes) -> bytes:
    if type(key) is str:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = value
    return value


def mac_bytes(value: Any) -> bytes:
    """6 bytes from "aa:bb:cc:dd:ee:ff", "aa-bb-..", "aabbccddeeff", bytes or int."""
    if type(value) is str:
        b = _MAC_CACHE.get(value)
        if b is not None:
            return b
    elif type(value) is DefaultAddress:
        return value.packed
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
    elif isinstance(value, int):
        b = value.to_bytes(6, "big")
    else:
        text = str(value).replace(":", "").replace("-", "").replace(".", "")
        b = bytes.fromhex(text)
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {value!r}")
    return _remember(_MAC_CACHE, value, b)


def mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip_bytes(value: Any, family: int, size: int, cache: dict, kind: type, label: str) -> bytes:
    """Packed address from text (cached), an ipaddress object, an int or raw bytes."""
    if type(value) is str:
        b = cache.get(value)
        if b is not None:
            return b
    elif type(value) is DefaultAddress:
        if len(value.packed) != size:
            raise ValueError(f"not an {label} address: {value!r}")
        return value.packed
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        if len(b) != size:
            raise ValueError(f"{label} address must be {size} bytes, got {len(b)}")
        return b
    if isinstance(value, int):
        return value.to_bytes(size, "big")
    if isinstance(value, kind):
        return value.packed
    try:
        b = socket.inet_pton(family, str(value))
    except OSError:
        raise ValueError(f"not an {label} address: {value!r}") from None
    return _remember(cache, value, b)


def ip4_bytes(value: Any) -> bytes:
    """4 bytes from a dotted quad, ipaddress object, int or bytes."""
    return _ip_bytes(value, socket.AF_INET, 4, _IP4_CACHE, ipaddress.IPv4Address, "IPv4")


def ip6_bytes(value: Any) -> bytes:
    """16 bytes from an IPv6 string, ipaddress object, int or bytes."""
    return _ip_bytes(value, socket.AF_INET6, 16, _IP6_CACHE, ipaddress.IPv6Address, "IPv6")


def ip4_str(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, b)


_ipv6_text: Any = None


def ip6_str(b: bytes) -> str:
    """An IPv6 address as text by the decoder's own formatter (RFC 5952), so a crafted
    layer shows an address exactly as the decoded packet will: one formatter, not two.
    The decoder is loaded on first use (crafting alone does not load it)."""
    global _ipv6_text
    if _ipv6_text is None:
        _ipv6_text = load("_core").ipv6_text
    return _ipv6_text(bytes(b))


def _fmt(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        v = bytes(value)
        return repr(v) if len(v) <= 48 else repr(v[:48])[:-1] + f"...' ({len(v)} bytes)"
    return repr(value) if not isinstance(value, str) else value


# ---------------------------------------------------------------- field declarations

class FieldSpec(tuple):
    """One field of a crafting layer class as `Layer.fields` lists it: the (name, default)
    pair it was declared as (it unpacks and compares as one), that also tells its `name`,
    `default` and `type`.

    `type` is the field catalogue's (wirecraft.proto: FT_UINT16, FT_IPv4, FT_ETHER...) for
    a field the catalogue maps to this layer, else the kind of value the default is (int,
    bytes, str, list); `auto` says the default is AUTO, derived when the packet is built.
    """

    owner: type | None

    def __new__(cls, name: str, default: Any, owner: type | None = None) -> FieldSpec:
        spec = tuple.__new__(cls, (name, default))
        spec.owner = owner
        return spec

    def __getnewargs__(self) -> tuple[str, Any]:  # type: ignore[override]
        return (self[0], self[1])

    @property
    def name(self) -> str:
        return self[0]  # type: ignore[no-any-return]

    @property
    def default(self) -> Any:
        return self[1]

    @property
    def auto(self) -> bool:
        return self[1] is AUTO

    @property
    def type(self) -> str:
        return field_type(self.owner, self[0], self[1])

    def __repr__(self) -> str:
        return f"FieldSpec({self[0]!r}, {self[1]!r}, type={self.type!r})"


# (crafting class name, field) -> catalogue FT_* type; made on first use (the catalogue
# is built only when something asks a type)
_CATALOGUE_TYPES: dict[tuple[str, str], str] | None = None


def _catalogue_types() -> dict[tuple[str, str], str]:
    global _CATALOGUE_TYPES
    if _CATALOGUE_TYPES is None:
        from .. import proto

        found: dict[tuple[str, str], str] = {}
        for p in proto.PROTOCOLS:
            crafts = [c for c in (p.craft, *p.extra.get("crafts", ())) if c]  # type: ignore[misc]
            for f in p.fields:
                if f.craft:
                    for c in crafts:
                        found.setdefault((c, f.craft), f.type)
                for cname, cfield, _at in f.craft_in:
                    found.setdefault((cname, cfield), f.type)
        _CATALOGUE_TYPES = found
    return _CATALOGUE_TYPES


def field_type(owner: type | None, name: str, default: Any) -> str:
    """The type of field `name` of layer class `owner` (see FieldSpec.type)."""
    if owner is not None:
        types = _catalogue_types()
        for klass in owner.__mro__:
            found = types.get((klass.__name__, name))
            if found is not None:
                return found
    if default is AUTO:
        return "int"  # every AUTO field without a catalogue row is a length or a number
    if default is None:
        return "bytes or None"
    if isinstance(default, bool):
        return "bool"
    for kind in (int, bytes, str, list):
        if isinstance(default, kind):
            return kind.__name__
    return type(default).__name__


# ---------------------------------------------------------------- layers

_NEWLIST: Any = object()  # default of a list field: a fresh list per layer
_NOPOS: Any = object()  # default of the guard that refuses positional arguments
# class attributes that decide how instances are made (see _LayerMeta.__setattr__)
_CONSTRUCTION = frozenset({"__init__", "__new__", "__setattr__", "_init_fields"})


class _LayerMeta(type):
    """Gives each layer class slots for its fields and a generated `__init__`.

    Generated code sets each field directly, so building a layer costs a few
    attribute stores instead of a loop over the field table; _fastobj.c_constructor
    then gives the class a C constructor doing the same stores without a frame.
    """

    def __new__(mcls, cls_name: str, bases: tuple, ns: dict, **kw: Any) -> _LayerMeta:
        inherited: set[str] = set()
        for base in bases:
            for klass in base.__mro__:
                inherited.update(getattr(klass, "__slots__", ()))
        if "__slots__" not in ns:
            own = [n for n, _ in ns.get("fields", ()) if n not in inherited]
            ns["__slots__"] = tuple(own)
        cls = super().__new__(mcls, cls_name, bases, ns, **kw)
        cls._install(cls_name, ns)
        root = globals().get("Layer", cls)
        for attr in (ns.get("name"), *(("ip", "eth") if root is cls else ())):
            if isinstance(attr, str) and attr.isidentifier() and not hasattr(root, attr):
                setattr(root, attr, _layer_property(attr))
        _fo.c_constructor(cls)
        return cls

    # A class keeps the C constructor (_fastobj.c_constructor) only while its __init__ is the
    # generated one and __new__/__setattr__ are object's; changing any of them re-decides,
    # for the subclasses too, which inherit __new__ and __setattr__.
    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _CONSTRUCTION:
            cls._refresh_fast_init()

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        if name in _CONSTRUCTION:
            cls._refresh_fast_init()

    def _refresh_fast_init(cls) -> None:
        todo = [cls]
        while todo:
            klass = todo.pop()
            _fo.c_constructor(klass)
            todo.extend(type.__subclasses__(klass))

    def _install(cls, cls_name: str, ns: dict) -> None:
        # every class lists its fields (its own or inherited) as FieldSpecs naming it
        fields = tuple(FieldSpec(n, d, cls) for n, d in cls.fields)  # type: ignore[has-type]
        cls.fields = fields
        for n, _ in fields:
            if not n.isidentifier() or keyword.iskeyword(n):
                raise TypeError(f"{cls_name}: field name {n!r} is not a Python identifier")
        cls._field_names = frozenset(n for n, _ in fields)
        cls._defaults = {n: d for n, d in fields}
        cls._list_fields = tuple(n for n, d in fields if isinstance(d, list))
        env: dict[str, Any] = {"_NEWLIST": _NEWLIST, "_NOPOS": _NOPOS, "_as_layer": _as_layer_late,
                               "_positional": _positional}
        params, body = [], []
        for i, (n, d) in enumerate(fields):
            if isinstance(d, list):
                params.append(f"{n}=_NEWLIST")
                body.append(f"    self.{n} = [] if {n} is _NEWLIST else {n}")
            else:
                env[f"_d{i}"] = d
                params.append(f"{n}=_d{i}")
                body.append(f"    self.{n} = {n}")
        # Fields are keyword-only: a positional argument lands in the guard parameter and
        # is refused. (Plain parameters rather than `*`: their defaults come from a tuple,
        # not a dict lookup per missing keyword-only field.) No **kwargs: an unknown
        # field is Python's own TypeError naming it.
        sig = ", ".join(["self", "_keywords_only_=_NOPOS", *params, "payload=None"])
        src = (f"def __init__({sig}):\n    if _keywords_only_ is not _NOPOS:\n"
               "        _positional(self)\n"
               + "\n".join(body) + "\n    self.payload = payload if payload is None else "
               "_as_layer(payload)\n    self._resolved = None\n")
        exec(compile(src, f"<wirecraft layer {cls_name}>", "exec"), env)  # noqa: S102
        init = env["__init__"]
        init.__qualname__ = f"{cls_name}.__init__"
        init._wirecraft_generated = True
        cls._init_fields = init  # every field of this class; a hand-written __init__ calls it
        inherited = cls.__init__
        if "__init__" not in ns and (inherited is object.__init__
                                     or getattr(inherited, "_wirecraft_generated", False)):
            cls.__init__ = init
        elif "__init__" in ns and "Layer" in globals() and not getattr(
                ns["__init__"], "_wirecraft_sets_all", False):
            # a hand-written __init__ may set only some fields (or call a parent's): every
            # field starts at its default, as the generic __init__ used to do
            cls.__new__ = staticmethod(_new_with_defaults)


def _layer_property(attr: str) -> property:
    """`pkt.<attr>`: the first layer in the stack named `attr` ("ip": IPv4 or IPv6,
    "eth": Ethernet), else AttributeError."""
    def find(self: Layer) -> Layer:
        node: Layer | None = self
        while node is not None:
            name = node.name
            if name == attr or (attr == "ip" and name in ("ipv4", "ipv6")) or (
                    attr == "eth" and name == "ethernet"):
                return node
            node = node.payload
        raise AttributeError(f"{type(self).__name__} has no field or layer {attr!r}")
    return property(find, doc=f"The first {attr!r} layer of the stack.")


def _new_with_defaults(cls: type, *args: Any, **kw: Any) -> Layer:
    self = object.__new__(cls)
    cls._init_fields(self)
    return self


def _positional(layer: Layer) -> None:
    raise TypeError(f"{type(layer).__name__}() takes its fields as keyword arguments only")


def _as_layer_late(obj: Any) -> Layer:
    return obj if isinstance(obj, Layer) else _as_layer(obj)


# ---------------------------------------------------------------- the plain `/` and copy
# What _fastobj.stack and _fastobj.clone do, without the CPython tricks (WIRECRAFT_NO_FAST).

def _copying_truediv(self: Layer, other: Any) -> Layer:
    """`self / other`: a copy of self's stack with a copy of other's stack on top."""
    top = self.copy()
    right = (other if isinstance(other, Layer) else _as_layer(other)).copy()
    last = top
    while last.payload is not None:
        last = last.payload
    last.payload = right
    return top


_CLONE_SLOTS: dict[type, tuple[tuple[Any, bool], ...]] = {}


def _slot_members(cls: type) -> tuple[tuple[Any, bool], ...]:
    """(member descriptor, is a list field) of every field slot of cls and its bases."""
    found = _CLONE_SLOTS.get(cls)
    if found is None:
        lists = set(getattr(cls, "_list_fields", ()))
        seen: set[str] = set()
        members = []
        for klass in cls.__mro__:
            for name in klass.__dict__.get("__slots__", ()):
                if name in seen or name.startswith("__") or name in ("payload", "_resolved"):
                    continue
                seen.add(name)
                members.append((klass.__dict__[name], name in lists))
        found = _CLONE_SLOTS[cls] = tuple(members)
    return found


def _plain_clone(self: Layer) -> Layer:
    """A copy of one layer: every field shared, list fields copied into new lists, no
    payload, nothing derived yet (as _fastobj.clone, through the slot descriptors)."""
    cls = type(self)
    new = object.__new__(cls)
    for member, is_list in _slot_members(cls):
        try:
            value = member.__get__(self, cls)
        except AttributeError:
            continue  # a slot never set stays unset
        member.__set__(new, list(value) if is_list and type(value) is list else value)
    own = getattr(self, "__dict__", None)
    if own is not None:  # a subclass that asked for a __dict__ as well
        new.__dict__.update(own)
    _PAYLOAD_SLOT.__set__(new, None)
    _RESOLVED_SLOT.__set__(new, None)
    return new


class Layer(metaclass=_LayerMeta):
    """One protocol header (plus, through `.payload`, the layers above it).

    Subclasses list their fields in `fields` as (name, default) pairs and
    implement `_serialize(payload, stack, index)`, which returns this layer's
    bytes followed by `payload` and records derived values in `self._resolved`.
    """

    __slots__ = ("payload", "_resolved")
    fields: ClassVar[tuple[tuple[str, Any], ...]] = ()

    def __init__(self, **values: Any) -> None:
        """Set every field from `values` or its default (subclasses get a generated copy of
        this for their own fields; a hand-written `__init__` may call this one)."""
        type(self)._init_fields(self, **values)

    __init__._wirecraft_generated = True  # type: ignore[attr-defined]  # subclasses replace it
    name: ClassVar[str] = "layer"
    _field_names: ClassVar[frozenset[str]] = frozenset()
    _defaults: ClassVar[dict[str, Any]] = {}
    _list_fields: ClassVar[tuple[str, ...]] = ()

    # -- stacking and navigation -------------------------------------------
    # `a / b` leaves a and b untouched: an operand is copied unless its reference count
    # (and those of the layers above it) says nobody else can see it -- a layer made in
    # the same expression, the result of the previous `/` -- which keeps a chain of `/`
    # from copying the stack once per operator. See _fastobj.stack and _calibrate below;
    # with the tricks off, _copying_truediv (both operands copied, always).
    __truediv__ = _fo.stack if _FAST else _copying_truediv

    def __rtruediv__(self, other: Any) -> Layer:
        return _as_layer(other) / self

    def layers(self) -> list[Layer]:
        """This layer and every layer above it, outermost first."""
        out: list[Layer] = []
        node: Layer | None = self
        while node is not None:
            out.append(node)
            node = node.payload
        return out

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers())

    def getlayer(self, cls: type[Layer] | str, nth: int = 0) -> Layer | None:
        """The nth layer of class `cls` (or with that `name`), or None."""
        seen = 0
        for layer in self.layers():
            if (isinstance(cls, str) and cls in (layer.name, type(layer).__name__)) or (
                    isinstance(cls, type) and isinstance(layer, cls)):
                if seen == nth:
                    return layer
                seen += 1
        return None

    def __getitem__(self, cls: type[Layer] | str) -> Layer:
        layer = self.getlayer(cls)
        if layer is None:
            raise KeyError(f"no {getattr(cls, '__name__', cls)} layer in {self.summary()}")
        return layer

    def __contains__(self, cls: type[Layer] | str) -> bool:
        return self.getlayer(cls) is not None

    # Layer access by name (pkt.tcp, pkt.dns, pkt.ip, pkt.eth) is a property per layer name,
    # installed on Layer as each layer class is made (_LayerMeta), not a __getattr__ hook:
    # a class with __getattr__ makes every field read take CPython's slow attribute path.

    # -- copies ----------------------------------------------------------
    def copy(self, **changes: Any) -> Layer:
        """A deep copy of the stack; `changes` set fields on the first layer that has them.

        A key may also name the layer: `copy(ipv4_ttl=3, udp_dst_port=5353)`.
        """
        new = self._clone()
        node, src = new, self.payload
        while src is not None:
            c = src._clone()
            node.payload = c
            node, src = c, src.payload
        for key, value in changes.items():
            new._apply_change(key, value)
        return new

    replace = copy

    # A copy of this layer alone: fields shared, list fields copied, no payload (slots
    # copied by offset in _fastobj.clone; _plain_clone through the slot descriptors).
    _clone: Any = _fo.clone if _FAST else _plain_clone

    def _apply_change(self, key: str, value: Any) -> None:
        for layer in self.layers():
            if key in layer._field_names:
                object.__setattr__(layer, key, value)
                return
        for layer in self.layers():
            prefix = layer.name + "_"
            if key.startswith(prefix) and key[len(prefix):] in layer._field_names:
                object.__setattr__(layer, key[len(prefix):], value)
                return
        raise TypeError(f"no layer in {self.summary()} has a field {key!r}")

    # -- building --------------------------------------------------------
    # Serialize the stack, deriving every AUTO field: each layer's `_serialize` from the
    # top down, the common layers without a Python frame each (_craft.build).
    build = _c.build
    __bytes__ = _c.build

    def __len__(self) -> int:
        return len(self.build())

    def __bool__(self) -> bool:
        return True

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        raise NotImplementedError

    def value(self, fname: str) -> Any:
        """The field as it was last built: the derived value for AUTO fields."""
        v = getattr(self, fname)
        if v is AUTO:
            return self._resolved.get(fname, AUTO) if self._resolved else AUTO
        return v

    def _auto(self, fname: str, compute: Any) -> Any:
        """The explicit value of `fname`, else `compute` (a value or a 0-arg callable)."""
        v = getattr(self, fname)
        if v is AUTO:
            v = compute() if callable(compute) else compute
            self._resolved[fname] = v
        return v

    # -- presentation ----------------------------------------------------
    def _summary_one(self) -> str:
        return type(self).__name__

    def summary(self) -> str:
        """One line: each layer's essentials, joined by ' / '."""
        self.build()
        return " / ".join(layer._summary_one() for layer in self.layers())

    def show(self, dump: bool = False, file: Any = None) -> str | None:
        """Every field of every layer, derived values included (marked "(auto)"), scapy's
        way: a `###[ Name ]###` header per layer, a `  name = value` line per field.
        Printed (to `file`, else stdout), or returned with dump=True."""
        self.build()
        lines = []
        for layer in self.layers():
            lines.append(f"###[ {type(layer).__name__} ]###")
            for fname, _ in layer.fields:
                raw = getattr(layer, fname)
                shown = layer.value(fname)
                tag = "  (auto)" if raw is AUTO else ""
                lines.append(f"  {fname:<16}= {_fmt(layer._display(fname, shown))}{tag}")
        text = "\n".join(lines)
        if dump:
            return text
        print(text, file=file)
        return None

    def hexdump(self, link: bool = False, dump: bool = False, file: Any = None) -> str | None:
        """The built bytes as `tcpdump -X` prints them: from the network header on (link=True:
        the whole frame, as `tcpdump -XX`). Printed, or returned with dump=True."""
        from ..present import layer_hexdump
        return layer_hexdump(self, link, dump, file)

    def _display(self, fname: str, value: Any) -> Any:
        if fname == "checksum" and isinstance(value, int):
            return f"0x{value:04x}"
        return value

    def __repr__(self) -> str:
        parts = []
        for fname, default in self.fields:
            v = getattr(self, fname)
            if v is not AUTO and v != default:
                parts.append(f"{fname}={v!r}")
        own = f"{type(self).__name__}({', '.join(parts)})"
        return own if self.payload is None else f"{own} / {self.payload!r}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None  # type: ignore[assignment]

    # -- interop ---------------------------------------------------------
    def to_scapy(self) -> Any:
        """The same bytes as a scapy packet (dissected by scapy from our bytes)."""
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6 as ScapyIPv6
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw as ScapyRaw

        data = bytes(self)
        first = self.name
        if first == "ethernet":
            return Ether(data)
        if first == "ipv4":
            return IP(data)
        if first == "ipv6":
            return ScapyIPv6(data)
        return ScapyRaw(data)


class Raw(Layer):
    """Bytes carried as they are (application data, padding, an unknown header)."""

    name = "raw"
    fields = (("load", b""),)

    def __init__(self, load: bytes | str | bytearray = b"", **kw: Any) -> None:
        self._init_fields(load=load, **kw)

    __init__._wirecraft_sets_all = True  # type: ignore[attr-defined]  # no defaults preset

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        load = self.load
        if isinstance(load, str):
            load = load.encode()
        return bytes(load) + payload

    def _summary_one(self) -> str:
        load = self.load.encode() if isinstance(self.load, str) else bytes(self.load)
        return f"Raw {len(load)} bytes"


def _as_layer(obj: Any) -> Layer:
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview, str)):
        return Raw(bytes(obj) if not isinstance(obj, str) else obj.encode())
    raise TypeError(f"cannot stack a {type(obj).__name__} onto a layer")


# the slots every layer has (Layer's own), for _plain_clone
_PAYLOAD_SLOT: Any = Layer.__dict__["payload"]
_RESOLVED_SLOT: Any = Layer.__dict__["_resolved"]


# ---------------------------------------------------------------- `/` without copies

def _calibrate() -> tuple[int, int, int]:
    """Reference counts of `/` operands nobody else holds, as _fastobj.stack sees them.

    Measured on this interpreter rather than assumed, with `/` still copying everything;
    if a held operand cannot be told from a temporary (an interpreter that lends
    references), the limits stay 0 and `/` always copies.
    """
    _fo.set_rc_limits(0, 0, 0)
    if not _FAST:
        return 0, 0, 0
    Raw(b"") / Raw(b"")
    t_self, t_other = _fo.seen_rc()
    a, b = Raw(b""), Raw(b"")
    a / b
    n_self, n_other = _fo.seen_rc()
    chain = Raw(b"")
    chain.payload = Raw(b"")
    t_chain = _fo.chain_rc(chain)
    held = chain.payload
    n_chain = _fo.chain_rc(chain)
    del held
    if n_self > t_self and n_other > t_other and n_chain > t_chain:
        return t_self, t_other, t_chain
    return 0, 0, 0


_fo.register(Layer, _as_layer)
_c.register(AUTO=AUTO, Layer=Layer, mac_cache=_MAC_CACHE, ip4_cache=_IP4_CACHE,
            mac_bytes=mac_bytes, ip4_bytes=ip4_bytes, DefaultAddress=DefaultAddress)
_fo.register_meta(_LayerMeta)  # layer classes made from here on get the C constructor
_RC_SELF, _RC_OTHER, _RC_CHAIN = _calibrate()
_fo.set_rc_limits(_RC_SELF, _RC_OTHER, _RC_CHAIN)
