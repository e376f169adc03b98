# Included by _craft.pyx (one extension module): the build of a layer stack, on the
# header builders defined there.
# wirecraft.craft registers its classes and helpers here (register()); build() then
# serializes Ethernet, IPv4, UDP and one-question DNS layers without a Python frame each
# and calls `_serialize` of every other layer. Each fast path does what the layer's own
# `_serialize` does (the Python methods call these same functions), field by field.

cdef object _AUTO = object()
cdef object _Eth = None, _IP4 = None, _UDP = None, _DNS = None, _Question = None
cdef object _Layer = None
cdef object _DefaultAddress = None  # base.DefaultAddress: a default carrying its bytes
cdef PyTypeObject* _LayerT = NULL  # the type object _Layer holds
cdef dict _MAC_CACHE = {}, _IP4_CACHE = {}, _NAME_CACHE = {}, _TYPES = {}, _CLASSES = {}
cdef dict _ETHERTYPES = {}, _PROTOCOLS = {}
cdef object _mac_bytes = None, _ip4_bytes = None, _ethertype_of = None
cdef object _ip_protocol_of = None, _pseudo_addrs = None, _encoded = None, _udp_port_of = None
cdef object _type_number = None, _class_number = None
cdef bint _question_plain = False


# The serializers below read the fields they need straight from the instance slots, at
# offsets _fastobj.slot_offset takes from each class's member descriptors at registration
# (attribute lookup would cost more than the rest of the work); with the CPython tricks off
# the offsets are 0 and the same reads are plain attribute lookups. Only instances of the
# registered class (checked before every read: exact type, or Layer for payload/_resolved)
# are read this way.

cdef enum:
    F_PAYLOAD, F_RESOLVED,
    E_DST, E_SRC, E_TYPE, E_TRAILER,
    I_VERSION, I_HL, I_TOS, I_TOTAL, I_ID, I_FLAGS, I_FRAG, I_TTL, I_PROTO, I_CSUM, I_SRC,
    I_DST, I_OPTIONS,
    U_SRC, U_DST, U_LEN, U_CSUM,
    D_ID, D_QR, D_OPCODE, D_AA, D_TC, D_RD, D_RA, D_Z, D_AD, D_CD, D_RCODE, D_QD, D_AN, D_NS,
    D_AR, D_QUESTIONS, D_ANSWERS, D_AUTH, D_ADD,
    Q_NAME, Q_TYPE, Q_CLASS,
    N_FIELDS

# The fields each serializer reads, in the order of the enum above: not a declaration of
# the layers (their classes' `fields` are that), a list of the reads, which register()
# checks against each class's `fields`, so renaming a field fails at import, not at build.
cdef tuple _READS = (
    ("Layer", "payload"), ("Layer", "_resolved"),
    ("Ethernet", "dst"), ("Ethernet", "src"), ("Ethernet", "type"), ("Ethernet", "trailer"),
    ("IPv4", "version"), ("IPv4", "header_length"), ("IPv4", "tos"), ("IPv4", "total_length"),
    ("IPv4", "id"), ("IPv4", "flags"), ("IPv4", "frag_offset"), ("IPv4", "ttl"),
    ("IPv4", "protocol"), ("IPv4", "checksum"), ("IPv4", "src"), ("IPv4", "dst"),
    ("IPv4", "options"),
    ("UDP", "src_port"), ("UDP", "dst_port"), ("UDP", "length"), ("UDP", "checksum"),
    ("DNS", "id"), ("DNS", "qr"), ("DNS", "opcode"), ("DNS", "aa"), ("DNS", "tc"), ("DNS", "rd"),
    ("DNS", "ra"), ("DNS", "z"), ("DNS", "ad"), ("DNS", "cd"), ("DNS", "rcode"),
    ("DNS", "qdcount"), ("DNS", "ancount"), ("DNS", "nscount"), ("DNS", "arcount"),
    ("DNS", "questions"), ("DNS", "answers"), ("DNS", "authorities"), ("DNS", "additionals"),
    ("Question", "name"), ("Question", "type"), ("Question", "rclass"),
)
assert len(_READS) == N_FIELDS

cdef Py_ssize_t _OFF[N_FIELDS]
cdef tuple _NAMES = tuple([name for _, name in _READS])


