# Included by _dns.pyx (in order): shares its cimports and module scope.
# The decoded objects: Question, Record, Message (header flag properties read
# wirecraft.proto.dns's layout) and decode().

# --- message and records -----------------------------------------------------------------
cdef class Question:
    """A question: name, type, class; unicast_response is mDNS's QU bit (RFC 6762 5.4)."""
    cdef readonly str name
    cdef readonly int type
    cdef readonly int cls
    cdef readonly bint unicast_response

    @property
    def type_name(self):
        return type_name(self.type)

    @property
    def class_name(self):
        return class_name(self.cls)

    @property
    def rclass(self):
        """cls under crafting's spelling (wirecraft.craft.dns.Question/Record.rclass)."""
        return self.cls

    def __str__(self):
        return f";{_owner_text(self.name)}\t\t{class_name(self.cls)}\t{type_name(self.type)}"

    def __repr__(self):
        return f"Question({self.name!r}, {type_name(self.type)}, {class_name(self.cls)})"

    def __eq__(self, other):
        if not isinstance(other, Question):
            return NotImplemented
        return (self.name, self.type, self.cls, self.unicast_response) == (
            other.name, other.type, other.cls, other.unicast_response)

    def __hash__(self):
        return hash((self.name, self.type, self.cls))


cdef class Record:
    """A resource record: owner name, type, class, TTL, typed data and raw rdata.

    data is typed (str for addresses and names, named tuples for structured rdata,
    Edns for OPT) or the raw rdata bytes for unknown or malformed types; malformed is
    True when a known type's rdata did not parse. cache_flush is mDNS's bit.
    """
    cdef readonly str name
    cdef readonly int type
    cdef readonly int cls
    cdef readonly long long ttl
    cdef readonly object data
    cdef readonly bytes rdata
    cdef readonly bint cache_flush
    cdef readonly bint malformed

    @property
    def type_name(self):
        return type_name(self.type)

    @property
    def class_name(self):
        return class_name(self.cls)

    @property
    def rclass(self):
        """cls under crafting's spelling (wirecraft.craft.dns.Question/Record.rclass)."""
        return self.cls

    @property
    def text(self):
        """The rdata in presentation form (as dig prints it)."""
        return rdata_text(self)

    def __str__(self):
        if self.type == 41 and isinstance(self.data, Edns):
            return f"{_owner_text(self.name)}\t{self.ttl}\tCLASS{self.cls}\tOPT\t{rdata_text(self)}"
        return (f"{_owner_text(self.name)}\t{self.ttl}\t{class_name(self.cls)}\t"
                f"{type_name(self.type)}\t{rdata_text(self)}")

    def __repr__(self):
        return f"Record({str(self)!r})"

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        return (self.name, self.type, self.cls, self.ttl, self.rdata, self.cache_flush) == (
            other.name, other.type, other.cls, other.ttl, other.rdata, other.cache_flush)

    def __hash__(self):
        return hash((self.name, self.type, self.cls, self.ttl, self.rdata))


cdef class Message:
    """A decoded DNS message. problems lists what was wrong with the bytes (empty if clean).

    rcode includes the upper bits from OPT (extended rcode); header_rcode is the 4-bit
    field. For LLMNR (RFC 4795) aa is the C (conflict) bit and rd the T (tentative) bit.
    """
    cdef readonly int id
    cdef readonly int flags
    cdef readonly int rcode
    cdef readonly tuple counts
    cdef readonly list questions
    cdef readonly list answers
    cdef readonly list authorities
    cdef readonly list additionals
    cdef readonly object edns
    cdef readonly object tsig
    cdef readonly list problems
    cdef readonly Py_ssize_t size
    cdef readonly Py_ssize_t end

    # The flag properties below read wirecraft.proto.dns.FLAGS' bits as constants (a
    # property costs one mask); tests/test_dns_catalogue.py checks them against FLAGS.
    @property
    def qr(self):
        return bool(self.flags & 0x8000)

    @property
    def opcode(self):
        return (self.flags >> 11) & 0xF

    @property
    def opcode_name(self):
        return OPCODE_NAMES.get(self.opcode, f"OPCODE{self.opcode}")

    @property
    def aa(self):
        return bool(self.flags & 0x0400)

    @property
    def tc(self):
        return bool(self.flags & 0x0200)

    @property
    def rd(self):
        return bool(self.flags & 0x0100)

    @property
    def ra(self):
        return bool(self.flags & 0x0080)

    @property
    def z(self):
        return bool(self.flags & 0x0040)

    @property
    def ad(self):
        return bool(self.flags & 0x0020)

    @property
    def cd(self):
        return bool(self.flags & 0x0010)

    @property
    def header_rcode(self):
        return self.flags & 0xF

    @property
    def rcode_name(self):
        return rcode_name(self.rcode)

    @property
    def flag_names(self):
        """The set header bits as dig prints them: qr aa tc rd ra z ad cd."""
        names = []
        for bit, text in FLAG_BITS:   # wirecraft.proto.dns.FLAGS' single bits
            if self.flags & bit:
                names.append(text)
        return names

    @property
    def question(self):
        """The first question, or None."""
        return self.questions[0] if self.questions else None

    def records(self):
        """Every record of the answer, authority and additional sections, in order."""
        return self.answers + self.authorities + self.additionals

    def __repr__(self):
        q = self.questions[0] if self.questions else None
        return (f"<DNS {'response' if self.qr else 'query'} id={self.id} "
                f"{q.name + ' ' + type_name(q.type) if q is not None else '-'} "
                f"{self.rcode_name} an={len(self.answers)} ns={len(self.authorities)} "
                f"ar={len(self.additionals)}{' problems=' + ','.join(self.problems) if self.problems else ''}>")

    def to_text(self):
        """A dig-like multi-line rendering of the whole message."""
        lines = [f";; opcode: {self.opcode_name}, status: {self.rcode_name}, id: {self.id}",
                 f";; flags: {' '.join(self.flag_names)}; QUERY: {self.counts[0]}, "
                 f"ANSWER: {self.counts[1]}, AUTHORITY: {self.counts[2]}, "
                 f"ADDITIONAL: {self.counts[3]}"]
        if self.edns is not None:
            lines.append(f";; EDNS: version: {self.edns.version}, flags:"
                         f"{' do' if self.edns.do else ''}; udp: {self.edns.payload_size}")
        lines.append(";; QUESTION SECTION:")
        lines.extend(str(q) for q in self.questions)
        for title, section in (("ANSWER", self.answers), ("AUTHORITY", self.authorities),
                               ("ADDITIONAL", self.additionals)):
            if section:
                lines.append(f";; {title} SECTION:")
                lines.extend(str(r) for r in section)
        if self.problems:
            lines.append(f";; PROBLEMS: {', '.join(self.problems)}")
        return "\n".join(lines)


def decode(data, mdns=None):
    """Decode one DNS message (no TCP length prefix). Never raises on wire data.

    mdns: None splits the class's top bit (mDNS cache-flush / unicast-response) only
    when the rest is IN; True always splits it, False never.
    """
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    return _decode(raw, 2 if mdns is None else (1 if mdns else 0))


cdef list _LIGHT_EMPTY = []


cdef inline list _section_list(Message m, unsigned int section):
    if section == 1:
        return m.answers
    if section == 2:
        return m.authorities
    return m.additionals
