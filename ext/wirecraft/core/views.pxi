# Included by _core.pyx (one module, wirecraft._core): the per-layer views of a Packet
# (EthernetView ... ICMPView) and TCP option parsing.


@cython.no_gc
@cython.freelist(64)
cdef class _View:
    cdef readonly Packet packet
    cdef rec_t* r
    cdef const uint8_t* p


cdef inline object layer_view(Packet pkt, uint32_t bit, type cls):
    """A `cls` view of pkt if its record has layer `bit`, else None."""
    return make_view(cls, pkt) if pkt.r.layers & bit else None


cdef inline object ip_view(Packet pkt):
    """The IPv4 or IPv6 view of pkt, whichever its frame carries, or None."""
    if pkt.r.layers & L_IPV4:
        return make_view(IPv4View, pkt)
    if pkt.r.layers & L_IPV6:
        return make_view(IPv6View, pkt)
    return None


cdef inline _View make_view(type cls, Packet pkt):
    # new_instance: the type's tp_new directly (_fastobj.pxd); `cls.__new__(cls)` on a
    # runtime type would go through attribute lookup and an argument tuple every view
    cdef _View v = <_View>new_instance(cls)
    v.packet = pkt
    v.r = pkt.r
    v.p = pkt.p
    return v


# the views' plain fields, one compiled property per catalogue Field, generated from
# src/wirecraft/proto by tools/gen_ext.py; the classes below add what is not a plain read
include "fields.pxi"


class VlanTag(tuple):
    """One 802.1Q/802.1ad tag."""
    __slots__ = ()

    def __new__(cls, tpid, id, pcp, dei):
        return tuple.__new__(cls, (tpid, id, pcp, dei))

    tpid = property(lambda self: self[0])
    id = property(lambda self: self[1])
    pcp = property(lambda self: self[2])
    dei = property(lambda self: self[3])

    def __repr__(self):
        return f"VlanTag(tpid=0x{self[0]:04x}, id={self[1]}, pcp={self[2]}, dei={self[3]})"


cdef class EthernetView(_EthernetFields):
    """Ethernet II header."""

    def __repr__(self):
        return f"<Ethernet {self.src} > {self.dst} type 0x{self.type:04x}>"


cdef class SLLView(_SLLFields):
    """Linux cooked capture header (v1 or v2)."""

    @property
    def src(self):
        """The link-layer source address: a MAC as 'aa:bb:...' (all-zero included) when
        the address length is 6, other lengths (up to 8) as colon hex, None when 0."""
        cdef uint32_t halen, at
        if self.r.linktype == 276:
            halen, at = self.p[11], 12
        else:
            halen, at = be16(self.p + 4), 6
        if halen == 6:
            return mac_text(self.r.eth_src)
        if halen == 0:
            return None
        # the 8-byte address field was captured (the header was decoded)
        return ":".join(f"{self.p[at + i]:02x}" for i in range(min(halen, 8)))

    @property
    def version(self):
        return 2 if self.r.linktype == 276 else 1


cdef inline bint arp_read(const rec_t* r) noexcept:
    """The decoder read the ARP addresses: Ethernet/IPv4 ARP with its 28 bytes captured
    (it then sets the payload after them; other ARP leaves the address slots zero)."""
    return r.payload_offset == r.l3_offset + 28


cdef class ARPView(_ARPFields):
    """ARP for IPv4 over Ethernet. The addresses read None where the decoder did not read
    them (another hardware or protocol type, or a packet cut before its 28 bytes)."""

    @property
    def sender_mac(self):
        """arp.src.hw_mac: Sender MAC address."""
        return mac_text(self.r.arp_sender_mac) if arp_read(self.r) else None

    @property
    def sender_ip(self):
        """arp.src.proto_ipv4: Sender IP address."""
        return ip4_text_u32(self.r.arp_sender_ip) if arp_read(self.r) else None

    @property
    def target_mac(self):
        """arp.dst.hw_mac: Target MAC address."""
        return mac_text(self.r.arp_target_mac) if arp_read(self.r) else None

    @property
    def target_ip(self):
        """arp.dst.proto_ipv4: Target IP address."""
        return ip4_text_u32(self.r.arp_target_ip) if arp_read(self.r) else None


