# The core module's C interface to the other extension modules.
# The record (rec_t) and the decoder's codes live in their own files; they are
# cimported here so `from wirecraft._core cimport rec_t, L_TCP` keeps working.

from libc.stdint cimport uint8_t

from wirecraft._codes cimport *
from wirecraft._record cimport rec_t

cdef void decode_frame(const uint8_t* p, rec_t* r) noexcept nogil

# address text, shared with the other extension modules (one formatter each)
cdef str ip4_text(const uint8_t* a)
cdef str ip6_text(const uint8_t* a)
