# cython: language_level=3
"""Declarations of wirecraft._fastobj: the CPython object-model tricks, in one place, behind
one switch (WIRECRAFT_NO_FAST=1 turns every one of them off; see _fastobj.pyx)."""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

# ---------------------------------------------------------------- crafting side

cdef bint fast_enabled() noexcept
# Offset of object slot `name` in instances of `cls` (its member descriptor), so the
# serializer can read fields without attribute lookup; 0 when the tricks are off, which
# makes slot_get/slot_put fall back to plain attribute access. TypeError if `name` is not
# a plain object slot of cls.
cdef Py_ssize_t slot_offset(object cls, str name) except -1
# A zeroed instance of a slots-only class, as object.__new__ makes it (no __init__ run).
cdef object bare_instance(object cls)
# cls(**dict(zip(names, values))) for a layer class that has the C constructor, without a
# keyword dict; None when cls has none (the caller then calls cls itself).
cdef object make_layer(object cls, tuple names, tuple values)


cdef inline object slot_get(object obj, Py_ssize_t off, str name):
    """obj.<name>: read at `off` (from slot_offset of type(obj) or a base; the caller has
    checked the type), or by attribute lookup when off is 0."""
    if off == 0:
        return getattr(obj, name)
    cdef PyObject* v = (<PyObject**>((<char*><PyObject*>obj) + off))[0]
    if v == NULL:
        raise AttributeError(name)
    return <object>v


cdef inline int slot_put(object obj, Py_ssize_t off, str name, object value) except -1:
    """obj.<name> = value, at `off` (same precondition as slot_get), or by setattr when
    off is 0."""
    if off == 0:
        setattr(obj, name, value)
        return 0
    cdef PyObject** slot = <PyObject**>((<char*><PyObject*>obj) + off)
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)
    return 0
