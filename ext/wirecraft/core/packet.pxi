# Included by _core.pyx (one module, wirecraft._core): Packet, one decoded frame.

# The attributes a per-packet loop reads most go through each class's own
# __getattribute__ (tp_getattro): one pointer comparison with the interned name
# instead of the generic type lookup and descriptor call, which CPython 3.11 does
# not specialise for extension-type properties. Every other name, and these
# names spelled by a non-interned string, take the generic path and its
# properties, which return the same values.
from sys import intern as _intern
cdef object _A_IP = _intern("ip")
cdef object _A_TCP = _intern("tcp")
cdef object _A_UDP = _intern("udp")
cdef object _A_VLAN = _intern("vlan")
cdef object _A_ARP = _intern("arp")
cdef object _A_ICMP = _intern("icmp")
cdef object _A_ICMPV6 = _intern("icmpv6")
# (the views' hot names are generated with their fields: core/fields.pxi)


cdef object _present():
    """wirecraft.present (show, hexdump), imported on first use."""
    global _present_module
    if _present_module is None:
        import importlib
        _present_module = importlib.import_module("wirecraft.present")
    return _present_module


# Packets and views hold only their batch (which never refers back to them), so
# they cannot be part of a reference cycle: no_gc spares the collector tracking
# the one or two such objects made per packet.
@cython.no_gc
@cython.freelist(64)
cdef class Packet:
    """A thin view of one decoded packet: (batch, index) plus lazy layer views."""
    cdef readonly Batch batch
    cdef readonly Py_ssize_t position
    cdef rec_t* r
    cdef const uint8_t* p
    cdef object _dns

    def __repr__(self):
        return f"<Packet #{self.r.index} {self.summary()}>"

    def __getattribute__(self, name):
        # the layer views a loop asks for on every packet (see _A_IP above); the
        # properties below give the same answers for every other way of asking, and
        # for every name with the tricks off (_fastobj.pxd)
        if not fast_on():
            return PyObject_GenericGetAttr(self, name)
        if name is _A_IP:
            return ip_view(self)
        if name is _A_TCP:
            return layer_view(self, L_TCP, TCPView)
        if name is _A_UDP:
            return layer_view(self, L_UDP, UDPView)
        if name is _A_VLAN:
            if not self.r.layers & L_VLAN:
                return None
        elif name is _A_ICMP:
            return layer_view(self, L_ICMP, ICMPView)
        elif name is _A_ICMPV6:
            return layer_view(self, L_ICMPV6, ICMPView)
        elif name is _A_ARP:
            return layer_view(self, L_ARP, ARPView)
        return PyObject_GenericGetAttr(self, name)

    def __getattr__(self, name):
        # only for a name that is no attribute: a payload protocol of the catalogue
        # (pkt.ntp: wirecraft.proto._payload), else AttributeError as usual
        global _payload_module
        if _payload_module is None:
            import importlib
            _payload_module = importlib.import_module("wirecraft.proto._payload")
        return _payload_module.packet_attribute(self, name)

    @property
    def index(self):
        """0-based position in the source (counting packets a filter dropped)."""
        return self.r.index

    @property
    def time(self):
        """Seconds since the epoch as a float (see time_ns for the exact value)."""
        return self.r.ts_ns / 1e9

    @property
    def time_ns(self):
        return self.r.ts_ns

    @property
    def caplen(self):
        return self.r.caplen

    @property
    def wire_len(self):
        return self.r.wire_len

    @property
    def linktype(self):
        return self.r.linktype

    @property
    def iface(self):
        return self.r.iface

    @property
    def interface(self):
        """Information on the capture interface (pcapng IDB fields) or None."""
        ifs = self.batch.interfaces
        if ifs is None or self.r.iface >= len(ifs):
            return None
        return ifs[self.r.iface]

    @property
    def comment(self):
        """The pcapng packet comment, if any."""
        c = self.batch.comments
        return None if c is None else c.get(self.position)

    @property
    def defrag(self):
        """What IP defragmentation did with this packet (read with defrag=True): a
        wirecraft.defrag.Reassembly (`reassembled`, the source `frames`, `flags`), or
        None for a packet it did not touch."""
        d = self.batch.defrag
        return None if d is None else d.get(self.position)

    @property
    def data(self):
        """The captured frame as bytes."""
        return PyBytes_FromStringAndSize(<const char*>self.p, self.r.caplen)

    @property
    def layers(self):
        return self.r.layers

    def has(self, str layer):
        """True if `layer` ('eth', 'vlan', 'ipv4', 'tcp', ...) was decoded."""
        return (self.r.layers & LAYER_BITS[layer]) != 0

    def matches(self, expression):
        """True if the packet passes display filter `expression` (Wireshark's language
        over catalogue names, e.g. 'tcp.port == 25 and ip.ttl < 64'; wirecraft.display)."""
        global _display_module
        if _display_module is None:
            import importlib
            _display_module = importlib.import_module("wirecraft.display")
        return _display_module.matches(self, expression)

    @property
    def eth(self):
        if not self.r.layers & L_ETH:
            return None
        return make_view(EthernetView, self)

    @property
    def sll(self):
        if not self.r.layers & L_SLL:
            return None
        return make_view(SLLView, self)

    @property
    def vlan(self):
        """The 802.1Q/802.1ad tags, outermost first, or None."""
        if not self.r.layers & L_VLAN:
            return None
        cdef list tags = []
        cdef int i
        cdef uint16_t tcis[3]
        cdef uint32_t off = 14 if self.r.linktype == 1 else (16 if self.r.linktype == 113 else 20)
        tcis[0] = self.r.vlan1_tci; tcis[1] = self.r.vlan2_tci; tcis[2] = self.r.vlan3_tci
        for i in range(self.r.vlan_count):
            # tag i was decoded, so its 4 bytes (and the tpid before them) were captured;
            # SLL v2 keeps its protocol field (the first tpid) at byte 0, not before the tag
            if i == 0 and self.r.linktype == 276:
                tpid = be16(self.p)
            else:
                tpid = be16(self.p + off - 2 + 4 * i)
            tags.append(VlanTag(tpid, tcis[i] & 0xFFF, tcis[i] >> 13, (tcis[i] >> 12) & 1))
        return tags

    @property
    def arp(self):
        return layer_view(self, L_ARP, ARPView)

    @property
    def ip(self):
        """IPv4 or IPv6 view (whichever the frame carries), or None."""
        return ip_view(self)

    @property
    def ipv4(self):
        return layer_view(self, L_IPV4, IPv4View)

    @property
    def ipv6(self):
        return layer_view(self, L_IPV6, IPv6View)

    @property
    def tcp(self):
        return layer_view(self, L_TCP, TCPView)

    @property
    def udp(self):
        return layer_view(self, L_UDP, UDPView)

    @property
    def icmp(self):
        return layer_view(self, L_ICMP, ICMPView)

    @property
    def icmpv6(self):
        return layer_view(self, L_ICMPV6, ICMPView)

    @property
    def payload(self):
        """Bytes after the deepest decoded header, bounded by the IP length and the capture."""
        cdef uint32_t off = self.r.payload_offset, n = self.r.payload_length
        # the decoder keeps off + n <= caplen; the view never relies on it
        if off > self.r.caplen:
            off = self.r.caplen
        if n > self.r.caplen - off:
            n = self.r.caplen - off
        return PyBytes_FromStringAndSize(<const char*>self.p + off, n)

    @property
    def payload_length(self):
        return len(self.payload)

    @property
    def payload_offset(self):
        return self.r.payload_offset

    @property
    def inner(self):
        """The IP packet an IP-in-IP tunnel carries (IPv4 or IPv6 inside IPv4 or IPv6,
        also behind IPv6 extension and segment routing headers), decoded as its own
        Packet; None for any other packet.

        The outer packet stops at 'network' / 'unsupported' with the 'tunnelled IP'
        anomaly; its payload is the inner packet, which this decodes (a cut outer frame
        gives a cut inner one)."""
        cdef uint32_t missing
        if not (self.r.anomalies & A_TUNNEL) or not (self.r.layers & (L_IPV4 | L_IPV6)):
            return None
        if self.r.ip_protocol != 4 and self.r.ip_protocol != 41:
            return None
        data = self.payload
        missing = self.r.wire_len - self.r.caplen if self.r.wire_len > self.r.caplen else 0
        b = batch_from_buffer(data, [0], [len(data)], [len(data) + missing], [self.r.ts_ns],
                              228 if self.r.ip_protocol == 4 else 229, self.r.index)
        return b[0]

    @property
    def app(self):
        """Application guessed from the ports ('dns', 'mdns', 'llmnr', 'smtp') or None."""
        return APP_NAMES.get(self.r.app)

    @property
    def stop_layer(self):
        """The deepest layer the decoder reached: 'link', 'vlan', 'arp', 'network',
        'transport', or 'payload' (every header decoded; the stop concerns the payload).

        It says where decoding ended, not where the first problem was: a frame whose IP
        length is wrong but whose UDP header was decoded stops at 'transport' or
        'payload'. Every problem, at any layer, is in `problems`."""
        return _STOP_LAYERS.get(self.r.stop_layer)

    @property
    def stop_reason(self):
        """Why decoding ended at `stop_layer`, or None when it ran to the end cleanly.

        'truncated header' / 'truncated payload': the capture holds fewer bytes than the
        headers announce (snaplen cut, or a frame shorter than its IP length);
        'bad length': a length field contradicts the bytes (at 'payload': the frame holds
        fewer bytes than IP/UDP say, without a snaplen cut); 'fragmented header': a first
        fragment whose transport header continues in the next fragment; 'non-first
        fragment': a fragment whose transport header is in another one; 'bad version';
        'unsupported': a protocol the decoder does not decode (tunnels, LLC, ...)."""
        return _STOP_REASONS.get(self.r.stop_reason)

    @property
    def anomalies(self):
        return self.r.anomalies

    @property
    def truncated(self):
        """True when bytes the headers promise are missing (snaplen cut or short frame)."""
        return (self.r.stop_reason == R_TRUNCATED_HEADER
                or self.r.stop_reason == R_TRUNCATED_PAYLOAD
                or (self.r.anomalies & A_SNAPLEN_CUT) != 0)

    @property
    def problems(self):
        """What was wrong with this packet, as short strings; empty when it is clean.

        The stop (when it is a problem: not 'unsupported' or a fragment's) as
        "<reason> at <layer>", then every anomaly at any layer (see ANOMALIES); with
        checksums verified (checksums=True) also 'ip_bad_checksum', 'tcp_bad_checksum',
        'udp_bad_checksum', 'icmp_bad_checksum', 'icmpv6_bad_checksum'."""
        cdef list out = []
        reason = self.r.stop_reason
        if (reason != R_OK and reason != R_UNSUPPORTED and reason != R_NON_FIRST_FRAGMENT
                and reason != R_FRAGMENTED_HEADER):
            out.append(f"{_STOP_REASONS[reason]} at {_STOP_LAYERS.get(self.r.stop_layer)}")
        bits = self.r.anomalies & ~_INFORMATIONAL
        if bits:
            for bit, text in ANOMALIES.items():
                if bits & bit:
                    out.append(text)
        return out

    @property
    def dns(self):
        """The DNS message (decoded on first access) for UDP DNS/mDNS/LLMNR, else None."""
        global _dns_module
        if self._dns is None:
            if not (self.r.layers & L_UDP) or self.r.app == APP_NONE or self.r.app == APP_SMTP:
                return None
            if _dns_module is None:
                import importlib
                _dns_module = importlib.import_module("wirecraft.dns")
            self._dns = _dns_module.decode(self.payload)
        return self._dns

    def verify_checksums(self):
        """{'ip': bool, 'tcp'|'udp'|'icmp'|'icmpv6': bool} for the layers present; None
        where the bytes needed were not captured, the packet is one fragment of several,
        the UDP length is invalid, or the checksum is optional and absent (IPv4 UDP 0).

        UDP is summed over its own length (RFC 768); IPv6 pseudo-headers use the final
        destination of a routing header (RFC 8200 8.1)."""
        cdef dict out = {}
        cdef int st
        if self.r.layers & L_IPV4:
            st = ip4_checksum_state(self.p, self.r)
            out["ip"] = None if st < 0 else st == 1
        if not (self.r.layers & (L_TCP | L_UDP | L_ICMP | L_ICMPV6)):
            return out
        name = ("tcp" if self.r.layers & L_TCP else "udp" if self.r.layers & L_UDP
                else "icmp" if self.r.layers & L_ICMP else "icmpv6")
        st = l4_checksum_state(self.p, self.r)
        out[name] = None if st < 0 else st == 1
        return out

    def to_layers(self):
        """Editable crafting layers whose bytes equal this frame, built from this decode."""
        global _craft_module
        if _craft_module is None:
            import importlib
            _craft_module = importlib.import_module("wirecraft.craft")
        return _craft_module.from_packet(self)

    def tcp_options(self):
        return self.tcp.options if self.r.layers & L_TCP else None

    def summary(self):
        """One line in the spirit of `tcpdump -n`."""
        from .summary import summarize
        return summarize(self)

    def show(self, dump=False, file=None):
        """Every layer and field the packet carries, scapy's way: a `###[ IPv4 ]###`
        header per protocol of the field catalogue and a `  name = value` line per field
        (tshark's dotted names). Printed (to `file`, else stdout), or returned with
        dump=True. See wirecraft.present."""
        return _present().show_packet(self, dump, file)

    def hexdump(self, link=False, dump=False, file=None):
        """The bytes as `tcpdump -X` prints them: from the network header on (link=True:
        the whole frame, as `tcpdump -XX`). Printed, or returned with dump=True."""
        return _present().hexdump_packet(self, self.r.l3_offset, link, dump, file)


cdef Packet make_packet(Batch b, Py_ssize_t i):
    cdef Packet pkt = Packet.__new__(Packet)
    pkt.batch = b
    pkt.position = i
    pkt.r = &b.recs[i]
    pkt.p = b.base + pkt.r.frame_offset
    return pkt


def ipv6_text(bytes address):
    """Text of a 16-byte IPv6 address (the decoder's own formatter, for tests)."""
    if len(address) != 16:
        raise ValueError("an IPv6 address is 16 bytes")
    return ip6_text(<const uint8_t*>PyBytes_AS_STRING(address))


def packet_at(Batch b, Py_ssize_t i):
    return b[i]