cdef void _take_offsets(str cls_name, object cls) except *:
    cdef Py_ssize_t k
    declared = cls.__slots__ if cls_name in ("Layer", "Question") else [n for n, _ in cls.fields]
    for k in range(N_FIELDS):
        if _READS[k][0] != cls_name:
            continue
        if <str>_NAMES[k] not in declared:
            raise TypeError(f"{cls_name} has no field {_NAMES[k]!r}, which wirecraft._craft "
                            "serializes")
        _OFF[k] = slot_offset(cls, <str>_NAMES[k])


cdef inline object _get(object obj, int k):
    # obj is an instance of the class field k was registered for (callers check the type),
    # so _OFF[k] lies inside it
    cdef PyObject* v = slot_peek(obj, _OFF[k])
    if v != NULL:
        return <object>v
    return _get_by_name(obj, k)


cdef object _get_by_name(object obj, int k):
    # out of line, so that _get stays a pointer load: no offset, or an unset slot
    # (getattr raises its AttributeError)
    return getattr(obj, <str>_NAMES[k])


cdef inline int _put(object obj, int k, object value) except -1:
    # same precondition as _get
    if not slot_poke(obj, _OFF[k], value):
        setattr(obj, <str>_NAMES[k], value)
    return 0


cdef inline object _payload(object node):
    if _LayerT != NULL and PyObject_TypeCheck(node, _LayerT):
        return _get(node, F_PAYLOAD)
    return node.payload


# the DNS header's flag layout, one (shift, mask) per field D_QR .. D_RCODE in that order;
# register(dns_flags=wirecraft.proto.dns.FLAGS) sets it from the one declaration
cdef tuple _DFLAG_NAMES = ("qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad", "cd", "rcode")
cdef int _DFLAG_SHIFT[10]
cdef uint32_t _DFLAG_MASK[10]
_DFLAG_SHIFT[:] = [15, 11, 10, 9, 8, 7, 6, 5, 4, 0]
_DFLAG_MASK[:] = [1, 15, 1, 1, 1, 1, 1, 1, 1, 15]


cdef void _set_dns_flags(object layout) except *:
    cdef int k
    by_name = {row[0]: (row[1], row[2]) for row in layout}
    if set(by_name) != set(_DFLAG_NAMES):
        raise ValueError(f"DNS flag layout names {sorted(by_name)}, not {_DFLAG_NAMES}")
    for k in range(10):
        shift, width = by_name[_DFLAG_NAMES[k]]
        _DFLAG_SHIFT[k] = shift
        _DFLAG_MASK[k] = (1 << width) - 1


def register(**names) -> None:
    """Called by wirecraft.craft at import: the layer classes, caches and helpers used here."""
    global _AUTO, _Eth, _IP4, _UDP, _DNS, _Question, _Layer, _MAC_CACHE, _IP4_CACHE
    global _NAME_CACHE, _TYPES, _CLASSES, _mac_bytes, _ip4_bytes, _ethertype_of
    global _ip_protocol_of, _pseudo_addrs, _encoded, _type_number, _class_number
    global _ETHERTYPES, _PROTOCOLS, _LayerT, _question_plain, _udp_port_of, _DefaultAddress
    for key, value in names.items():
        if key in ("Ethernet", "IPv4", "UDP", "DNS", "Question", "Layer"):
            # the classes whose slots the serializer reads directly
            if not isinstance(value, type):
                raise TypeError(f"{key} must be a class")
            _take_offsets(key, value)
        if key == "AUTO": _AUTO = value
        elif key == "Ethernet": _Eth = value
        elif key == "IPv4": _IP4 = value
        elif key == "UDP": _UDP = value
        elif key == "DNS": _DNS = value
        elif key == "Question":
            _Question = value
            # dns_query may make one without calling it: a slots dataclass of exactly the
            # fields name, type, rclass, with object's __new__ and __setattr__
            _question_plain = (getattr(value, "__slots__", None) == ("name", "type", "rclass")
                               and value.__new__ is object.__new__
                               and value.__setattr__ is object.__setattr__
                               and not hasattr(value, "__post_init__"))
        elif key == "Layer":
            _Layer = value
            _LayerT = <PyTypeObject*>value
        elif key == "DefaultAddress": _DefaultAddress = value
        elif key == "mac_cache": _MAC_CACHE = value
        elif key == "ip4_cache": _IP4_CACHE = value
        elif key == "name_cache": _NAME_CACHE = value
        elif key == "dns_flags": _set_dns_flags(value)
        elif key == "types": _TYPES = value
        elif key == "classes": _CLASSES = value
        elif key == "mac_bytes": _mac_bytes = value
        elif key == "ip4_bytes": _ip4_bytes = value
        elif key == "ethertype_of": _ethertype_of = value
        elif key == "ip_protocol_of": _ip_protocol_of = value
        elif key == "udp_port_of": _udp_port_of = value
        elif key == "pseudo_addrs": _pseudo_addrs = value
        elif key == "encoded": _encoded = value
        elif key == "type_number": _type_number = value
        elif key == "class_number": _class_number = value
        elif key == "ethertypes": _ETHERTYPES = value
        elif key == "protocols": _PROTOCOLS = value
        else:
            raise TypeError(f"register: unknown name {key!r}")


