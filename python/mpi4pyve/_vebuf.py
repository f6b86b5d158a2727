"""VE arrays as mpi4py buffers.

A contiguous VE array whose element type has a ctypes equivalent (booleans, integers, float32, float64,
long double: nearly every message) is given to mpi4py as a ``memoryview`` of a ctypes array placed at
the array's VE address (``from_address`` neither reads nor writes the memory). mpi4py takes it by the
buffer protocol, the same path as a numpy array, infers the datatype from its format and the count
from its length, and passes the address to the MPI_* call, where libmpive stages it. The ctypes object
holds the VE array (``owner``), so the VE memory stays alive while mpi4py holds the buffer (a pending
nonblocking call). This object is made inside mpi4pyve's wrappers and handed only to mpi4py's own
method, which passes the pointer on and never reads it (mpi4py reads buffer contents only in its
``MPI.buffer`` methods and in the pickle-based lower-case methods, which never see it; on the
simulated VE any read would fault, and the test suite runs every wrapped method there).

The other contiguous arrays (float16, complex) are presented as device buffers: ``VEBuffer`` carries a
``__cuda_array_interface__`` (CAI) dictionary made from the array's ``__ve_array_interface__`` (same
keys: shape, typestr, strides, data=(address, readonly)); mpi4py 4.x accepts those wherever it takes
a buffer, marks them as not CPU-accessible and passes the pointer unchanged. That path is about 2.6 us
slower per call in mpi4py (it first fails the buffer protocol and DLPack, each with an exception), so
it is the fallback, not the rule. DLPack was not used: it needs a C capsule with a device type, and no
DLPack device means "VE".

Non-contiguous VE arrays: where the whole array is the message and nothing is reduced (point-to-point,
Bcast, File reads and writes, Win.Put/Get) and the spec is ``a`` or ``[a, datatype]``, the array becomes ``[a, 1, T]`` with ``T``
a derived datatype (nested hvectors) describing its layout; everywhere else a BufferError says how
to proceed. Derived datatypes are cached per layout and never freed (a pending operation may use
them until it completes).
"""
import ctypes

import numpy as np

MPI = None   # mpi4py.MPI, set by install()

_PLAIN = {int, float, bool, str, bytes, bytearray, memoryview, type(None), np.ndarray}


class VEBuffer:
    """What mpi4py is given in place of a VE array: a CAI device buffer with the VE address."""

    __slots__ = ("__cuda_array_interface__", "owner")

    def __init__(self, cai, owner):
        self.__cuda_array_interface__ = cai
        self.owner = owner   # keeps the VE array (and its memory) alive while mpi4py holds the buffer

    def __repr__(self):
        return f"<mpi4pyve VE buffer at {self.__cuda_array_interface__['data'][0]:#x}>"


def ve_interface(obj):
    """The __ve_array_interface__ of obj, or None."""
    if type(obj) in _PLAIN:
        return None
    try:
        return obj.__ve_array_interface__
    except AttributeError:
        return None


def is_ve(obj):
    return ve_interface(obj) is not None


def _layout(iface):
    shape = tuple(int(n) for n in iface["shape"])
    typestr = iface["typestr"]
    itemsize = int(typestr[2:])
    strides = iface.get("strides")
    strides = tuple(int(s) for s in strides) if strides is not None else None
    addr, readonly = iface["data"]
    return shape, typestr, itemsize, strides, addr or 0, bool(readonly)


def _contiguous(shape, strides, itemsize):
    if strides is None:
        return True
    for order in ("C", "F"):
        size, ok = itemsize, True
        dims = range(len(shape) - 1, -1, -1) if order == "C" else range(len(shape))
        for i in dims:
            if shape[i] > 1 and strides[i] != size:
                ok = False
                break
            size *= shape[i]
        if ok:
            return True
    return any(n == 0 for n in shape)