cdef inline uint32_t l4_avail(const rec_t* r) noexcept:
    """Bytes of the transport layer the decoder had (bounded by the capture and IP)."""
    return r.payload_offset + r.payload_length - r.l4_offset


cdef class IPv4View(_IPv4Fields):
    """IPv4 header (RFC 791). In a header cut short by the capture, every field whose
    bytes were not captured reads None (addresses included)."""

    @property
    def src_bytes(self):
        """The source address as 4 bytes (None when not captured)."""
        if self.r.caplen - self.r.l3_offset < 16:
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_src, 4)

    @property
    def dst_bytes(self):
        """The destination address as 4 bytes (None when not captured)."""
        if self.r.caplen - self.r.l3_offset < 20:
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_dst, 4)

    @property
    def options(self):
        """Raw option bytes (empty without options)."""
        cdef uint32_t hl = self.r.ip_header_length
        if hl <= 20 or self.r.l3_offset + hl > self.r.caplen:
            return b""
        return PyBytes_FromStringAndSize(<const char*>self.p + self.r.l3_offset + 20, hl - 20)

    def verify_checksum(self):
        """True if the header checksum is right (None if the header was not captured)."""
        cdef int st = ip4_checksum_state(self.p, self.r)
        return None if st < 0 else st == 1

    def __repr__(self):
        return f"<IPv4 {self.src} > {self.dst} proto {self.protocol} ttl {self.ttl}>"


cdef class IPv6View(_IPv6Fields):
    """IPv6 header (RFC 8200) with its extension-header chain. In a header cut short by
    the capture, every field whose bytes were not captured reads None (addresses
    included); `id`, `flags`, `mf` and `frag_offset` are the fragment header's (0
    without one)."""

    @property
    def src_bytes(self):
        """The source address as 16 bytes (None when not captured)."""
        if self.r.caplen - self.r.l3_offset < 24:
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_src, 16)

    @property
    def dst_bytes(self):
        """The destination address as 16 bytes (None when not captured)."""
        if self.r.caplen - self.r.l3_offset < 40:
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_dst, 16)

    @property
    def payload_length(self):
        if self.r.caplen - self.r.l3_offset < 6:
            return None
        return self.r.ip_total_length - 40

    @property
    def next_header(self):
        """The first next-header value (before extension headers)."""
        if self.r.caplen - self.r.l3_offset < 7:
            return None
        return self.p[self.r.l3_offset + 6]

    @property
    def extension_headers(self):
        """Next-header numbers of the extension headers, in order."""
        cdef uint32_t cur = self.r.l3_offset + 40, ehl
        cdef uint8_t nh
        cdef list out = []
        if self.r.l3_offset + 40 > self.r.caplen:
            return out
        nh = self.p[self.r.l3_offset + 6]
        for _ in range(self.r.ip6_ext_count):
            if cur + 8 > self.r.caplen:
                break
            # cur + 8 <= caplen checked above
            out.append(nh)
            if nh == 44:
                ehl = 8
            elif nh == 51:
                ehl = (<uint32_t>self.p[cur + 1] + 2) * 4
            else:
                ehl = (<uint32_t>self.p[cur + 1] + 1) * 8
            nh = self.p[cur]
            cur += ehl
        return out

    def __repr__(self):
        return f"<IPv6 {self.src} > {self.dst} nh {self.protocol} hlim {self.hop_limit}>"


TCP_FLAG_NAMES = ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "."), (32, "U"), (64, "E"),
                  (128, "W"), (256, "N"))
TCP_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sack_permitted", 5: "sack",
                    8: "timestamp", 28: "user_timeout", 29: "tcp_ao", 30: "mptcp",
                    34: "tfo"}


