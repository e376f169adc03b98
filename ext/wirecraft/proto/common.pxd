# Helpers every C decoder shares: recording where and why decoding stopped (and where
# the undecoded rest lies), entering a network header, reading a port pair, the reason a
# transport header is short, and the application hint from the ports.
# Inline, nogil, no runtime import.

from libc.stdint cimport uint8_t, uint16_t, uint32_t

from wirecraft._codes cimport (
    A_IP_LEN_BEYOND_CAPTURE, A_SNAPLEN_CUT, R_BAD_LENGTH, R_FRAGMENTED_HEADER,
    R_TRUNCATED_HEADER,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16
from wirecraft.proto.dispatch cimport app_of, wc_app_tcp, wc_app_udp


cdef inline void stop(rec_t* r, uint8_t layer, uint8_t reason) noexcept nogil:
    r.stop_layer = layer
    r.stop_reason = reason


cdef inline void stop_at(rec_t* r, uint32_t at, uint32_t caplen, uint8_t layer,
                         uint8_t reason) noexcept nogil:
    """Stop with the bytes from `at` to the end of the capture as the undecoded payload
    (at <= caplen)."""
    r.payload_offset = at
    r.payload_length = caplen - at
    stop(r, layer, reason)


cdef inline bint enter_network(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen,
                               uint8_t version, uint8_t layer, uint8_t truncated,
                               uint8_t bad_version) noexcept nogil:
    """Start an IP header at p[off:caplen]: it begins the network layer, and until it is
    decoded the payload is the whole of it. False (stopped: `truncated` for no byte,
    `bad_version` for another version number) when the header is not this version's."""
    r.l3_offset = off
    r.stop_layer = layer
    r.payload_offset = off
    r.payload_length = caplen - off
    if caplen - off < 1:
        stop(r, layer, truncated)
        return False
    # caplen - off >= 1
    if (p[off] >> 4) != version:
        r.ip_version = p[off] >> 4
        stop(r, layer, bad_version)
        return False
    return True


cdef inline void read_ports(const uint8_t* p, rec_t* r, uint32_t off, uint16_t layer_bit,
                            bint tcp) noexcept nogil:
    """A TCP or UDP header's port pair at p[off:off + 4] (captured), its layer bit and the
    application the ports announce."""
    r.layers |= layer_bit
    r.l4_src_port = be16(p + off)
    r.l4_dst_port = be16(p + off + 2)
    r.app = app_hint(r.l4_src_port, r.l4_dst_port, tcp)


cdef inline uint8_t app_hint(uint16_t sport, uint16_t dport, bint tcp) noexcept nogil:
    """The application a TCP or UDP port pair announces (APP_NONE when no binding row
    names either port; see proto/dispatch.pxd for the precedence)."""
    if tcp:
        return app_of(wc_app_tcp, sport, dport)
    return app_of(wc_app_udp, sport, dport)


cdef inline uint8_t short_header(const rec_t* r, bint fragment) noexcept nogil:
    """Why a transport header does not fit in the bytes the IP layer gave it."""
    if r.anomalies & (A_SNAPLEN_CUT | A_IP_LEN_BEYOND_CAPTURE):
        return R_TRUNCATED_HEADER       # the capture holds fewer bytes than IP announced
    if fragment:
        return R_FRAGMENTED_HEADER      # the rest of the header is in the next fragment
    return R_BAD_LENGTH                 # IP's own length leaves no room for the header
