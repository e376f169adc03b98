# Helpers every C decoder shares: recording where and why decoding stopped, the
# reason a transport header is short, and the application hint from the ports.
# Inline, nogil, no runtime import.

from libc.stdint cimport uint8_t, uint16_t

from wirecraft._codes cimport (
    A_IP_LEN_BEYOND_CAPTURE, A_SNAPLEN_CUT, APP_DNS, APP_LLMNR, APP_MDNS, APP_NONE, APP_SMTP,
    R_BAD_LENGTH, R_FRAGMENTED_HEADER, R_TRUNCATED_HEADER,
)
from wirecraft._record cimport rec_t


cdef inline void stop(rec_t* r, uint8_t layer, uint8_t reason) noexcept nogil:
    r.stop_layer = layer
    r.stop_reason = reason


cdef inline uint8_t app_hint(uint16_t sport, uint16_t dport, bint tcp) noexcept nogil:
    if sport == 53 or dport == 53:
        return APP_DNS
    if sport == 5353 or dport == 5353:
        return APP_MDNS
    if sport == 5355 or dport == 5355:
        return APP_LLMNR
    if tcp and (sport == 25 or dport == 25 or sport == 587 or dport == 587
                or sport == 2525 or dport == 2525):
        return APP_SMTP
    return APP_NONE


cdef inline uint8_t short_header(const rec_t* r, bint fragment) noexcept nogil:
    """Why a transport header does not fit in the bytes the IP layer gave it."""
    if r.anomalies & (A_SNAPLEN_CUT | A_IP_LEN_BEYOND_CAPTURE):
        return R_TRUNCATED_HEADER       # the capture holds fewer bytes than IP announced
    if fragment:
        return R_FRAGMENTED_HEADER      # the rest of the header is in the next fragment
    return R_BAD_LENGTH                 # IP's own length leaves no room for the header
