# cython: language_level=3
"""wirecraft's core: capture-file reader, BPF machine, L2-L4 batch decoder, Packet views.

One decoder (`decode_frame`) fills one `rec_t` per packet; the columnar API
views the record array through numpy and the per-packet API (`Packet`) reads
the same records, so the two can never disagree.

References: pcap (draft-ietf-opsawg-pcap), pcapng (draft-ietf-opsawg-pcapng),
Ethernet/802.1Q/802.1ad, Linux cooked capture v1/v2 (tcpdump LINKTYPE list),
ARP (RFC 826), IPv4 (RFC 791), IPv6 (RFC 8200), TCP (RFC 9293, options RFC
7323/2018), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443), classic BPF
(McCanne & Jacobson 1993, Linux filter.txt).
"""

cimport cython
from cpython.bytearray cimport (
    PyByteArray_AS_STRING,
    PyByteArray_FromStringAndSize,
    PyByteArray_GET_SIZE,
    PyByteArray_Resize,
)
from cpython.object cimport PyObject, PyObject_GenericGetAttr
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeLatin1
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove, memset

from wirecraft._checksum cimport sum16, verify16
from wirecraft._codes cimport *
from wirecraft._fastobj cimport fast_init, fast_on, new_instance, unshared
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16, be32, le32, rd16, rd32
# by name, not `from wirecraft.proto cimport link`: Cython's dependency scanner does not
# follow that form, and an edit to a protocol's .pxd then rebuilt nothing
from wirecraft.proto.link cimport decode_frame as decode_link
from wirecraft.proto.dispatch cimport (
    NEXT_ARP, NEXT_ICMP, NEXT_ICMPV6, NEXT_IPV4, NEXT_IPV6, NEXT_TCP, NEXT_UDP, NEXT_VLAN,
    wc_app_tcp, wc_app_udp, wc_next_ethertype, wc_next_ipproto,
)
from wirecraft.proto.icmp cimport icmp_has_id

# The module is assembled from topical include files (core/*.pxi), in this order;
# the per-protocol decoders are inline C in proto/*.pxd, compiled into the batch loop.

# A record larger than this is taken as corruption, not as a packet: it is
# rejected before anything is allocated from it.  (pcap's largest common
# snaplen is 262144; D-Bus captures may reach 128 MiB but are out of scope.)
# the CPython tricks (_fastobj.pxd) are on unless WIRECRAFT_NO_FAST is set now
fast_init()


def fast_tricks():
    """Whether this module's CPython tricks are on (WIRECRAFT_NO_FAST was not set when it
    was imported): hot-name attribute shortcuts, tp_new views, reused buffers."""
    return fast_on()


cdef enum:
    MAX_RECORD = 16777216
    POOL_SIZE = 4     # frame buffers / record areas a reader keeps for reuse
MAX_RECORD_BYTES = MAX_RECORD


cdef void decode_frame(const uint8_t* p, rec_t* r) noexcept nogil:
    """Fill every decoded field of `r` from p[0:r.caplen] (exported in _core.pxd)."""
    decode_link(p, r)


include "core/dispatch.pxi"
include "core/checksum.pxi"
include "core/bpf.pxi"
include "core/batch.pxi"
include "core/reader_defs.pxi"
include "core/reader.pxi"
include "core/record.pxi"
include "core/columns.pxi"
include "core/text.pxi"

ANOMALIES = {
    **READER_ANOMALIES,     # the reader's own, defined with the reader
    A_SNAPLEN_CUT: "frame cut by snaplen",
    A_CAPLEN_GT_WIRE: "captured length exceeds wire length",
    A_IP_LEN_BEYOND_CAPTURE: "IP length beyond captured bytes",
    A_IP_LEN_TOO_SHORT: "IP total length shorter than its header",
    A_IP_HEADER_LEN_BAD: "IPv4 header length below 20",
    A_UDP_LEN_MISMATCH: "UDP length disagrees with IP payload length",
    A_UDP_LEN_BAD: "UDP length invalid",
    A_TCP_DOFF_BAD: "TCP data offset below 5",
    A_TCP_HEADER_BEYOND: "TCP header beyond segment",
    A_IP6_EXT_TRUNCATED: "IPv6 extension headers truncated",
    A_IP6_EXT_LIMIT: "too many IPv6 extension headers",
    A_VLAN_LIMIT: "more than 3 VLAN tags",
    A_IP6_JUMBO: "IPv6 jumbogram (payload length 0)",
    A_IP_FRAGMENT: "IP fragment",
    A_TUNNEL: "tunnelled IP (not decoded)",
    A_ETH_LENGTH_FIELD: "802.3 length field (LLC not decoded)",
    # only with checksums verified (checksums=True); named as in tshark's expert info
    A_IP_BAD_CHECKSUM: "ip_bad_checksum",
    A_TCP_BAD_CHECKSUM: "tcp_bad_checksum",
    A_UDP_BAD_CHECKSUM: "udp_bad_checksum",
    A_ICMP_BAD_CHECKSUM: "icmp_bad_checksum",
    A_ICMPV6_BAD_CHECKSUM: "icmpv6_bad_checksum",
}
# anomalies that are facts about the packet rather than problems with it
_INFORMATIONAL = A_IP_FRAGMENT | A_TUNNEL | A_ETH_LENGTH_FIELD
LAYER_BITS = {"eth": L_ETH, "vlan": L_VLAN, "sll": L_SLL, "arp": L_ARP, "ipv4": L_IPV4,
              "ipv6": L_IPV6, "tcp": L_TCP, "udp": L_UDP, "icmp": L_ICMP, "icmpv6": L_ICMPV6,
              "fragment": L_FRAG, "ip_options": L_IPOPT, "null": L_NULL}
STOP_LAYERS = _STOP_LAYERS
STOP_REASONS = _STOP_REASONS
INFORMATIONAL_ANOMALIES = _INFORMATIONAL
APP_NAMES = {APP_NONE: None, APP_DNS: "dns", APP_MDNS: "mdns", APP_LLMNR: "llmnr",
             APP_SMTP: "smtp"}

_dns_module = None
_craft_module = None
_payload_module = None
_present_module = None
_display_module = None


include "core/packet.pxi"
include "core/views.pxi"
