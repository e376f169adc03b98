# CPython-internals tricks, in one place, behind one switch.
#
# This is the declaration file of wirecraft._fastobj (the crafting tricks live in
# _fastobj.pyx).  It holds inline functions and an extern C flag only -- no module-level
# cdef variables, no cdef classes, no non-inline functions -- so cimporting it adds no
# runtime import to a module.
#
# The switch: WIRECRAFT_NO_FAST=1 in the environment when a module is imported turns
# every trick off in it (normal construction, generic attribute lookup, fresh buffers),
# so the tricks can be ruled out when a result looks wrong and the suite can be run
# without them.  Any value but "" and "0" counts as set.
#
# Use, in a module that cimports this file:
#     fast_init()                    # once, at the top of the module (reads the switch)
#     if fast_on(): ...              # a hot-name __getattribute__ test, say
#     v = <_View>new_instance(View)  # an extension-type instance without __init__
#     if unshared(buf, 2): ...       # reuse a buffer only the caller's references hold

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_REFCNT, Py_XDECREF
from libc.stdlib cimport getenv

cdef extern from *:
    """
    /* the CPython-tricks switch (_fastobj.pxd): a copy in every module that cimports it,
       set by fast_init() when that module is imported */
    static int wc_fast_on = 1;
    """
    int wc_fast_on


cdef inline bint fast_enabled() noexcept nogil:
    """What the environment asks for now: False when WIRECRAFT_NO_FAST is set to
    anything but '' or '0'."""
    cdef const char* v = getenv("WIRECRAFT_NO_FAST")
    return v == NULL or v[0] == 0 or (v[0] == 48 and v[1] == 0)     # 48: '0'


cdef inline void fast_init() noexcept nogil:
    """Read the switch once; call it at the top of every module that uses these helpers
    (before the module makes any object with them)."""
    global wc_fast_on
    wc_fast_on = fast_enabled()


cdef inline bint fast_on() noexcept nogil:
    """True unless WIRECRAFT_NO_FAST was set when this module was imported.  Test it in
    front of a hot-name shortcut in __getattribute__; the generic path
    (PyObject_GenericGetAttr and the class's properties) must give the same answer."""
    return wc_fast_on


cdef inline object new_instance(type cls):
    """A new instance of extension type `cls` without __init__: its tp_new called
    directly (no attribute lookup, no argument tuple), or, with the tricks off, through
    cls.__new__(cls).  The caller fills the C fields."""
    if wc_fast_on:
        return (<PyTypeObject*>cls).tp_new(cls, <PyObject*>(), NULL)
    new = cls.__new__       # looked up and called as Python does (a direct
    return new(cls)         # `cls.__new__(cls)` Cython would turn into tp_new)


cdef inline bint unshared(object o, Py_ssize_t held) noexcept:
    """True when `o` has exactly `held` references (the ones the caller knows of: its
    container's, its local's ...), so its memory may be reused in place; always False
    with the tricks off (the caller then allocates afresh)."""
    return wc_fast_on and Py_REFCNT(o) == held


# ---------------------------------------------------------------- crafting side
# Declared for _craft (defined in _fastobj.pyx). Unlike the inline helpers above, the three
# non-inline functions make a module that cimports them import wirecraft._fastobj.

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



# The fast paths alone, for a serializer that reads a dozen fields per layer: small enough
# for the C compiler to inline at every use, the name fetched only on the slow path (the
# caller's, out of line). slot_peek: the object in the slot (borrowed), or NULL when off is
# 0 (no offset known) or the slot is unset -- then the caller reads by name, which raises
# AttributeError for an unset slot. slot_poke: store (True) or, off 0, do nothing (False).
cdef inline PyObject* slot_peek(object obj, Py_ssize_t off) noexcept:
    if off == 0:
        return NULL
    return (<PyObject**>((<char*><PyObject*>obj) + off))[0]


cdef inline bint slot_poke(object obj, Py_ssize_t off, object value) noexcept:
    if off == 0:
        return False
    cdef PyObject** slot = <PyObject**>((<char*><PyObject*>obj) + off)
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)
    return True