@cython.final
@cython.freelist(32)
@cython.no_gc  # holds ints and a tuple of str: no reference cycle can pass through it
cdef class Derived:
    """What the last build derived for a layer's AUTO fields: a small read-only mapping.

    Layer._resolved of Ethernet, IPv4, UDP and DNS layers (other layers use a dict); a
    field left out was given explicitly (value None here means "not derived").
    """

    cdef tuple names
    cdef object v0, v1, v2, v3, v4

    cdef inline object _at(self, Py_ssize_t k):
        if k == 0:
            return self.v0
        if k == 1:
            return self.v1
        if k == 2:
            return self.v2
        if k == 3:
            return self.v3
        return self.v4

    cdef Py_ssize_t _find(self, object key):
        cdef Py_ssize_t k
        for k in range(len(self.names)):
            if self.names[k] == key:
                return k if self._at(k) is not None else -1
        return -1

    def get(self, key, default=None):
        cdef Py_ssize_t k = self._find(key)
        return default if k < 0 else self._at(k)

    def __getitem__(self, key):
        cdef Py_ssize_t k = self._find(key)
        if k < 0:
            raise KeyError(key)
        return self._at(k)

    def __contains__(self, key) -> bool:
        return self._find(key) >= 0

    def keys(self) -> list:
        return [n for k, n in enumerate(self.names) if self._at(k) is not None]

    def items(self) -> list:
        return [(n, self._at(k)) for k, n in enumerate(self.names) if self._at(k) is not None]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


cdef tuple _ETH_DERIVED = ("type",)
cdef tuple _IP4_DERIVED = ("header_length", "total_length", "protocol", "id", "checksum")
cdef tuple _UDP_DERIVED = ("length", "checksum", "src_port", "dst_port")
cdef tuple _DNS_DERIVED = ("qdcount", "ancount", "nscount", "arcount")


cdef inline Derived _derived(tuple names):
    cdef Derived d = Derived.__new__(Derived)
    d.names = names
    return d


cdef inline bytes _mac(object v):
    cdef object b
    if type(v) is str:
        b = _MAC_CACHE.get(v)
        if b is not None:
            return <bytes>b
    elif type(v) is _DefaultAddress:
        b = v.packed
        if type(b) is bytes and len(<bytes>b) == 6:
            return <bytes>b
    return _mac_bytes(v)


cdef inline bytes _ip4(object v):
    cdef object b
    if type(v) is str:
        b = _IP4_CACHE.get(v)
        if b is not None:
            return <bytes>b
    elif type(v) is _DefaultAddress:
        b = v.packed
        if type(b) is bytes and len(<bytes>b) == 4:
            return <bytes>b
    return _ip4_bytes(v)


cdef inline object _upper(list stack, Py_ssize_t i):
    return stack[i + 1] if i + 1 < len(stack) else None


cdef bytes _ethernet_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    etype = _get(layer, E_TYPE)
    if etype is _AUTO:
        upper = _upper(stack, i)
        etype = _ETHERTYPES.get(type(upper))
        if etype is None:
            etype = _ethertype_of(upper)
        r.v0 = etype
    trailer = _get(layer, E_TRAILER)
    if type(trailer) is not bytes:
        trailer = bytes(trailer)
    return _eth_c(_mac(_get(layer, E_DST)), _mac(_get(layer, E_SRC)), etype & 0xFFFF, payload, trailer)


