# cython: language_level=3
"""The CPython object-model tricks of wirecraft, in one module behind one switch.

Crafting a frame in Python is mostly object overhead, so the crafting side leans on four
things that only CPython's object layout allows:

* slot reads and writes by member-descriptor offset (slot_offset, slot_get/slot_put in
  _fastobj.pxd), so the serializer in _craft reads layer fields without attribute lookup;
* `clone`: a layer copy made by copying its slots;
* a `tp_vectorcall` constructor for layer classes (c_constructor), found through the private
  `_PyType_Lookup`; on 3.11 the vectorcall flag is set on the layer metaclass by hand
  (register_meta);
* a copy-free `/` (stack) that reuses an operand whose reference count says nobody else
  holds it, with limits calibrated at import by wirecraft.craft.base.

Each one has a plain equivalent. WIRECRAFT_NO_FAST=1 in the environment (read once, when
this module is imported; any value but "" or "0") turns all of them off: slot_offset
gives 0 (plain attribute access), c_constructor gives no class a C constructor (the
generated Python __init__ runs),
register_meta leaves the metaclass alone, and wirecraft.craft.base uses its plain `/`
(always copies) and plain copy instead of stack and clone. The suite runs both ways
(`./dev test`), so the plain path stays exercised and the tricks stay checked against it.
"""

cimport cython
from libc.stdint cimport uint64_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport Py_REFCNT, Py_INCREF, Py_XDECREF
from cpython.object cimport PyObject, PyObject_TypeCheck, PyTypeObject
from sys import intern as sys_intern

# read once (_fastobj.pxd): switching at run time would leave classes made before with the
# other kind
fast_init()
cdef bint _FAST = fast_on()


def enabled() -> bool:
    """True unless WIRECRAFT_NO_FAST was set (to anything but "" or "0") when wirecraft
    was imported."""
    return _FAST


# ---------------------------------------------------------------- slots by offset
# Fields are object slots (__slots__); a member descriptor knows the slot's offset in the
# instance. Only instances of the class the offset was taken from (or of a subclass, which
# keeps its bases' slots where they are) are read this way: callers check the type first.

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    object _generic_alloc "PyType_GenericAlloc"(PyTypeObject* t, Py_ssize_t nitems)

cdef enum:
    T_OBJECT_EX = 16  # structmember.h: an object slot that raises AttributeError when unset


cdef Py_ssize_t _member_offset(object descr, str where) except -1:
    """The offset of the object slot member descriptor `descr` describes."""
    cdef PyMemberDef* m
    if type(descr).__name__ != "member_descriptor":
        raise TypeError(f"{where} is not a slot")
    m = (<PyMemberDescrObject*><PyObject*>descr).d_member
    if m.type != T_OBJECT_EX or m.offset < <Py_ssize_t>sizeof(PyObject):
        raise TypeError(f"{where} is not an object slot")
    return m.offset


cdef Py_ssize_t slot_offset(object cls, str name) except -1:
    if not _FAST:
        return 0
    return _member_offset(getattr(cls, name, None), f"{cls.__name__}.{name}")


cdef object bare_instance(object cls):
    return _generic_alloc(<PyTypeObject*>cls, 0)


def offset_of(object cls, str name) -> int:
    """slot_offset for Python callers (tests): 0 when the tricks are off."""
    return slot_offset(cls, name)


cdef object _Layer = None
cdef PyTypeObject* _LayerT = NULL  # the type object _Layer holds
cdef object _as_layer = None
cdef Py_ssize_t _OFF_PAYLOAD = 0, _OFF_RESOLVED = 0


def register(object Layer, object as_layer) -> None:
    """Called by wirecraft.craft.base at import: the Layer base class (slots payload and
    _resolved) and the function that turns bytes/str into a Raw layer."""
    global _Layer, _LayerT, _as_layer, _OFF_PAYLOAD, _OFF_RESOLVED
    if not isinstance(Layer, type):
        raise TypeError("Layer must be a class")
    _OFF_PAYLOAD = slot_offset(Layer, "payload")
    _OFF_RESOLVED = slot_offset(Layer, "_resolved")
    _Layer = Layer
    _LayerT = <PyTypeObject*>Layer
    _as_layer = as_layer


