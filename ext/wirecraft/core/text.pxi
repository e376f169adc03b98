# Included by _core.pyx (one module, wirecraft._core): MAC and IP address text.

# --------------------------------------------------------------------------
# Address text (MAC, IPv4, IPv6), with a cache of the str objects
# --------------------------------------------------------------------------

cdef const char* HEXDIGITS = b"0123456789abcdef"


cdef inline str mac_text(uint64_t m):
    cdef char tmp[17]
    cdef int i, k = 0
    cdef unsigned b
    for i in range(6):
        b = <unsigned>((m >> (40 - 8 * i)) & 0xFF)
        if i:
            tmp[k] = 58       # ':'
            k += 1
        tmp[k] = HEXDIGITS[b >> 4]
        tmp[k + 1] = HEXDIGITS[b & 15]
        k += 2
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef inline int put_dec(char* out, unsigned v) noexcept nogil:
    """Write v (0..255) in decimal; return the number of characters."""
    if v >= 100:
        out[0] = <char>(48 + v // 100)
        out[1] = <char>(48 + (v // 10) % 10)
        out[2] = <char>(48 + v % 10)
        return 3
    if v >= 10:
        out[0] = <char>(48 + v // 10)
        out[1] = <char>(48 + v % 10)
        return 2
    out[0] = <char>(48 + v)
    return 1


# Address text is asked for again and again for the same hosts: a small
# direct-mapped cache of the str objects (one slot per hash, replaced on a
# clash) saves formatting and allocating them each time.
DEF ADDR_CACHE = 1024       # slots per family, a power of two

cdef struct addr4_slot:
    uint32_t key
    PyObject* text          # owned reference, or NULL

cdef struct addr6_slot:
    uint64_t hi, lo
    PyObject* text

cdef addr4_slot _addr4_cache[ADDR_CACHE]
cdef addr6_slot _addr6_cache[ADDR_CACHE]
memset(_addr4_cache, 0, sizeof(_addr4_cache))
memset(_addr6_cache, 0, sizeof(_addr6_cache))


cdef str ip4_text(const uint8_t* a):
    """Dotted-quad text of a 4-byte address (cached)."""
    cdef uint32_t key = be32(a)
    cdef addr4_slot* slot = &_addr4_cache[(key * 2654435761U) >> 22 & (ADDR_CACHE - 1)]
    cdef str text
    if slot.text is not NULL and slot.key == key:
        return <str>slot.text
    text = ip4_format(a)
    Py_XDECREF(slot.text)
    Py_INCREF(text)
    slot.text = <PyObject*>text
    slot.key = key
    return text


cdef str ip6_text(const uint8_t* a):
    """RFC 5952 text of a 16-byte address (cached)."""
    cdef uint64_t hi, lo
    memcpy(&hi, a, 8)
    memcpy(&lo, a + 8, 8)
    cdef uint64_t h = (hi ^ (lo * 0x9E3779B97F4A7C15ULL)) * 0x9E3779B97F4A7C15ULL
    cdef addr6_slot* slot = &_addr6_cache[(h >> 40) & (ADDR_CACHE - 1)]
    cdef str text
    if slot.text is not NULL and slot.hi == hi and slot.lo == lo:
        return <str>slot.text
    text = ip6_format(a)
    Py_XDECREF(slot.text)
    Py_INCREF(text)
    slot.text = <PyObject*>text
    slot.hi = hi
    slot.lo = lo
    return text


cdef str ip4_format(const uint8_t* a):
    cdef char tmp[16]
    cdef int k = put_dec(tmp, a[0])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[1])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[2])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[3])
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef str ip6_format(const uint8_t* a):
    """RFC 5952 text, exactly as glibc's inet_ntop writes it (tshark and Python agree)."""
    cdef uint16_t w[8]
    cdef char tmp[48]
    cdef int i, k = 0, best = -1, best_len = 0, cur = -1, cur_len = 0, started
    cdef unsigned v, shift
    for i in range(8):
        w[i] = (<uint16_t>a[2 * i] << 8) | a[2 * i + 1]
        if w[i] == 0:
            if cur < 0:
                cur = i
                cur_len = 0
            cur_len += 1
            if cur_len > best_len:
                best = cur
                best_len = cur_len
        else:
            cur = -1
    if best_len < 2:
        best = -1
    if best == 0 and (best_len == 6 or (best_len == 5 and w[5] == 0xFFFF)):
        tmp[0] = 58; tmp[1] = 58; k = 2
        if best_len == 5:
            for c in b"ffff:":
                tmp[k] = c; k += 1
        k += put_dec(tmp + k, a[12]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[13]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[14]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[15])
        return PyUnicode_DecodeLatin1(tmp, k, NULL)
    i = 0
    while i < 8:
        if i == best:
            tmp[k] = 58; k += 1
            if i == 0:
                tmp[k] = 58; k += 1
            i += best_len
            continue
        v = w[i]
        started = 0
        shift = 12
        while True:
            if started or (v >> shift) & 15 or shift == 0:
                tmp[k] = HEXDIGITS[(v >> shift) & 15]
                k += 1
                started = 1
            if shift == 0:
                break
            shift -= 4
        i += 1
        if i < 8:
            tmp[k] = 58; k += 1
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef inline str ip_text(const rec_t* r, const uint8_t* a):
    """Text of an address field of an IPv4 or IPv6 record (its layer bits tell which)."""
    return ip4_text(a) if r.layers & L_IPV4 else ip6_text(a)


cdef inline str ip4_text_u32(uint32_t v):
    cdef uint8_t a[4]
    a[0] = (v >> 24) & 0xFF; a[1] = (v >> 16) & 0xFF; a[2] = (v >> 8) & 0xFF; a[3] = v & 0xFF
    return ip4_text(a)


_STOP_LAYERS = {0: None, S_LINK: "link", S_VLAN: "vlan", S_ARP: "arp", S_NETWORK: "network",
                S_TRANSPORT: "transport", S_PAYLOAD: "payload"}
_STOP_REASONS = {R_OK: None, R_TRUNCATED_HEADER: "truncated header",
                 R_TRUNCATED_PAYLOAD: "truncated payload", R_BAD_LENGTH: "bad length",
                 R_BAD_VERSION: "bad version", R_UNSUPPORTED: "unsupported",
                 R_NON_FIRST_FRAGMENT: "non-first fragment",
                 R_FRAGMENTED_HEADER: "fragmented header"}