cdef class TCPView(_TCPFields):
    """TCP header (RFC 9293); options decoded on demand. In a header cut short, a field
    whose bytes were not captured reads None."""

    @property
    def flags_str(self):
        """tcpdump's flag letters, e.g. 'S.' for SYN-ACK (reserved bits have none)."""
        if l4_avail(self.r) < 14:
            return None
        return "".join(c for bit, c in TCP_FLAG_NAMES if self.r.tcp_flags & bit) or "none"

    @property
    def options_bytes(self):
        cdef uint32_t start = self.r.l4_offset + 20
        cdef uint32_t end = self.r.l4_offset + self.r.tcp_header_length
        cdef uint32_t have = self.r.l4_offset + l4_avail(self.r)
        if self.r.tcp_header_length <= 20 or l4_avail(self.r) < 20:
            return b""
        if end > have:
            end = have
        if end <= start:
            return b""
        return PyBytes_FromStringAndSize(<const char*>self.p + start, end - start)

    @property
    def options(self):
        """[(name, value)] with mss/wscale ints, sack as [(left, right)], timestamp (val, ecr).

        A malformed option ends the list with ('malformed', raw_rest); unknown
        kinds give (kind_number, raw_bytes).
        """
        return parse_tcp_options(self.options_bytes)

    def __repr__(self):
        return f"<TCP {self.src_port} > {self.dst_port} [{self.flags_str}] seq {self.seq}>"


def parse_tcp_options(bytes raw):
    """Decode TCP option bytes; never reads past `raw`, a zero length always advances."""
    cdef Py_ssize_t i = 0, n = len(raw), ln
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(raw)
    cdef list out = []
    while i < n:
        kind = p[i]
        if kind == 0:
            out.append(("eol", None))
            break
        if kind == 1:
            out.append(("nop", None))
            i += 1
            continue
        if i + 1 >= n:
            out.append(("malformed", raw[i:]))
            break
        ln = p[i + 1]
        if ln < 2 or i + ln > n:
            out.append(("malformed", raw[i:]))
            break
        body = raw[i + 2:i + ln]
        if kind == 2 and ln == 4:
            out.append(("mss", int.from_bytes(body, "big")))
        elif kind == 3 and ln == 3:
            out.append(("wscale", body[0]))
        elif kind == 4 and ln == 2:
            out.append(("sack_permitted", True))
        elif kind == 5 and (ln - 2) % 8 == 0:
            out.append(("sack", [(int.from_bytes(body[j:j + 4], "big"),
                                  int.from_bytes(body[j + 4:j + 8], "big"))
                                 for j in range(0, ln - 2, 8)]))
        elif kind == 8 and ln == 10:
            out.append(("timestamp", (int.from_bytes(body[:4], "big"),
                                      int.from_bytes(body[4:], "big"))))
        else:
            out.append((TCP_OPTION_NAMES.get(kind, kind), body))
        i += ln
    return out


cdef class UDPView(_UDPFields):
    """UDP header (RFC 768)."""

    def __repr__(self):
        return f"<UDP {self.src_port} > {self.dst_port} len {self.length}>"


cdef class ICMPView(_ICMPFields):
    """ICMP or ICMPv6 header: type, code, checksum, and id/seq for echo messages."""

    @property
    def version(self):
        return 6 if self.r.layers & L_ICMPV6 else 4

    @property
    def id(self):
        """Identifier of echo/timestamp/information messages; None for other types or
        when its bytes were not captured."""
        if not icmp_has_id(58 if self.r.layers & L_ICMPV6 else 1, self.r.icmp_type):
            return None
        return self.r.icmp_id if l4_avail(self.r) >= 6 else None

    @property
    def seq(self):
        """Sequence number, like `id`."""
        if not icmp_has_id(58 if self.r.layers & L_ICMPV6 else 1, self.r.icmp_type):
            return None
        return self.r.icmp_seq if l4_avail(self.r) >= 8 else None

    def __repr__(self):
        return f"<ICMP{'v6' if self.version == 6 else ''} type {self.type} code {self.code}>"