cdef bytes _ipv4_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    options = _get(layer, I_OPTIONS)
    if options:
        options = bytes(options)
        if len(options) % 4:
            options = options + b"\0" * (4 - len(options) % 4)
    elif type(options) is not bytes:
        options = b""
    hl = _get(layer, I_HL)
    if hl is _AUTO:
        hl = 20 + len(options)
        r.v0 = hl
    total = _get(layer, I_TOTAL)
    if total is _AUTO:
        total = 20 + len(options) + len(payload)
        r.v1 = total
    proto = _get(layer, I_PROTO)
    if proto is _AUTO:
        upper = _upper(stack, i)
        proto = _PROTOCOLS.get(type(upper)) if upper is not None else 0
        if proto is None:
            proto = _ip_protocol_of(upper, 0)
        r.v2 = proto
    flags = _get(layer, I_FLAGS)
    if type(flags) is not int:
        flags = layer.flags_int()
    flags_frag = ((flags & 7) << 13) | ((_get(layer, I_FRAG) // 8) & 0x1FFF)
    ident = _get(layer, I_ID)
    if ident is _AUTO:
        ident = 1
        r.v3 = 1
    csum = _get(layer, I_CSUM)
    cdef bytes out = _ipv4_c(hl, _get(layer, I_TOS), total & 0xFFFF, ident & 0xFFFF, flags_frag,
                             _get(layer, I_TTL), proto, -1 if csum is _AUTO else csum, _ip4(_get(layer, I_SRC)),
                             _ip4(_get(layer, I_DST)), options, payload, _get(layer, I_VERSION))
    if csum is _AUTO:
        r.v4 = (out[10] << 8) | out[11]
    return out


cdef bytes _udp_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    cdef uint8_t h[8]
    length = _get(layer, U_LEN)
    if length is _AUTO:
        length = 8 + len(payload)
        r.v0 = length
    src_port = _get(layer, U_SRC)
    dst_port = _get(layer, U_DST)
    if src_port is _AUTO or dst_port is _AUTO:
        # the port the binding table gives the layer above (wirecraft.craft.layers)
        bound = _udp_port_of(_upper(stack, i))
        if src_port is _AUTO:
            src_port = r.v2 = bound
        if dst_port is _AUTO:
            dst_port = r.v3 = bound
    cdef uint16_t sport = src_port, dport = dst_port
    _put16(h, sport)
    _put16(h + 2, dport)
    _put16(h + 4, <uint32_t>(length & 0xFFFF))
    h[6] = 0
    h[7] = 0
    csum = _get(layer, U_CSUM)
    cdef bytes seg
    if csum is not _AUTO:
        return _transport_c(h, 8, payload, 6, csum & 0xFFFF, None, None, 17, False)
    below = stack[i - 1] if i > 0 else None
    if type(below) is _IP4:
        src, dst = _ip4(_get(below, I_SRC)), _ip4(_get(below, I_DST))
    else:
        src, dst = _pseudo_addrs(stack, i)
    seg = _transport_c(h, 8, payload, 6, -2, src, dst, 17, True)
    r.v1 = (seg[6] << 8) | seg[7]
    return seg


cdef object _dns_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    """One question and no records (a query): header + cached name + type/class."""
    questions = _get(layer, D_QUESTIONS)
    if (type(questions) is not list or len(questions) != 1 or _get(layer, D_ANSWERS)
            or _get(layer, D_AUTH) or _get(layer, D_ADD)
            or type((<list>questions)[0]) is not _Question):
        return None  # the general writer in DNS._serialize
    q = (<list>questions)[0]
    cdef uint16_t counts[4]
    qd = _get(layer, D_QD)
    if qd is _AUTO:
        qd = r.v0 = 1
    an = _get(layer, D_AN)
    if an is _AUTO:
        an = r.v1 = 0
    ns = _get(layer, D_NS)
    if ns is _AUTO:
        ns = r.v2 = 0
    ar = _get(layer, D_AR)
    if ar is _AUTO:
        ar = r.v3 = 0
    counts[0] = qd & 0xFFFF
    counts[1] = an & 0xFFFF
    counts[2] = ns & 0xFFFF
    counts[3] = ar & 0xFFFF
    cdef uint32_t ident = _get(layer, D_ID) & 0xFFFF
    # the flags word from the one layout (wirecraft.proto.dns.FLAGS, given to register)
    cdef uint32_t flags = 0
    cdef int k
    cdef long long fv
    for k in range(10):
        fv = _get(layer, D_QR + k)
        flags |= (<uint32_t>fv & _DFLAG_MASK[k]) << _DFLAG_SHIFT[k]
    name = _get(q, Q_NAME)
    hit = None
    if type(name) is str or type(name) is bytes:
        hit = _NAME_CACHE.get(name)
    if hit is None:
        hit = _encoded(name)
    cdef bytes wire = (<tuple>hit)[1]
    qtype = _get(q, Q_TYPE)
    t = _TYPES.get(qtype) if type(qtype) is str else None
    if t is None:
        t = _type_number(qtype)
    qclass = _get(q, Q_CLASS)
    c = _CLASSES.get(qclass) if type(qclass) is str else None
    if c is None:
        c = _class_number(qclass)
    cdef uint32_t tn = t, cn = c
    cdef Py_ssize_t wlen = len(wire), plen = len(payload)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 12 + wlen + 4 + plen)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    _put16(o, ident)
    _put16(o + 2, flags)
    _put16(o + 4, counts[0])
    _put16(o + 6, counts[1])
    _put16(o + 8, counts[2])
    _put16(o + 10, counts[3])
    memcpy(o + 12, PyBytes_AS_STRING(wire), wlen)  # out sized 12 + wlen + 4 + plen
    _put16(o + 12 + wlen, tn)
    _put16(o + 14 + wlen, cn)
    memcpy(o + 16 + wlen, PyBytes_AS_STRING(payload), plen)
    return out


def build(object top) -> bytes:
    """Serialize a layer stack, deriving every AUTO field (Layer.build)."""
    cdef list stack = []
    node = top
    while node is not None:
        stack.append(node)
        node = _payload(node)
    cdef Py_ssize_t i
    cdef Derived r
    data = b""
    for i in range(len(stack) - 1, -1, -1):
        layer = stack[i]
        t = type(layer)
        if t is _UDP:
            r = _derived(_UDP_DERIVED)
            data = _udp_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        elif t is _IP4:
            r = _derived(_IP4_DERIVED)
            data = _ipv4_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        elif t is _Eth:
            r = _derived(_ETH_DERIVED)
            data = _ethernet_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        else:
            out = None
            if t is _DNS:
                r = _derived(_DNS_DERIVED)
                out = _dns_layer(layer, data, stack, i, r)
                if out is not None:
                    _put(layer, F_RESOLVED, r)
            if out is None:
                layer._resolved = {}
                out = layer._serialize(data, stack, i)
            data = out
        if type(data) is not bytes:
            data = bytes(data)
    return data


cdef dict _PLAIN = {}


cdef object _as_registered(object layer, object base):
    """`layer` itself if its class keeps `base`'s field slots, else a `base` copy of its fields.

    A subclass that turns a field into a property is read through that property.
    """
    t = type(layer)
    ok = _PLAIN.get(t)
    if ok is None:
        ok = all(getattr(t, n) is getattr(base, n) for n, _ in base.fields)
        _PLAIN[t] = ok
    if ok:
        return layer
    plain = object.__new__(base)
    for n, _ in base.fields:
        setattr(plain, n, getattr(layer, n))
    plain.payload = None
    return plain


def serialize_layer(object layer, bytes payload, list stack, Py_ssize_t index) -> bytes:
    """`_serialize` of Ethernet, IPv4 and UDP layers (and their subclasses); build() calls
    the same code directly."""
    cdef Derived r
    if isinstance(layer, _UDP):
        r = _derived(_UDP_DERIVED)
        out = _udp_layer(_as_registered(layer, _UDP), payload, stack, index, r)
    elif isinstance(layer, _IP4):
        r = _derived(_IP4_DERIVED)
        out = _ipv4_layer(_as_registered(layer, _IP4), payload, stack, index, r)
    elif isinstance(layer, _Eth):
        r = _derived(_ETH_DERIVED)
        out = _ethernet_layer(_as_registered(layer, _Eth), payload, stack, index, r)
    else:
        raise TypeError(f"no fast path for {type(layer).__name__}")
    layer._resolved = r
    return out



cdef tuple _QUERY_FIELDS = ("id", "questions")


def dns_query(cls, name, type="A", id=0, rclass="IN", **fields):
    """DNS.query: a recursive query for one name (rd=1, as resolvers send).

    The message DNS(id=id, questions=[Question(name, type, rclass)], **fields) makes; for
    DNS itself and no other fields, made (with the CPython tricks on) without running
    either __init__.
    """
    if fields or cls is not _DNS or not _question_plain or not fast_on():
        return cls(id=id, questions=[_Question(name, type, rclass)], **fields)
    # the Question dataclass as its __init__ makes it: three slots set (see register)
    q = bare_instance(_Question)
    _put(q, Q_NAME, name)
    _put(q, Q_TYPE, type)
    _put(q, Q_CLASS, rclass)
    obj = make_layer(cls, _QUERY_FIELDS, (id, [q]))
    if obj is None:  # DNS has no C constructor (a changed __init__, say)
        return cls(id=id, questions=[q])
    return obj
