# Included by _core.pyx (one module, wirecraft._core): the reader's limits, its
# anomaly bits, pcapng time conversion and the per-interface state.

# --------------------------------------------------------------------------
# File reader: pcap and pcapng, in chunks, never more than one record ahead
# --------------------------------------------------------------------------

DEF FMT_PCAP = 1
DEF FMT_PCAPNG = 2

# Caps on what a reader keeps about a pcapng file besides its packets: metadata is
# read from the file, so without them a small file could fill memory.  Whatever a cap
# drops is counted in Reader.limits_hit (Capture warns with CaptureLimitWarning).
DEF MAX_SECTION_IFACES = 65535      # interfaces one section may define (the rest dropped)
DEF MAX_TOTAL_IFACES = 65535        # entries of `interfaces` (so rec_t.iface, 16 bits, fits)
DEF MAX_COMMENTS = 65536            # section comments kept, over the whole file
DEF MAX_KEPT_BYTES = 16777216       # bytes of comments, names and descriptions kept in total
DEF MAX_PACKET_COMMENTS = 64        # comment options kept per packet (joined by newlines)
IFACE_NONE = 0xFFFF                 # rec_t.iface of a packet whose interface was dropped
READER_LIMITS = {
    "section_interfaces": MAX_SECTION_IFACES,
    "interfaces": MAX_TOTAL_IFACES,
    "comments": MAX_COMMENTS,
    "kept_bytes": MAX_KEPT_BYTES,
    "packet_comments": MAX_PACKET_COMMENTS,
}

# Problems the reader (not the decoder) finds in a record: high bits of rec_t.anomalies,
# named in ANOMALIES like the decoder's own.
cdef enum:
    A_BAD_TIMESTAMP = 1 << 28       # pcap sub-second field >= 1 s: time is the seconds field alone
    A_TIMESTAMP_RANGE = 1 << 29     # pcapng time outside int64 ns: saturated to INT64_MIN/MAX
    A_IFACE_DROPPED = 1 << 30       # the packet's interface description was dropped by a cap

READER_ANOMALIES = {
    A_BAD_TIMESTAMP: "bad_timestamp",
    A_TIMESTAMP_RANGE: "timestamp_out_of_range",
    A_IFACE_DROPPED: "interface_dropped",
}

cdef extern from *:
    """
    /* pcapng time units -> ns since the epoch, exactly (floor), with if_tsoffset (whole
       seconds) added; returns 1 when the result does not fit int64 and was saturated.
       kind 0: units of 10^-e s, e <= 9, k = 10^(9-e)   (multiply)
       kind 1: units of 10^-e s, 9 < e <= 28, k = 10^(e-9)   (divide)
       kind 2: units of 2^-k s   (128-bit multiply then shift)
       kind 3: units so fine that any 64-bit count is below 1 ns (e > 28) */
    static int wc_units_to_ns(uint64_t t, int kind, uint64_t k, int64_t off_s, int64_t *out)
    {
    #if defined(__SIZEOF_INT128__)
        __int128 v;
        if (kind == 0) v = (__int128)t * (__int128)k;
        else if (kind == 1) v = (__int128)(t / k);
        else if (kind == 2) v = (__int128)(((unsigned __int128)t * 1000000000u) >> k);
        else v = 0;
        v += (__int128)off_s * 1000000000;
        if (v > (__int128)INT64_MAX) { *out = INT64_MAX; return 1; }
        if (v < (__int128)INT64_MIN) { *out = INT64_MIN; return 1; }
        *out = (int64_t)v;
        return 0;
    #else
        /* no 128-bit integers: 64-bit arithmetic, saturating on any intermediate overflow */
        uint64_t u, whole, frac;
        int64_t v, off;
        if (kind == 0) {
            if (k != 0 && t > (uint64_t)INT64_MAX / k) goto over;
            u = t * k;
        } else if (kind == 1) {
            u = t / k;
        } else if (kind == 2) {
            if (k >= 64) { whole = 0; frac = t; } else { whole = t >> k; frac = t & ((1ULL << k) - 1); }
            if (whole > (uint64_t)INT64_MAX / 1000000000u) goto over;
            u = whole * 1000000000u;
            /* frac < 2^k: frac * 1e9 / 2^k, in two 32-bit halves of frac */
            {
                uint64_t hi = frac >> 32, lo = frac & 0xFFFFFFFFu, a, b;
                a = hi * 1000000000u;             /* < 2^62 */
                b = lo * 1000000000u;             /* < 2^62 */
                if (k >= 32) {
                    uint64_t s = a + (b >> 32);   /* (frac * 1e9) >> 32 */
                    u += (k - 32 >= 64) ? 0 : (s >> (k - 32));
                } else {
                    u += ((a << (32 - k)) + (b >> k));
                }
            }
        } else {
            u = 0;
        }
        if (u > (uint64_t)INT64_MAX) goto over;
        v = (int64_t)u;
        if (off_s > INT64_MAX / 1000000000 || off_s < INT64_MIN / 1000000000) {
            *out = off_s > 0 ? INT64_MAX : INT64_MIN;
            return 1;
        }
        off = off_s * 1000000000;
        if (off > 0 && v > INT64_MAX - off) goto over;
        *out = v + off;
        return 0;
    over:
        *out = INT64_MAX;
        return 1;
    #endif
    }
    """
    int wc_units_to_ns(uint64_t t, int kind, uint64_t k, int64_t off_s, int64_t* out) noexcept nogil


cdef struct iface_t:
    uint16_t linktype
    uint16_t index      # position in Reader.interfaces, or IFACE_NONE when its info was dropped
    uint32_t snaplen
    int kind            # see wc_units_to_ns
    uint64_t k
    int64_t offset_s    # if_tsoffset, seconds
