# Helpers every C decoder shares: recording where and why decoding stopped, the
# reason a transport header is short, and the application hint from the ports.
# Inline, nogil, no runtime import.

from libc.stdint cimport uint8_t, uint16_t

from wirecraft._codes cimport (
    A_IP_LEN_BEYOND_CAPTURE, A_SNAPLEN_CUT, R_BAD_LENGTH, R_FRAGMENTED_HEADER,
    R_TRUNCATED_HEADER,
)
from wirecraft._record cimport rec_t
from wirecraft.proto.dispatch cimport app_of, wc_app_tcp, wc_app_udp


cdef inline void stop(rec_t* r, uint8_t layer, uint8_t reason) noexcept nogil:
    r.stop_layer = layer
    r.stop_reason = reason


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