cdef inline object _payload(object node):
    cdef PyObject* v
    if _LayerT != NULL and PyObject_TypeCheck(node, _LayerT):
        v = slot_peek(node, _OFF_PAYLOAD)
        if v != NULL:
            return <object>v
    return node.payload


# ---------------------------------------------------------------- `/` without copies

cdef Py_ssize_t _RC_SELF = 0, _RC_OTHER = 0, _RC_CHAIN = 0
cdef Py_ssize_t _seen_self = 0, _seen_other = 0


cdef Py_ssize_t _chain_max_rc(object node):
    cdef Py_ssize_t worst = 0, c
    nxt = _payload(node)
    while nxt is not None:
        c = Py_REFCNT(nxt)
        if c > worst:
            worst = c
        nxt = _payload(nxt)
    return worst


def chain_rc(object node) -> int:
    """Largest reference count among the layers above `node` (import-time calibration)."""
    return _chain_max_rc(node)


def seen_rc() -> tuple:
    """(self, other) reference counts seen by the last stack() call (calibration)."""
    return _seen_self, _seen_other


def set_rc_limits(Py_ssize_t self_limit, Py_ssize_t other_limit, Py_ssize_t chain_limit) -> None:
    """Counts at or under which stack() may reuse an operand instead of copying it (all 0
    when the tricks are off: then stack() always copies)."""
    global _RC_SELF, _RC_OTHER, _RC_CHAIN
    if not _FAST:
        self_limit = other_limit = chain_limit = 0
    _RC_SELF, _RC_OTHER, _RC_CHAIN = self_limit, other_limit, chain_limit


def stack(self, other):
    """Layer.__truediv__: `self / other`, copying an operand only when someone else holds it.

    An operand is reused when its reference count and those of every layer above it are
    what a temporary has (limits measured at import, see wirecraft.craft.base); a layer
    anyone else can reach is copied, so `a / b` never changes a or b.
    """
    global _seen_self, _seen_other
    cdef Py_ssize_t rs = Py_REFCNT(self), ro = Py_REFCNT(other)
    if _LayerT == NULL:
        raise RuntimeError("wirecraft.craft.base registers Layer first")
    _seen_self = rs
    _seen_other = ro
    cdef bint own_other = ro <= _RC_OTHER
    right = other
    if not PyObject_TypeCheck(right, _LayerT):
        right = _as_layer(right)
        own_other = True
    if rs <= _RC_SELF and _chain_max_rc(self) <= _RC_CHAIN:
        top = self
    else:
        top = self.copy()
    if not (own_other and _chain_max_rc(right) <= _RC_CHAIN):
        right = right.copy()
    last = top
    nxt = _payload(last)
    while nxt is not None:
        last = nxt
        nxt = _payload(last)
    if PyObject_TypeCheck(last, _LayerT):
        slot_put(last, _OFF_PAYLOAD, "payload", right)
    else:
        last.payload = right
    return top


# ---------------------------------------------------------------- copying a layer

cdef dict _CLONE_TABLES = {}  # layer class -> bytes: (offset, is list field) pairs of Py_ssize_t

ctypedef struct _SlotEntry:
    Py_ssize_t offset
    Py_ssize_t is_list


cdef bytes _clone_table(object t):
    cdef list entries = []
    list_fields = set(getattr(t, "_list_fields", ()))
    seen = set()
    for klass in t.__mro__:
        for name in klass.__dict__.get("__slots__", ()):
            if name in seen or name.startswith("__") or name in ("payload", "_resolved"):
                continue
            seen.add(name)
            entries.append((_member_offset(klass.__dict__.get(name), f"{klass.__name__}.{name}"),
                            name in list_fields))
    cdef bytes table = PyBytes_FromStringAndSize(NULL, len(entries) * sizeof(_SlotEntry))
    cdef _SlotEntry* e = <_SlotEntry*>PyBytes_AS_STRING(table)
    cdef Py_ssize_t k
    for k in range(len(entries)):  # table sized for len(entries) entries
        e[k].offset = entries[k][0]
        e[k].is_list = entries[k][1]
    _CLONE_TABLES[t] = table
    return table


