# Byte access for the C decoders and the core: unaligned big/little-endian reads.
# Every caller checks the length before the read (the read itself checks nothing).
# Inline functions only: cimporting this file adds no runtime import.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef inline uint16_t be16(const uint8_t* p) noexcept nogil:
    return (<uint16_t>p[0] << 8) | p[1]

cdef inline uint32_t be32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]

cdef inline uint16_t le16(const uint8_t* p) noexcept nogil:
    return (<uint16_t>p[1] << 8) | p[0]

cdef inline uint32_t le32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[3] << 24) | (<uint32_t>p[2] << 16) | (<uint32_t>p[1] << 8) | p[0]

cdef inline uint32_t rd32(const uint8_t* p, bint swap) noexcept nogil:
    # file-order read: `swap` means the file is big-endian
    return be32(p) if swap else le32(p)

cdef inline uint16_t rd16(const uint8_t* p, bint swap) noexcept nogil:
    return be16(p) if swap else le16(p)

cdef inline uint64_t mac48(const uint8_t* p) noexcept nogil:
    return ((<uint64_t>p[0] << 40) | (<uint64_t>p[1] << 32) | (<uint64_t>p[2] << 24)
            | (<uint64_t>p[3] << 16) | (<uint64_t>p[4] << 8) | p[5])
