# Included by _core.pyx (one module, wirecraft._core): the record as numpy columns.

# --------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------

# record_size() and record_fields() are generated from the catalogue: core/record.pxi


def format_addresses(const uint8_t[:, ::1] addrs, const uint8_t[::1] versions):
    """Text form of a column of 16-byte addresses (4 used when version is 4, '' when 0)."""
    cdef Py_ssize_t n = addrs.shape[0], i
    out = [None] * n
    for i in range(n):
        if versions[i] == 4:
            out[i] = ip4_text(&addrs[i, 0])
        elif versions[i] == 6:
            out[i] = ip6_text(&addrs[i, 0])
        else:
            out[i] = ""
    return out


def format_macs(const uint64_t[::1] macs):
    """Text form of a column of MAC addresses held in the low 48 bits."""
    cdef Py_ssize_t n = macs.shape[0], i
    out = [None] * n
    for i in range(n):
        out[i] = mac_text(macs[i])
    return out
