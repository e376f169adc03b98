# Included by _dns.pyx (in order): shares its cimports and module scope.
# Transaction keys: the row struct, open-addressing
# hash tables, endpoint hashes, the address-text cache, problem codes and Zeek-style
# connection UIDs.

# --- transactions: pairing queries with responses, fed from batches or packets ---------------

cdef enum:
    ST_UNANSWERED = 0
    ST_ANSWERED = 1
    ST_NO_QUERY = 2

STATUS_NAMES = ("unanswered", "answered", "no_query")

cdef object _answer_text(Record r):
    # the common types without the generic formatter; the same text as rdata_text
    cdef int t = r.type
    d = r.data
    # (an UPDATE record of class ANY/NONE has no rdata: raw b"", the generic form)
    if not r.malformed and PyBytes_GET_SIZE(r.rdata):
        if t == 1 or t == 28:
            return d
        if t == 2 or t == 5 or t == 12 or t == 39:
            return d + "." if d != "." else "."
        if t == 15:
            return f"{(<tuple>d)[0]} {_owner_text((<tuple>d)[1])}"
    return rdata_text(r)


cdef extern from "arpa/inet.h" nogil:
    int inet_pton(int af, const char* src, void* dst)


cdef struct trow_t:
    int64_t ts
    int64_t rtt              # -1: none
    int64_t q_off            # the first question's name in the store's qtext (has_q)
    int64_t a_first          # first answer item in the store; -1: no response (null lists)
    int64_t p_first          # first problem code in the store
    uint32_t a_count
    uint32_t p_count
    int32_t next_ep          # older row with the same hash in each table, -1 at the end
    int32_t next_grp
    int32_t next_cli
    int32_t qflags           # header flags of the query, -1 if none was seen
    int32_t rflags           # of the response, -1 if none
    int32_t rcode            # extended rcode of the response, -1 if none
    int32_t dupq
    int32_t dupr
    uint16_t q_len
    uint16_t cport
    uint16_t sport
    uint16_t tid
    uint16_t qtype           # of the first question (0 without one)
    uint16_t qcls
    uint8_t has_q
    uint8_t proto            # 0 udp, 1 tcp
    uint8_t status
    uint8_t alen
    uint8_t group
    uint8_t emitted          # streaming: already handed out by take()
    uint8_t caddr[16]
    uint8_t saddr[16]


cdef struct hslot_t:
    uint32_t tag             # the key hash's low 32 bits
    int32_t head             # the newest row with it, -1: empty


cdef struct htab_t:
    # open addressing over one array (a probe touches one cache line). Keys whose hashes
    # share a tag share a chain: harmless, as find() compares every key field.
    hslot_t* slots
    Py_ssize_t cap
    Py_ssize_t used


cdef int htab_init(htab_t* t, Py_ssize_t cap) except -1:
    cdef Py_ssize_t i
    t.slots = <hslot_t*>malloc(cap * sizeof(hslot_t))
    if t.slots == NULL:
        raise MemoryError()
    for i in range(cap):
        t.slots[i].head = -1
    t.cap = cap
    t.used = 0
    return 0


cdef void htab_free(htab_t* t) noexcept:
    free(t.slots)
    t.slots = NULL


cdef inline Py_ssize_t htab_slot(htab_t* t, uint64_t h) noexcept nogil:
    # cap is a power of two (<= 2**31) and the table is at most half full: the probe ends
    cdef uint32_t tag = <uint32_t>h
    cdef Py_ssize_t i = <Py_ssize_t>(tag & <uint32_t>(t.cap - 1))
    while t.slots[i].head != -1 and t.slots[i].tag != tag:
        i = (i + 1) & (t.cap - 1)
    return i


cdef inline int32_t htab_head(htab_t* t, uint64_t h) noexcept nogil:
    return t.slots[htab_slot(t, h)].head


cdef int htab_grow(htab_t* t) except -1:
    cdef htab_t bigger
    cdef Py_ssize_t i, j
    if t.cap >= (<Py_ssize_t>1 << 31):
        raise OverflowError("DNS pairing table full")
    htab_init(&bigger, t.cap * 2)
    for i in range(t.cap):
        if t.slots[i].head != -1:
            j = htab_slot(&bigger, t.slots[i].tag)
            bigger.slots[j] = t.slots[i]
            bigger.used += 1
    htab_free(t)
    t[0] = bigger
    return 0