def typestr_format(typestr):
    """The buffer format mpi4py derives from a typestr (as for __cuda_array_interface__)."""
    kind, size = typestr[1:2], int(typestr[2:])
    return {("b", 1): "?",
            ("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "l",
            ("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "L",
            ("f", 2): "e", ("f", 4): "f", ("f", 8): "d", ("f", 16): "g",
            ("c", 4): "Ze", ("c", 8): "Zf", ("c", 16): "Zd", ("c", 32): "Zg"}.get((kind, size), "B")


def _basic_datatype(typestr):
    fmt = typestr_format(typestr)
    if fmt == "B" and typestr[1:2] != "u":
        return MPI.BYTE, int(typestr[2:])
    return MPI._typedict[fmt], 1


_derived = {}


def _derived_type(base, reps, shape, strides):
    """Committed datatype for the strided layout (cached); `base` repeated `reps` times per element."""
    key = (base.handle, reps, shape, strides)
    t = _derived.get(key)
    if t is None:
        t = base.Create_contiguous(reps) if reps != 1 else base
        for n, s in reversed(list(zip(shape, strides))):
            if n == 1:
                continue
            nt = t.Create_hvector(n, 1, s)
            if t is not base:
                t.Free()   # the outer type keeps what it needs of the inner one
            t = nt
        if t is base:      # no dimension with more than one element (contiguous arrays never get here)
            t = base.Dup()
        t.Commit()
        _derived[key] = t
    return t


def _cai(shape, typestr, strides, addr, readonly):
    return {"shape": shape, "typestr": typestr, "strides": strides, "data": (addr, readonly), "version": 3}


# ctypes element types by buffer format (typestr_format); memoryviews of ctypes arrays of 8-byte
# integers have the format 'q'/'Q', which mpi4py maps to MPI_LONG_LONG, so those are recast to the 'l'/'L'
# (MPI_LONG) that numpy's int64 arrays and the CAI path give.
_CTYPES = {"?": ctypes.c_bool, "b": ctypes.c_int8, "h": ctypes.c_int16, "i": ctypes.c_int32,
           "l": ctypes.c_int64, "B": ctypes.c_uint8, "H": ctypes.c_uint16, "I": ctypes.c_uint32,
           "L": ctypes.c_uint64, "f": ctypes.c_float, "d": ctypes.c_double}
if ctypes.sizeof(ctypes.c_longdouble) == 16:
    _CTYPES["g"] = ctypes.c_longdouble
_RECAST = {"l", "L"}

_mem_types = {}   # (format, count) -> ctypes array type with an `owner` slot


def _mem_type(fmt, count):
    t = _mem_types.get((fmt, count))
    if t is None:
        if len(_mem_types) >= _CACHE_MAX:
            _mem_types.clear()
        t = type("VEMemory", (_CTYPES[fmt] * count,), {"__slots__": ("owner",)})
        _mem_types[(fmt, count)] = t
    return t


def _memory(t, addr, recast, readonly, owner):
    """A memoryview for mpi4py of `t` (see _mem_type) at the VE address `addr`; holds `owner`."""
    x = t.from_address(addr)
    if owner is not None:
        x.owner = owner
    m = memoryview(x)
    if recast is not None:
        m = m.cast("B").cast(recast)
    if readonly:
        m = m.toreadonly()
    return m


# How a contiguous VE layout is handed to mpi4py, keyed by everything it is made from: (data, shape,
# typestr, strides) as the array's interface gives them. A tuple (ctypes array type, address, format to
# recast to or None, readonly, shared memoryview) for _memory; a CAI dictionary for a VEBuffer; False:
# not contiguous. The shared memoryview holds no array: it is what a call that completes before it
# returns is given (the caller holds the array meanwhile); a call after which mpi4py still holds the
# buffer (nonblocking, persistent, split, RMA) gets a new memoryview that holds the array. A
# key holds only numbers and strings, never the array, so nothing is kept alive; an array whose address
# or shape changed, or a new array at a reused address, has another key. Nothing mutates the values.
# _by_id answers an interface dictionary seen before (an array that returns the same dictionary while
# it is unchanged, as simve's do) without building the key; it holds the dictionary, so its id cannot
# be reused while the entry exists.
_plans = {}
_by_id = {}
_CACHE_MAX = 4096


def _plan(iface):
    e = _by_id.get(id(iface))
    if e is not None and e[0] is iface:
        return e[1]
    try:
        key = (iface["data"], iface["shape"], iface["typestr"], iface.get("strides"))
        plan = _plans.get(key)
    except TypeError:   # unhashable parts (lists): no caching
        key, plan = None, None
    if plan is None:
        shape, typestr, itemsize, strides, addr, ro = _layout(iface)
        if not _contiguous(shape, strides, itemsize):
            plan = False
        else:
            fmt = typestr_format(typestr)
            count = 1
            for n in shape:
                count *= n
            if fmt in _CTYPES and addr and count > 0 and ctypes.sizeof(_CTYPES[fmt]) == itemsize \
                    and typestr[0] in "<|=":
                t, recast = _mem_type(fmt, count), fmt if fmt in _RECAST else None
                plan = (t, addr, recast, ro, _memory(t, addr, recast, ro, None))
            else:
                plan = _cai(shape, typestr, strides, addr, ro)
        if key is not None:
            if len(_plans) >= _CACHE_MAX:
                _plans.clear()
            _plans[key] = plan
    if type(iface) is dict:
        if len(_by_id) >= _CACHE_MAX:
            _by_id.clear()
        _by_id[id(iface)] = (iface, plan)
    return plan


def _buffer(plan, owner, held):
    """What mpi4py is given for a contiguous VE array (plan from _plan, not False); `held`: mpi4py
    holds the buffer after the call returns, so it must hold the array."""
    if type(plan) is tuple:
        if held:
            t, addr, recast, ro, _ = plan
            return _memory(t, addr, recast, ro, owner)
        return plan[4]
    return VEBuffer(plan, owner)


def as_raw(obj, iface, where):
    """A contiguous VE array as a plain buffer (Pack/Unpack buffers, window memory)."""
    shape, typestr, itemsize, strides, addr, ro = _layout(iface)
    if not _contiguous(shape, strides, itemsize):
        raise BufferError(f"mpi4pyve: {where}: the VE array is not contiguous (shape {shape}, strides "
                          f"{strides}); this argument must be contiguous memory: pass a contiguous copy")
    return VEBuffer(_cai(shape, typestr, strides, addr, ro), obj)


def _noncontig(obj, shape, typestr, itemsize, strides, addr, ro, datatype, where, whole):
    if not whole:
        raise BufferError(
            f"mpi4pyve: {where}: the VE array is not contiguous (shape {shape}, strides {strides}); "
            f"non-contiguous VE arrays are accepted where the whole array is one message and nothing is "
            f"reduced (point-to-point, Bcast, File reads and writes, Win.Put/Get, given as `a` or "
            f"`[a, datatype]`); here pass a contiguous copy")
    if datatype is None:
        base, reps = _basic_datatype(typestr)
    else:
        base = MPI._typedict[datatype] if isinstance(datatype, str) else datatype
        lb, extent = base.Get_extent()
        if lb != 0 or extent <= 0 or itemsize % extent != 0:
            raise BufferError(f"mpi4pyve: {where}: datatype {base} does not describe one element "
                              f"({typestr}) of the non-contiguous VE array")
        reps = itemsize // extent
    t = _derived_type(base, reps, shape, strides)
    return [VEBuffer(_cai((0,), "|u1", None, addr, ro), obj), 1, t]


def convert(arg, where, whole, held=True):
    """A message argument with VE arrays replaced by buffers for mpi4py (the argument itself if it has
    none). `held`: mpi4py may hold the buffer after the call returns (see _buffer)."""
    t = type(arg)
    if t is list or t is tuple:
        if not arg or len(arg) > 4:
            return arg
        a = arg[0]
        if type(a) in _PLAIN:
            return arg
        try:
            iface = a.__ve_array_interface__
        except AttributeError:
            return arg
        if iface is None:
            return arg
        e = _by_id.get(id(iface))
        plan = e[1] if e is not None and e[0] is iface else _plan(iface)
        if plan is not False:
            if t is list:
                out = list(arg)
                out[0] = _buffer(plan, a, held)
                return out
            return (_buffer(plan, a, held),) + arg[1:]
        shape, typestr, itemsize, strides, addr, ro = _layout(iface)
        if len(arg) == 2 and isinstance(arg[1], (MPI.Datatype, str)):
            return _noncontig(a, shape, typestr, itemsize, strides, addr, ro, arg[1], where, whole)
        raise BufferError(
            f"mpi4pyve: {where}: the VE array is not contiguous (shape {shape}, strides {strides}): with an "
            f"explicit count or displacements the buffer must be contiguous; pass `a` or `[a, datatype]` "
            f"(a derived datatype is then made for it) or a contiguous copy")
    if t in _PLAIN:
        return arg
    try:
        iface = arg.__ve_array_interface__
    except AttributeError:
        return arg
    if iface is None:
        return arg
    e = _by_id.get(id(iface))   # _plan's first step, here to save a call on the common path
    plan = e[1] if e is not None and e[0] is iface else _plan(iface)
    if type(plan) is tuple and not held:
        return plan[4]
    if plan is not False:
        return _buffer(plan, arg, held)
    shape, typestr, itemsize, strides, addr, ro = _layout(iface)
    return _noncontig(arg, shape, typestr, itemsize, strides, addr, ro, None, where, whole)


def is_derived_spec(arg):
    """arg is what _noncontig made: [VEBuffer, 1, derived datatype]."""
    return type(arg) is list and len(arg) == 3 and type(arg[0]) is VEBuffer and arg[1] == 1 \
        and any(arg[2] is t for t in _derived.values())


def has_ve(arg):
    """arg is a VE array or a buffer spec whose buffer is one."""
    t = type(arg)
    if t is list or t is tuple:
        return bool(arg) and ve_interface(arg[0]) is not None
    return ve_interface(arg) is not None


def install(mpi):
    global MPI
    MPI = mpi
    for name in ("Datatype", "Op", "Comm", "Request", "Status", "Win", "File", "Info", "Group", "Message",
                 "Errhandler", "Session", "buffer"):
        cls = getattr(mpi, name, None)
        if isinstance(cls, type):
            _PLAIN.add(cls)
            for sub in cls.__subclasses__():
                _PLAIN.add(sub)
    for sub in (mpi.Intracomm, mpi.Topocomm, mpi.Cartcomm, mpi.Graphcomm, mpi.Distgraphcomm,
                mpi.Intercomm, mpi.Prequest, mpi.Grequest):
        _PLAIN.add(sub)