def clone(object layer):
    """A copy of one layer (Layer._clone): every field shared, list fields copied into new
    lists, no payload, nothing derived yet. Only used while the tricks are on."""
    if not _FAST:
        raise RuntimeError("clone() is off (WIRECRAFT_NO_FAST=1): use Layer._clone")
    if _LayerT == NULL or not PyObject_TypeCheck(layer, _LayerT):
        raise TypeError("clone() takes a Layer")
    t = type(layer)
    table = _CLONE_TABLES.get(t)
    if table is None:
        table = _clone_table(t)
    cdef const _SlotEntry* e = <const _SlotEntry*>PyBytes_AS_STRING(table)
    cdef Py_ssize_t k, n = len(<bytes>table) // sizeof(_SlotEntry)
    new = _generic_alloc(<PyTypeObject*>t, 0)  # as object.__new__ here: zeroed slots
    cdef PyObject* v
    cdef PyObject** slot
    for k in range(n):
        # offsets come from the member descriptors of type(layer), the type of new too
        v = (<PyObject**>((<char*><PyObject*>layer) + e[k].offset))[0]
        if v == NULL:
            continue
        value = <object>v
        if e[k].is_list and type(value) is list:
            value = list(<list>value)
        slot = <PyObject**>((<char*><PyObject*>new) + e[k].offset)
        Py_INCREF(value)
        Py_XDECREF(slot[0])
        slot[0] = <PyObject*>value
    if (<PyTypeObject*>t).tp_dictoffset:  # a subclass that asked for a __dict__ as well
        new.__dict__.update(layer.__dict__)
    slot_put(new, _OFF_PAYLOAD, "payload", None)
    slot_put(new, _OFF_RESOLVED, "_resolved", None)
    return new


# ---------------------------------------------------------------- constructing a layer
# `Ethernet(src=..., dst=...)` without a Python frame: a class whose __init__ is the one
# _LayerMeta generates gets a vectorcall constructor (PyTypeObject.tp_vectorcall, never
# inherited by subclasses) that does what that __init__ does -- every field to its default,
# a fresh list for list fields, the keywords given, payload through as_layer, _resolved None
# -- storing straight into the slots. Anything else (positional arguments, an unknown or
# repeated keyword) goes through type.__call__ and the generated __init__, which raises the
# usual TypeError.

cdef extern from "Python.h":
    ctypedef PyObject* (*_vectorcallfunc "vectorcallfunc")(PyObject*, PyObject* const*, size_t,
                                                          PyObject*)
    ctypedef struct _TypeSlots "PyTypeObject":
        unsigned long tp_flags
        Py_ssize_t tp_vectorcall_offset
        void* tp_call
        _vectorcallfunc tp_vectorcall
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    PyObject* _tuple_item "PyTuple_GET_ITEM"(PyObject* t, Py_ssize_t i)
    PyObject* _type_lookup "_PyType_Lookup"(PyTypeObject* t, PyObject* name)  # borrowed

ctypedef struct _InitField:
    Py_ssize_t offset
    PyObject* name      # borrowed: the spec's names tuple holds it
    PyObject* default   # borrowed: the spec's defaults tuple holds it
    Py_ssize_t is_list

cdef enum:
    _MAX_FAST_FIELDS = 64  # fields of one class the fast constructor tracks (a bit mask)


@cython.final
@cython.no_gc  # holds str, the field defaults and bytes; no cycle passes through a class
cdef class _InitSpec:
    """The field table of one layer class for its C constructor (kept in the class's dict)."""
    cdef tuple names, defaults
    cdef bytes table  # n _InitField entries
    cdef Py_ssize_t n
    cdef size_t owner  # address of the class it was made for (identity only, no reference)


cdef str _SPEC_ATTR = sys_intern("_c_constructor")  # where a class keeps its _InitSpec
cdef bint _meta_ready = False
cdef object _LayerMeta_o = None


cdef inline _InitSpec _spec_of(object cls):
    """The _InitSpec made for cls itself (not for a base class it inherits from), or None."""
    cdef PyObject* found = _type_lookup(<PyTypeObject*>cls, <PyObject*>_SPEC_ATTR)
    if found == NULL or type(<object>found) is not _InitSpec:
        return None
    cdef _InitSpec spec = <_InitSpec>found
    return spec if spec.owner == <size_t><PyObject*>cls else None


cdef object _fallback_call(object cls, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames):
    """type.__call__(cls, *args, **kwargs): object.__new__ plus the class's __init__."""
    cdef Py_ssize_t j
    pos = tuple([<object>args[j] for j in range(nargs)])
    kw = {}
    if kwnames != NULL:
        for j in range(len(<tuple>kwnames)):
            kw[(<tuple>kwnames)[j]] = <object>args[nargs + j]
    return type.__call__(cls, *pos, **kw)


