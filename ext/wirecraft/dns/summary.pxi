# Included by _dns.pyx (in order): shares its cimports and module scope.
# Growable C buffers (gbuf_t) and the columnar summary sink (_Summary) that the light
# decode fills without making Record objects.

# --- growable C buffers (the transaction table's columns and the parser's columnar sink)
cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* Growth of a buffer to new_cap bytes (used: bytes to keep). From 256 KiB on, Linux
       buffers are anonymous mappings grown by mremap (no copy, no second page fault per
       page); from 4 MiB they ask for transparent huge pages (one page fault per 2 MiB
       instead of per 4 KiB, a large part of filling a big table). NULL on failure, the
       old buffer left as it was. */
    static char* wc_grow(char* old, size_t old_cap, int* mapped, size_t new_cap,
                         size_t used) {
        char* p;
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        if (new_cap >= ((size_t)256 << 10)) {
            if (*mapped) {
                p = (char*)mremap(old, old_cap, new_cap, MREMAP_MAYMOVE);
                if (p == (char*)MAP_FAILED) return NULL;
            } else {
                p = (char*)mmap(NULL, new_cap, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == (char*)MAP_FAILED) return NULL;
                if (used) memcpy(p, old, used);
                free(old);
                *mapped = 1;
            }
    #ifdef MADV_HUGEPAGE
            if (new_cap >= ((size_t)4 << 20)) madvise(p, new_cap, MADV_HUGEPAGE);
    #endif
            return p;
        }
    #endif
        (void)old_cap; (void)used; (void)mapped;
        return (char*)realloc(old, new_cap);
    }
    static void wc_release(char* p, size_t cap, int mapped) {
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        if (mapped) { munmap(p, cap); return; }
    #endif
        (void)cap; (void)mapped;
        free(p);
    }
    """
    char* wc_grow(char* old, size_t old_cap, int* mapped, size_t new_cap,
                  size_t used) noexcept nogil
    void wc_prefetch "__builtin_prefetch"(const void* p) noexcept nogil
    void wc_release(char* p, size_t cap, int mapped) noexcept nogil


cdef struct gbuf_t:
    char* data
    Py_ssize_t len
    Py_ssize_t cap
    int mapped               # data is an anonymous mapping (see wc_grow)


cdef int gbuf_reserve(gbuf_t* g, Py_ssize_t extra) except -1:
    """Make room for extra more bytes after g.len."""
    cdef Py_ssize_t want = g.len + extra
    cdef Py_ssize_t cap = g.cap if g.cap else 256
    cdef char* grown
    if want <= g.cap:
        return 0
    while cap < want:
        cap *= 2
    grown = wc_grow(g.data, g.cap, &g.mapped, cap, g.len)
    if grown == NULL:
        raise MemoryError()
    g.data = grown
    g.cap = cap
    return 0


cdef inline int gbuf_put(gbuf_t* g, const void* p, Py_ssize_t n) except -1:
    if n <= 0:
        return 0
    if g.len + n > g.cap:
        gbuf_reserve(g, n)
    memcpy(g.data + g.len, p, n)  # g.len + n <= g.cap ensured above
    g.len += n
    return 0


cdef void gbuf_free(gbuf_t* g) noexcept:
    if g.data != NULL:
        wc_release(g.data, g.cap, g.mapped)
    g.data = NULL
    g.len = 0
    g.cap = 0
    g.mapped = 0


# an answer of the table: text (UTF-8) or a raw address formatted when read
cdef enum:
    AK_TEXT = 0
    AK_IP4 = 1
    AK_IP6 = 2

cdef struct aitem_t:
    int64_t off             # where its bytes start in the text buffer
    uint32_t len_kind       # length (< 2**30: at most 7 characters per rdata byte) | kind << 30
    uint32_t ttl
    uint16_t rtype          # the record's type (the Zeek-form logs render by it)

cdef inline uint32_t item_len(const aitem_t* it) noexcept nogil:
    return it.len_kind & 0x3FFFFFFF

cdef inline int item_kind(const aitem_t* it) noexcept nogil:
    return it.len_kind >> 30


cdef int put_text(gbuf_t* text, gbuf_t* items, object s, uint32_t ttl,
                  uint16_t rtype) except -1:
    """Append str s (stored as UTF-8) as an answer item of type rtype."""
    cdef aitem_t it
    memset(&it, 0, sizeof(it))
    cdef bytes raw = (<str>s).encode("utf-8")
    if PyBytes_GET_SIZE(raw) >= 0x40000000:
        raise ValueError("answer text too long")
    it.off = text.len
    it.len_kind = <uint32_t>PyBytes_GET_SIZE(raw) | (AK_TEXT << 30)
    it.ttl = ttl
    it.rtype = rtype
    gbuf_put(text, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
    gbuf_put(items, &it, sizeof(aitem_t))
    return 0


cdef object item_text(const aitem_t* it, const char* text):
    # it.off + its length lie inside text: items are appended with their bytes
    cdef int kind = item_kind(it)
    if kind == AK_IP4:
        return ip_text(<const unsigned char*>text + it.off, AF_INET)
    if kind == AK_IP6:
        return ip_text(<const unsigned char*>text + it.off, AF_INET6)
    return PyUnicode_DecodeUTF8(text + it.off, item_len(it), NULL)


@cython.no_gc
@cython.final
cdef class _Summary:
    """What a transaction row takes from one message: the columnar output of the parser,
    in C buffers reused from message to message (no Python object per message).

    has_q: the message has a question (qname holds its name's text); owners (lower-cased
    answer owner names, each as a 2-byte length then the text) are kept only without one,
    for mDNS responses that carry no question."""
    cdef int id
    cdef int flags
    cdef int rcode
    cdef bint has_q
    cdef int qtype
    cdef int qcls
    cdef gbuf_t qname
    cdef gbuf_t text            # answer texts and raw addresses
    cdef gbuf_t items           # aitem_t per answer
    cdef bint has_owners
    cdef gbuf_t owners
    cdef Py_ssize_t n_owners
    cdef list problems          # None: no problem

    def __dealloc__(self):
        gbuf_free(&self.qname)
        gbuf_free(&self.text)
        gbuf_free(&self.items)
        gbuf_free(&self.owners)

    cdef inline void reset(self) noexcept:
        self.has_q = False
        self.qtype = 0
        self.qcls = 0
        self.qname.len = 0
        self.text.len = 0
        self.items.len = 0
        self.has_owners = False
        self.owners.len = 0
        self.n_owners = 0
        self.problems = None

    cdef inline Py_ssize_t n_answers(self) noexcept:
        return self.items.len // sizeof(aitem_t)

    cdef int add_raw(self, const unsigned char* a, int kind, uint32_t ttl) except -1:
        cdef aitem_t it
        cdef uint32_t n = 4 if kind == AK_IP4 else 16
        memset(&it, 0, sizeof(it))
        it.off = self.text.len
        it.len_kind = n | (<uint32_t>kind << 30)
        it.ttl = ttl
        it.rtype = 1 if kind == AK_IP4 else 28
        gbuf_put(&self.text, a, n)
        gbuf_put(&self.items, &it, sizeof(aitem_t))
        return 0

    cdef int commit_text(self, Py_ssize_t n, uint32_t ttl, uint16_t rtype) except -1:
        """The n bytes just written after text.len (room reserved) become an answer."""
        cdef aitem_t it
        memset(&it, 0, sizeof(it))
        it.off = self.text.len
        it.len_kind = <uint32_t>n | (AK_TEXT << 30)   # n < 2**30: one rdata's text
        it.ttl = ttl
        it.rtype = rtype
        self.text.len += n
        gbuf_put(&self.items, &it, sizeof(aitem_t))
        return 0

    cdef int add_owner(self, const char* name, Py_ssize_t n) except -1:
        # lower-cased (names are ASCII: what str.lower() does to them)
        cdef Py_ssize_t i
        cdef char c
        cdef uint16_t ln = <uint16_t>n   # n < NAME_BUF
        gbuf_reserve(&self.owners, n + 2)
        memcpy(self.owners.data + self.owners.len, &ln, 2)
        for i in range(n):
            c = name[i]
            self.owners.data[self.owners.len + 2 + i] = c + 32 if 65 <= c <= 90 else c
        self.owners.len += n + 2
        self.n_owners += 1
        self.has_owners = True
        return 0

    def as_tuple(self):
        cdef Py_ssize_t k, pos = 0
        cdef uint16_t ln
        cdef const aitem_t* items = <const aitem_t*>self.items.data
        answers = [item_text(&items[k], self.text.data) for k in range(self.n_answers())]
        ttls = [items[k].ttl for k in range(self.n_answers())]
        owners = None
        if self.has_owners:
            owners = []
            while pos < self.owners.len:
                memcpy(&ln, self.owners.data + pos, 2)
                owners.append(_ascii(self.owners.data + pos + 2, ln))
                pos += 2 + ln
        qname = PyUnicode_DecodeUTF8(self.qname.data, self.qname.len, NULL) if self.has_q \
            else None
        return (self.id, self.flags, self.rcode, qname, self.qtype, self.qcls,
                answers, ttls, owners, self.problems or [])
