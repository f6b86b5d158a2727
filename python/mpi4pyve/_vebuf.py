"""VE arrays as mpi4py buffers.

mpi4py 4.x accepts, wherever it takes a buffer, objects exposing ``__cuda_array_interface__`` (CAI) or
``__dlpack__``, and passes their device pointer to MPI unchanged; it marks such buffers as not
CPU-accessible, so mpi4py itself never dereferences them (``MPI.buffer`` indexing raises BufferError).
A VE array is presented to mpi4py the same way: ``VEBuffer`` carries a CAI dictionary made from the
array's ``__ve_array_interface__`` (same keys: shape, typestr, strides, data=(address, readonly)).
mpi4py then infers the datatype from typestr and the count from the shape exactly as for a numpy array,
parses every buffer-spec form itself, and the HMEM address reaches the MPI_* call, where libmpive
stages it. DLPack was not used: it needs a C capsule with a device type, and no DLPack device means
"VE"; the CAI dictionary is plain Python.

Non-contiguous VE arrays: where the whole array is the message and nothing is reduced (point-to-point,
Bcast, File reads and writes, Win.Put/Get) and the spec is ``a`` or ``[a, datatype]``, the array becomes ``[a, 1, T]`` with ``T``
a derived datatype (nested hvectors) describing its layout; everywhere else a BufferError says how
to proceed. Derived datatypes are cached per layout and never freed (a pending operation may use
them until it completes).
"""
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


# CAI dictionaries of contiguous layouts (False: not contiguous), keyed by everything they are made
# from: (data, shape, typestr, strides) as the array's interface gives them. A key holds only numbers
# and strings, never the array, so nothing is kept alive; an array whose address or shape changed, or
# a new array at a reused address, has another key. The dictionaries are shared: nothing mutates them.
_cai_cache = {}
_CAI_CACHE_MAX = 4096


def _contiguous_cai(iface):
    """The CAI dictionary for a contiguous VE layout, or False if the layout is not contiguous."""
    try:
        key = (iface["data"], iface["shape"], iface["typestr"], iface.get("strides"))
        cai = _cai_cache.get(key)
    except TypeError:   # unhashable parts (lists): no caching
        key, cai = None, None
    if cai is None:
        shape, typestr, itemsize, strides, addr, ro = _layout(iface)
        cai = _cai(shape, typestr, strides, addr, ro) if _contiguous(shape, strides, itemsize) else False
        if key is not None:
            if len(_cai_cache) >= _CAI_CACHE_MAX:
                _cai_cache.clear()
            _cai_cache[key] = cai
    return cai


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


def convert(arg, where, whole):
    """A message argument with VE arrays replaced by VEBuffers (the argument itself if it has none)."""
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
        cai = _contiguous_cai(iface)
        if cai:
            if t is list:
                out = list(arg)
                out[0] = VEBuffer(cai, a)
                return out
            return (VEBuffer(cai, a),) + arg[1:]
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
    cai = _contiguous_cai(iface)
    if cai:
        return VEBuffer(cai, arg)
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