cdef inline Py_ssize_t _find_field(const _InitField* f, Py_ssize_t n, PyObject* key) noexcept:
    """Index of field `key` among f[0:n], n for "payload", -1 for neither."""
    cdef Py_ssize_t k
    for k in range(n):  # keywords are interned: the identity test finds them
        if f[k].name == key:
            return k
    for k in range(n):
        if <object>f[k].name == <object>key:
            return k
    if <object>key == "payload":
        return n
    return -1


cdef object _layer_vectorcall(object cls, PyObject* const* args, size_t nargsf, PyObject* kwnames):
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    cdef _InitSpec spec = _spec_of(cls)
    if spec is None or nargs:
        return _fallback_call(cls, args, nargs, kwnames)
    cdef const _InitField* f = <const _InitField*>PyBytes_AS_STRING(spec.table)
    cdef Py_ssize_t n = spec.n, nkw = 0, j, k
    cdef uint64_t given = 0
    cdef signed char where[_MAX_FAST_FIELDS + 1]  # field index of keyword j; n for payload
    if kwnames != NULL:
        nkw = len(<tuple>kwnames)
    if nkw > n + 1:
        return _fallback_call(cls, args, nargs, kwnames)
    for j in range(nkw):  # j < nkw <= n + 1 <= _MAX_FAST_FIELDS + 1 entries of where
        # borrowed; kwnames is a tuple of nkw
        k = _find_field(f, n, _tuple_item(kwnames, j))
        if k < 0 or (given >> k) & 1:
            return _fallback_call(cls, args, nargs, kwnames)
        given |= (<uint64_t>1) << k
        where[j] = <signed char>k
    payload = None
    if (given >> n) & 1:
        for j in range(nkw):
            if where[j] == n:
                payload = <object>args[j]
        if payload is not None and not PyObject_TypeCheck(payload, _LayerT):
            payload = _as_layer(payload)
    obj = _new_with_defaults(cls, spec, given)
    cdef PyObject** slot
    cdef PyObject* v
    for j in range(nkw):
        k = where[j]
        if k == n:
            continue
        v = args[j]
        slot = <PyObject**>((<char*><PyObject*>obj) + f[k].offset)
        Py_INCREF(<object>v)
        slot[0] = v
    slot_put(obj, _OFF_PAYLOAD, "payload", payload)
    slot_put(obj, _OFF_RESOLVED, "_resolved", None)
    return obj


cdef object _new_with_defaults(object cls, _InitSpec spec, uint64_t given):
    """A zeroed instance of cls (as object.__new__ makes it) with every field whose bit is
    not set in `given` at its default; the caller stores the others, payload and _resolved."""
    cdef const _InitField* f = <const _InitField*>PyBytes_AS_STRING(spec.table)
    cdef PyObject** slot
    cdef Py_ssize_t k
    obj = _generic_alloc(<PyTypeObject*>cls, 0)
    for k in range(spec.n):
        if (given >> k) & 1:
            continue
        # offsets come from the member descriptors of cls (the type of obj), see _init_spec
        slot = <PyObject**>((<char*><PyObject*>obj) + f[k].offset)
        if f[k].is_list:
            value = []
            Py_INCREF(value)
            slot[0] = <PyObject*>value
        else:
            Py_INCREF(<object>f[k].default)
            slot[0] = f[k].default
    return obj


cdef object _made_spec = None, _made_names = None  # the last make_layer call's (spec, names)
cdef uint64_t _made_given = 0


cdef object make_layer(object cls, tuple names, tuple values):
    global _made_spec, _made_names, _made_given
    cdef _InitSpec spec = _spec_of(cls) if _FAST else None
    if spec is None or len(names) != len(values):
        return None
    cdef const _InitField* f = <const _InitField*>PyBytes_AS_STRING(spec.table)
    cdef Py_ssize_t j, k
    cdef uint64_t given = 0
    if spec is _made_spec and names is _made_names:
        given = _made_given
    else:
        for j in range(len(names)):
            k = _find_field(f, spec.n, <PyObject*>names[j])
            if k < 0 or k == spec.n or (given >> k) & 1:
                return None
            given |= (<uint64_t>1) << k
        _made_spec, _made_names, _made_given = spec, names, given
    obj = _new_with_defaults(cls, spec, given)
    for j in range(len(names)):
        k = _find_field(f, spec.n, <PyObject*>names[j])
        slot_put(obj, f[k].offset, names[j], values[j])
    slot_put(obj, _OFF_PAYLOAD, "payload", None)
    slot_put(obj, _OFF_RESOLVED, "_resolved", None)
    return obj


