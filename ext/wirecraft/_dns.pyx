# cython: language_level=3, cdivision=True
"""DNS wire decoder: one bounded pass over a message, typed records, problems as flags.

RFCs: 1035 (format, compression), 3596 (AAAA), 2782 (SRV), 3403 (NAPTR), 4034 (DNSSEC
records), 5155 (NSEC3), 6891 (EDNS0), 7871 (client subnet), 7873 (cookies), 7828
(keepalive), 7830 (padding), 8914 (extended errors), 9460 (SVCB/HTTPS), 8945 (TSIG),
3597 (unknown types), 4255 (SSHFP), 6698 (TLSA), 8659 (CAA), 6762 (mDNS), 4795 (LLMNR).

Reads use raw pointers: every read is preceded by a length check against the end of the
message or of the rdata; each such read carries a comment naming its check. Names follow
at most MAX_JUMPS compression pointers, each strictly backwards of where the current run
of labels began, so a name costs at most 255 label bytes plus 20 jumps whatever the input.
Every record consumes at least 5 bytes, so a message costs time linear in its length.
Indexing of Python lists and tuples keeps Cython's bounds and wraparound checks (no
file-wide directive, so a WIRECRAFT_DEBUG=1 build checks them everywhere); the two export
paths whose indices are bounded by construction switch them off per function, naming why.

The module is one extension assembled from include files under dns/, in this order:
tables (names, typed rdata classes), parser (wire reads, names, rdata, EDNS), message
(Question, Record, Message, decode), summary (growable buffers, the columnar sink), decode
(the one-pass driver), text (presentation form), and the transaction log: keys (hash
tables, UIDs, address text), store (the table) and builder (pairing, the batch driver).
"""

cimport cython
from wirecraft._core cimport ip4_text, ip6_text
from wirecraft._codes cimport L_TCP, L_UDP
from wirecraft._record cimport rec_t
from cpython cimport array
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF, PyObject
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint16_t, uint32_t
from libc.stdint cimport int32_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, memset
from cpython.unicode cimport (PyUnicode_1BYTE_DATA, PyUnicode_DecodeUTF8,
                              PyUnicode_GET_LENGTH, PyUnicode_New)
from libc.stdio cimport snprintf

import binascii
import time as _time
from collections import namedtuple

cdef extern from "arpa/inet.h" nogil:
    const char* inet_ntop(int af, const void* src, char* dst, unsigned int size)

cdef extern from "sys/socket.h" nogil:
    int AF_INET
    int AF_INET6

# one extension assembled from topical include files, in dependency order
include "dns/tables.pxi"
include "dns/parser.pxi"
include "dns/message.pxi"
include "dns/summary.pxi"
include "dns/decode.pxi"
include "dns/text.pxi"
include "dns/keys.pxi"
include "dns/store.pxi"
include "dns/builder.pxi"
