# The internet checksum (RFC 1071), the one routine every module uses: the core to
# verify (check_checksums, Packet.verify_checksums), crafting to compute and update.
# Inline functions only: cimporting this file adds no runtime import.
#
#   acc = sum16(p, n, 0)                  # sum the covered bytes ...
#   acc = sum16(pseudo, 12, acc)          # ... in as many pieces as needed
#   c = checksum16(acc)                   # the value to store in the header
#   ok = verify16(acc)                    # or: the bytes already hold a right checksum
#
# Pieces may be summed in any order, but every piece except the last must have an
# even length (a 16-bit word never straddles two pieces).  A uint64 accumulator
# cannot overflow for any buffer that fits in memory (2^48 words).

from libc.stdint cimport uint8_t, uint16_t, uint64_t


cdef inline uint64_t sum16(const uint8_t* p, size_t n, uint64_t acc) noexcept nogil:
    """acc plus the big-endian 16-bit words of p[0:n] (an odd last byte padded with 0),
    not folded.  Reads exactly p[0:n]: the caller checks that those bytes exist."""
    cdef size_t i = 0
    while i + 1 < n:
        acc += (<uint64_t>p[i] << 8) | p[i + 1]
        i += 2
    if n & 1:
        acc += <uint64_t>p[n - 1] << 8
    return acc


cdef inline uint16_t fold16(uint64_t acc) noexcept nogil:
    """The one's-complement sum: acc with its carries folded into 16 bits (not inverted)."""
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint16_t>acc


cdef inline uint16_t checksum16(uint64_t acc) noexcept nogil:
    """The checksum to store for a sum taken with the checksum field set to zero."""
    return <uint16_t>(~fold16(acc) & 0xFFFF)


cdef inline bint verify16(uint64_t acc) noexcept nogil:
    """True when a sum taken over bytes including their checksum field is right (it folds
    to 0xFFFF).  A sum of all-zero bytes folds to 0 and is not right."""
    return fold16(acc) == 0xFFFF


cdef inline uint16_t update16(uint16_t old_checksum, uint16_t old_word,
                              uint16_t new_word) noexcept nogil:
    """RFC 1624 eqn. 3: the checksum after one covered 16-bit word changes from old_word
    to new_word, without summing the rest again: HC' = ~(~HC + ~m + m')."""
    return checksum16(<uint64_t>(~old_checksum & 0xFFFF) + (~old_word & 0xFFFF) + new_word)