cdef object _init_spec(object cls):
    """The field table of cls, or None if a field is not a plain object slot."""
    cdef PyMemberDef* m
    fields = cls.fields
    names = tuple([sys_intern(fname) for fname, _ in fields])
    defaults = tuple([fdefault for _, fdefault in fields])
    cdef Py_ssize_t n = len(names), k
    if n > _MAX_FAST_FIELDS - 1:
        return None
    cdef bytes table = PyBytes_FromStringAndSize(NULL, n * sizeof(_InitField))
    cdef _InitField* e = <_InitField*>PyBytes_AS_STRING(table)
    for k in range(n):  # table sized for n entries
        d = getattr(cls, names[k], None)
        if type(d).__name__ != "member_descriptor":
            return None
        m = (<PyMemberDescrObject*><PyObject*>d).d_member
        if m.type != T_OBJECT_EX or m.offset < <Py_ssize_t>sizeof(PyObject):
            return None
        e[k].offset = m.offset
        e[k].name = <PyObject*>names[k]
        e[k].default = <PyObject*>defaults[k]
        e[k].is_list = isinstance(defaults[k], list)
    cdef _InitSpec spec = _InitSpec.__new__(_InitSpec)
    spec.names = names
    spec.defaults = defaults
    spec.table = table
    spec.n = n
    spec.owner = <size_t><PyObject*>cls
    return spec


def c_constructor(object cls, bint on=True) -> bool:
    """Give layer class `cls` the C constructor (on), or take it away; True if it has one.

    Only a class whose metaclass is the registered one, whose __init__ is its generated
    field setter and which keeps object's __new__ and __setattr__ qualifies; with the
    tricks off (WIRECRAFT_NO_FAST=1) none does.
    """
    if not isinstance(cls, type):
        raise TypeError("c_constructor() takes a class")
    cdef _TypeSlots* t = <_TypeSlots*><PyObject*>cls
    if not on or not _FAST:
        if _SPEC_ATTR in cls.__dict__:
            type.__delattr__(cls, _SPEC_ATTR)
        if t.tp_vectorcall == <_vectorcallfunc>_layer_vectorcall:
            t.tp_vectorcall = NULL
        return False
    own = cls.__dict__
    if (not _meta_ready or not issubclass(cls, _Layer) or cls is _Layer
            or type(cls) is not _LayerMeta_o or cls.__new__ is not object.__new__
            or cls.__setattr__ is not object.__setattr__ or "_init_fields" not in own
            or own.get("__init__") is not own["_init_fields"]):
        return c_constructor(cls, False)
    spec = _init_spec(cls)
    if spec is None:
        return c_constructor(cls, False)
    type.__setattr__(cls, _SPEC_ATTR, spec)
    t.tp_vectorcall = <_vectorcallfunc>_layer_vectorcall
    return True


def register_meta(object meta) -> None:
    """Let calls of classes made by `meta` (the layer metaclass) use their vectorcall slot.

    CPython 3.12+ sets Py_TPFLAGS_HAVE_VECTORCALL on such a metaclass itself (it inherits
    type's call); 3.11 leaves it off for heap types, so it is set here, after checking that
    the metaclass neither overrides __call__ nor moved type's vectorcall slot. Nothing is
    changed with the tricks off.
    """
    global _LayerMeta_o, _meta_ready
    if not isinstance(meta, type) or not issubclass(meta, type):
        raise TypeError("register_meta() takes a metaclass")
    cdef _TypeSlots* m = <_TypeSlots*><PyObject*>meta
    cdef _TypeSlots* base = <_TypeSlots*><PyObject*>type
    _LayerMeta_o = meta
    _meta_ready = False
    if _LayerT == NULL:
        raise RuntimeError("register Layer before its metaclass")
    if not _FAST:
        return
    if m.tp_call != base.tp_call or m.tp_vectorcall_offset != base.tp_vectorcall_offset:
        return
    m.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL
    _meta_ready = True