cdef int32_t htab_push(htab_t* t, uint64_t h, int32_t row) except -2:
    """Make row the newest with hash h; returns the previous newest (-1 if none)."""
    cdef Py_ssize_t i
    cdef int32_t old
    if (t.used + 1) * 2 > t.cap:
        htab_grow(t)
    i = htab_slot(t, h)
    old = t.slots[i].head
    if old == -1:
        t.slots[i].tag = <uint32_t>h
        t.used += 1
    t.slots[i].head = row
    return old


cdef inline uint64_t mix(uint64_t h, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # FNV-1a
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 0x100000001B3ULL
    return h


cdef inline uint64_t hmix(uint64_t h, uint64_t w) noexcept nogil:
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL
    return h ^ (h >> 29)


cdef inline uint64_t key_hash(int kind, int proto, int alen, const uint8_t* a, int aport,
                              const uint8_t* b, int bport, int tid) noexcept nogil:
    # word at a time (the key is 12 to 40 bytes); a splitmix64 finish spreads the low bits
    cdef uint64_t w[2]
    cdef uint32_t v
    cdef uint64_t h = hmix(0x243F6A8885A308D3ULL, <uint64_t>kind | (<uint64_t>proto << 4)
                           | (<uint64_t>alen << 8) | (<uint64_t>(aport & 0xFFFF) << 16)
                           | (<uint64_t>(bport & 0xFFFF) << 32)
                           | (<uint64_t>(tid & 0xFFFF) << 48))
    if alen == 16:
        memcpy(w, a, 16)   # a and b hold alen bytes
        h = hmix(hmix(h, w[0]), w[1])
        if b != NULL:
            memcpy(w, b, 16)
            h = hmix(hmix(h, w[0]), w[1])
    else:
        memcpy(&v, a, 4)
        w[0] = v
        if b != NULL:
            memcpy(&v, b, 4)
            w[0] |= <uint64_t>v << 32
        h = hmix(h, w[0])
    h ^= h >> 31
    h *= 0xBF58476D1CE4E5B9ULL
    return h ^ (h >> 32)


cdef enum:
    K_EP = 1
    K_GRP = 2
    K_CLI = 3


cdef inline uint64_t ep_hash(int pr, int alen, const uint8_t* sa, int sport, const uint8_t* da,
                             int dport, int tid, bint response) noexcept nogil:
    # the (transport, client, server, id) key of a message: a response goes the other way
    if response:
        return key_hash(K_EP, pr, alen, da, dport, sa, sport, tid)
    return key_hash(K_EP, pr, alen, sa, sport, da, dport, tid)

# what a message is matched by: nothing, its first question, or (a response without a
# question, as mDNS sends) the owner names of its answers
cdef enum:
    Q_NONE = 0
    Q_NAME = 1
    Q_OWNERS = 2


cdef int _address(object host, uint8_t* out) except -1:
    """Raw address bytes of host (4/16 raw bytes, or text); returns the length."""
    cdef bytes raw
    cdef Py_ssize_t n
    if type(host) is bytes:
        n = PyBytes_GET_SIZE(host)
        if n != 4 and n != 16:
            raise ValueError("address bytes must be 4 or 16 long")
        memcpy(out, PyBytes_AS_STRING(host), n)
        return n
    raw = str(host).encode("ascii")
    if inet_pton(AF_INET, raw, out) == 1:
        return 4
    if inet_pton(AF_INET6, raw, out) == 1:
        return 16
    raise ValueError(f"not an IP address: {host!r}")


cdef inline bint _multicast(const uint8_t* a, int alen) noexcept nogil:
    # ff00::/8, 224.0.0.0/4
    return a[0] == 0xFF if alen == 16 else 224 <= a[0] <= 239


cdef inline bint name_eq(const char* a, const char* b, Py_ssize_t n) noexcept nogil:
    # names are ASCII text (escaped by the parser): equal after str.lower()
    cdef Py_ssize_t i
    cdef char x, y
    for i in range(n):
        x = a[i]
        y = b[i]
        if x != y:
            if 65 <= x <= 90:
                x += 32
            if 65 <= y <= 90:
                y += 32
            if x != y:
                return False
    return True


# --- address text and problem texts, shared by every table --------------------------------
cdef enum:
    ADDR_CACHE = 4096   # slots (about 100 KB): a few thousand clients, as busy resolvers see

# a direct-mapped cache: clients and servers repeat, so most rows share the text
cdef list _addr_cache = [None] * ADDR_CACHE
cdef uint8_t _addr_raw[ADDR_CACHE][17]   # per slot: length (0: empty), then the address


# slot is masked to ADDR_CACHE - 1 and _addr_cache is made ADDR_CACHE long: the list read
# needs no check (called 4 times per row when a table is exported)
@cython.boundscheck(False)
@cython.wraparound(False)
cdef str addr_text(const uint8_t* a, int alen):
    cdef Py_ssize_t slot = <Py_ssize_t>(mix(0xCBF29CE484222325ULL, a, alen)
                                        & (ADDR_CACHE - 1))
    cdef uint8_t* raw = _addr_raw[slot]
    cdef str text
    if raw[0] == alen and memcmp(raw + 1, a, alen) == 0:
        return <str>_addr_cache[slot]
    text = ip_text(a, AF_INET6 if alen == 16 else AF_INET)
    raw[0] = alen
    memcpy(raw + 1, a, alen)  # alen is 4 or 16: the slot holds 16
    _addr_cache[slot] = text
    return text


# Problems are stored as 16-bit codes of this vocabulary: the parser's flags, a few dozen
# texts (a message fed already decoded may bring others; at most 65535 distinct).
cdef list _PROBLEM_TEXT = []
cdef dict _PROBLEM_CODE = {}


cdef int problem_code(object text) except -1:
    code = _PROBLEM_CODE.get(text)
    if code is not None:
        return code
    if len(_PROBLEM_TEXT) >= 65535:
        raise ValueError("more than 65535 distinct DNS problem texts")
    _PROBLEM_CODE[text] = len(_PROBLEM_TEXT)
    _PROBLEM_TEXT.append(text)
    return len(_PROBLEM_TEXT) - 1


cdef inline uint64_t mix_port(uint64_t h, unsigned int port) noexcept nogil:
    # FNV-1a over " <decimal port>"
    cdef uint8_t digits[6]
    cdef int k = 6
    while True:
        k -= 1
        digits[k] = 48 + port % 10
        port //= 10
        if port == 0:
            break
    k -= 1
    digits[k] = 32
    return mix(h, digits + k, 6 - k)


cdef uint64_t uid_hash(int pr, str oh, int op, str rh, int rp) noexcept:
    # FNV-1a of the text connection_uid hashes, "<proto> <orig_h> <orig_p> <resp_h>
    # <resp_p>"; the address texts are ASCII (ip_text), the ports 0..65535
    cdef uint8_t sp = 32
    cdef uint64_t h = mix(0xCBF29CE484222325ULL, <const uint8_t*>("tcp" if pr else "udp"), 3)
    h = mix(h, &sp, 1)
    h = mix(h, <const uint8_t*>PyUnicode_1BYTE_DATA(oh), PyUnicode_GET_LENGTH(oh))
    h = mix_port(h, <unsigned int>op)
    h = mix(h, &sp, 1)
    h = mix(h, <const uint8_t*>PyUnicode_1BYTE_DATA(rh), PyUnicode_GET_LENGTH(rh))
    return mix_port(h, <unsigned int>rp)


cdef const char* _HEX = "0123456789abcdef"


cdef inline void uid_write(uint64_t h, char* out) noexcept nogil:
    # "D" and 16 lower-case hex digits: 17 characters, as connection_uid writes them
    cdef int k
    out[0] = 68
    for k in range(16):
        out[16 - k] = _HEX[h & 15]
        h >>= 4


cdef str uid_text(trow_t* r):
    cdef char out[17]
    uid_write(uid_hash(r.proto, addr_text(r.caddr, r.alen), r.cport,
                       addr_text(r.saddr, r.alen), r.sport), out)
    return _ascii(out, 17)


def connection_uid(str proto, str orig_h, orig_p, str resp_h, resp_p):
    """A stable id for the (transport, client, server) conversation, Zeek-uid-like."""
    cdef bytes text = f"{proto} {orig_h} {orig_p} {resp_h} {resp_p}".encode()
    cdef unsigned long long h = 0xCBF29CE484222325ULL
    cdef unsigned char c
    for c in text:
        h = (h ^ c) * 0x100000001B3ULL
    return f"D{h:016x}"
