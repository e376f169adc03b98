# Included by _core.pyx (one module, wirecraft._core): the decoder's dispatch tables
# (proto/dispatch.pxd), filled at import from the binding table's rows (BINDING_ROWS,
# compiled in from src/wirecraft/proto/_bind.py by tools/gen_bindings.py, so importing
# the core does not import the catalogue package; tests/test_bindings.py checks the copy).

include "bindings.pxi"

# --------------------------------------------------------------------------
# Dispatch from the binding table (src/wirecraft/proto/_bind.py)
# --------------------------------------------------------------------------

# binding field -> table; ip.proto and ipv6.nxt share one table
_DISPATCH_FIELDS = {"eth.type": "ethertype", "ip.proto": "ip.proto", "ipv6.nxt": "ip.proto",
                    "udp.port": "udp.port", "tcp.port": "tcp.port"}
# table -> entries (the range of its numbers)
_DISPATCH_SIZE = {"ethertype": 65536, "ip.proto": 256, "udp.port": 65536, "tcp.port": 65536}
# upper protocol -> what its number selects, per table; a row whose upper has no C
# decoder (or application hint) here is not the decoder's business and is skipped
_DISPATCH_CODES = {
    "ethertype": {"vlan": NEXT_VLAN, "ip": NEXT_IPV4, "ipv6": NEXT_IPV6, "arp": NEXT_ARP},
    "ip.proto": {"tcp": NEXT_TCP, "udp": NEXT_UDP, "icmp": NEXT_ICMP, "icmpv6": NEXT_ICMPV6},
    "udp.port": {"dns": APP_DNS, "mdns": APP_MDNS, "llmnr": APP_LLMNR, "smtp": APP_SMTP},
    "tcp.port": {"dns": APP_DNS, "mdns": APP_MDNS, "llmnr": APP_LLMNR, "smtp": APP_SMTP},
}


cdef uint8_t* _dispatch_table(str name) noexcept:
    if name == "ethertype":
        return wc_next_ethertype
    if name == "ip.proto":
        return wc_next_ipproto
    if name == "udp.port":
        return wc_app_udp
    return wc_app_tcp


def load_bindings(bindings=None):
    """Fill the decoder's dispatch tables from binding rows: `wirecraft.proto._bind.Binding`
    objects or (lower, upper, field, values) tuples; None loads BINDING_ROWS (the binding
    table as compiled in), as import does.  A Binding whose `decode` is False (crafting
    only) is left out.

    Every table is rebuilt from the rows alone, so a number no row holds selects no
    decoder.  Raises ValueError (tables unchanged) when a value does not fit its field
    or one number would select two protocols in the same table.  Not thread-safe with
    decoding: call it before reading."""
    if bindings is None:
        bindings = BINDING_ROWS
    cdef dict staged = {name: {} for name in _DISPATCH_CODES}
    cdef dict chosen
    for b in bindings:
        if isinstance(b, tuple):
            lower, upper, field, values = b
        else:
            if not getattr(b, "decode", True):
                continue    # a crafting-only row (extension headers, IP in IP)
            lower, upper, field, values = b.lower, b.upper, b.field, b.values
        name = _DISPATCH_FIELDS.get(field)
        if name is None:
            continue
        size = _DISPATCH_SIZE[name]
        code = _DISPATCH_CODES[name].get(upper)
        if code is None:
            continue
        chosen = staged[name]
        for v in values:
            if not 0 <= v < size:
                raise ValueError(f"binding {lower}->{upper}: {field} {v} out of range")
            if chosen.get(v, code) != code:
                raise ValueError(f"binding {lower}->{upper}: {field} {v} already "
                                 f"selects another protocol")
            chosen[v] = code
    cdef uint8_t* t
    for name, chosen in staged.items():
        t = _dispatch_table(name)
        memset(t, 0, _DISPATCH_SIZE[name])
        for v, code in chosen.items():
            t[<Py_ssize_t>v] = <uint8_t>code


def dispatch_tables():
    """What the decoder's dispatch tables hold now, read back from C: {table: {number:
    protocol}} for 'ethertype', 'ip.proto' (IPv4 protocol and IPv6 next header),
    'udp.port' and 'tcp.port'.  For tests and introspection."""
    out = {}
    cdef uint8_t* t
    cdef Py_ssize_t i
    for name, codes in _DISPATCH_CODES.items():
        back = {code: upper for upper, code in codes.items()}
        t = _dispatch_table(name)
        out[name] = {i: back[t[i]] for i in range(_DISPATCH_SIZE[name]) if t[i]}
    return out


load_bindings()
