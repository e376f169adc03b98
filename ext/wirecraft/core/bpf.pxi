# Included by _core.pyx (one module, wirecraft._core): the BPF machine and Filter.

# --------------------------------------------------------------------------
# Classic BPF, run over a batch in C.  libpcap compiles the expression (via
# pcapy-ng); the program is validated here before it is ever run.
# --------------------------------------------------------------------------

cdef struct bpf_insn:
    uint16_t code
    uint8_t jt
    uint8_t jf
    uint32_t k


cdef class BPFProgram:
    """A validated classic BPF program for one link type."""
    cdef bpf_insn* insns
    cdef Py_ssize_t n
    cdef readonly int linktype

    def __cinit__(self, list instructions, int linktype):
        cdef Py_ssize_t i
        cdef uint16_t code
        self.linktype = linktype
        self.n = len(instructions)
        if self.n == 0 or self.n > 4096:
            raise ValueError("BPF program must have 1..4096 instructions")
        self.insns = <bpf_insn*>malloc(self.n * sizeof(bpf_insn))
        if self.insns == NULL:
            raise MemoryError()
        for i, ins in enumerate(instructions):
            code, jt, jf, k = ins
            self.insns[i].code = code
            self.insns[i].jt = jt
            self.insns[i].jf = jf
            self.insns[i].k = <uint32_t>(k & 0xFFFFFFFF)
            cls = code & 7
            if cls == 5:            # jumps only forward, inside the program
                if (code & 0xF0) == 0:
                    if i + 1 + (k & 0xFFFFFFFF) >= self.n:
                        raise ValueError(f"BPF jump out of range at {i}")
                elif i + 1 + max(jt, jf) >= self.n:
                    raise ValueError(f"BPF jump out of range at {i}")
            elif (cls == 0 or cls == 1) and (code & 0xE0) == 0x60 and (k & 0xFFFFFFFF) >= 16:
                raise ValueError(f"BPF scratch index out of range at {i}")
            elif (cls == 2 or cls == 3) and (k & 0xFFFFFFFF) >= 16:
                raise ValueError(f"BPF scratch index out of range at {i}")
        if (self.insns[self.n - 1].code & 7) != 6:
            raise ValueError("BPF program does not end with a return")

    def __dealloc__(self):
        free(self.insns)

    def __len__(self):
        return self.n

    def matches(self, bytes frame, wire_len=None):
        """Run the program on one frame (for tests and single packets)."""
        cdef uint32_t wl = len(frame) if wire_len is None else wire_len
        return bpf_run(self.insns, <const uint8_t*>PyBytes_AS_STRING(frame),
                       <uint32_t>len(frame), wl) != 0


@cython.cdivision(True)
cdef uint32_t bpf_run(const bpf_insn* prog, const uint8_t* p, uint32_t caplen,
                      uint32_t wirelen) noexcept nogil:
    """Interpret a validated program; a read out of bounds rejects the packet."""
    cdef uint32_t A = 0, X = 0, k, idx, v, op, cls, mode, size, rv
    cdef bint cond
    cdef uint32_t mem[16]
    cdef Py_ssize_t pc = 0
    cdef uint16_t code
    memset(mem, 0, sizeof(mem))
    while True:
        code = prog[pc].code
        k = prog[pc].k
        cls = code & 7
        if cls == 0 or cls == 1:        # LD / LDX
            mode = code & 0xE0
            size = code & 0x18
            if mode == 0x00:
                idx = k
                if cls == 0: A = k
                else: X = k
            elif mode == 0x80:
                if cls == 0: A = wirelen
                else: X = wirelen
            elif mode == 0x60:
                if cls == 0: A = mem[k & 15]
                else: X = mem[k & 15]
            elif mode == 0xA0:          # LDX MSH: X = 4 * (p[k] & 0xf)
                if k >= caplen:
                    return 0
                X = (p[k] & 0x0F) * 4
            elif mode == 0x20 or mode == 0x40:
                idx = k if mode == 0x20 else X + k
                if mode == 0x40 and idx < X:    # wrapped
                    return 0
                if size == 0x00:
                    if idx > caplen or caplen - idx < 4:
                        return 0
                    A = be32(p + idx)
                elif size == 0x08:
                    if idx > caplen or caplen - idx < 2:
                        return 0
                    A = be16(p + idx)
                else:
                    if idx >= caplen:
                        return 0
                    A = p[idx]
            else:
                return 0
        elif cls == 2:
            mem[k & 15] = A
        elif cls == 3:
            mem[k & 15] = X
        elif cls == 4:                  # ALU
            op = code & 0xF0
            v = X if code & 0x08 else k
            if op == 0x00: A = A + v
            elif op == 0x10: A = A - v
            elif op == 0x20: A = A * v
            elif op == 0x30:
                if v == 0: return 0
                A = A // v
            elif op == 0x90:
                if v == 0: return 0
                A = A % v
            elif op == 0x40: A = A | v
            elif op == 0x50: A = A & v
            elif op == 0xA0: A = A ^ v
            elif op == 0x60: A = (A << v) if v < 32 else 0
            elif op == 0x70: A = (A >> v) if v < 32 else 0
            elif op == 0x80: A = <uint32_t>(-(<int64_t>A))
            else: return 0
        elif cls == 5:                  # JMP (validated: forward and in range)
            op = code & 0xF0
            if op == 0x00:
                pc += k
            else:
                v = X if code & 0x08 else k
                if op == 0x10: cond = A == v
                elif op == 0x20: cond = A > v
                elif op == 0x30: cond = A >= v
                elif op == 0x40: cond = (A & v) != 0
                else: return 0
                pc += prog[pc].jt if cond else prog[pc].jf
        elif cls == 6:                  # RET
            rv = code & 0x18
            if rv == 0x00: return k
            if rv == 0x08: return X
            return A
        else:                           # MISC
            if (code & 0xF8) == 0x00: X = A
            elif (code & 0xF8) == 0x80: A = X
            else: return 0
        pc += 1


cdef class Filter:
    """A BPF expression, compiled by libpcap once per link type it meets."""
    cdef readonly str expression
    cdef int snaplen
    cdef dict programs
    cdef BPFProgram last
    cdef int last_linktype

    def __cinit__(self, str expression, int snaplen=262144):
        self.expression = expression
        self.snaplen = snaplen
        self.programs = {}
        self.last = None
        self.last_linktype = -1

    cpdef BPFProgram program(self, int linktype):
        """The compiled program for `linktype` (compiled on first use)."""
        prog = self.programs.get(linktype)
        if prog is None:
            from .errors import FilterError
            try:
                import pcapy
            except ImportError as exc:                   # pragma: no cover
                raise FilterError("BPF filters need pcapy-ng (pip install pcapy-ng)") from exc
            try:
                compiled = pcapy.compile(linktype, self.snaplen, self.expression, 1, 0xFFFFFFFF)
            except Exception as exc:
                raise FilterError(
                    f"cannot compile filter {self.expression!r} for link type {linktype}: {exc}"
                ) from None
            prog = BPFProgram(list(compiled.get_bpf()), linktype)
            self.programs[linktype] = prog
        return prog

    cdef inline bint accept(self, const uint8_t* p, uint32_t caplen, uint32_t wirelen,
                            int linktype) except -1:
        if linktype != self.last_linktype:
            self.last = self.program(linktype)
            self.last_linktype = linktype
        return bpf_run(self.last.insns, p, caplen, wirelen) != 0

    def matches(self, bytes frame, int linktype=1, wire_len=None):
        return self.program(linktype).matches(frame, wire_len)
