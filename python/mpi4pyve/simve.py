"""A small array type in VE memory, for users without NLCPy and for the tests.

    from mpi4pyve import simve
    a = simve.array(numpy.arange(10.0))   # copied into VE memory
    b = simve.zeros((4, 5), "i4")
    a.get()                               # back to a numpy array

Arrays expose ``__ve_array_interface__`` (NLCPy's protocol), so mpi4pyve.MPI accepts them wherever
mpi4py accepts a buffer. Indexing with integers and slices gives views (possibly non-contiguous) that
share the VE memory. Pickling an array copies its data to the host; unpickling copies it into the VE
memory of the receiving process.

The memory comes from libveo through libmpive (`mpi4pyve.veo`). On a host without a Vector Engine
(no /opt/nec/ve/veos/lib64/libveo.so.1) and without MPIVE_VEO_LIB set, the simulated libveo built
next to libmpive is used; its VE addresses fault when the host dereferences them, exactly like real
VE addresses do.
"""
import os
import weakref

import numpy as np

from . import _shim, veo

__all__ = ["ndarray", "array", "asarray", "empty", "zeros", "ones", "full", "arange", "asnumpy",
           "default_proc"]

_proc = None


_simulated = None      # the simulated libveo chosen by this module, if any


def _choose_libveo():
    global _simulated
    if os.environ.get("MPIVE_VEO_LIB") or os.path.exists(_shim.VEOS_LIBVEO):
        return
    sim = _shim.simulated_libveo()
    if sim:
        _simulated = sim
        os.environ["MPIVE_VEO_LIB"] = sim


def default_proc():
    """The VE process (on VE node $VE_NODE_NUMBER, default 0) that simve arrays live in."""
    global _proc
    if _proc is None:
        _choose_libveo()
        _proc = veo.proc_create(int(os.environ.get("VE_NODE_NUMBER", "0")))
    return _proc


class _Alloc:
    """One VE allocation, freed when the last array using it goes away."""
    __slots__ = ("addr", "nbytes", "__weakref__")

    def __init__(self, nbytes, proc=None):
        self.nbytes = nbytes
        self.addr = veo.alloc_hmem(proc or default_proc(), max(nbytes, 1))
        weakref.finalize(self, _free, self.addr)


def _free(addr):
    try:
        veo.free_hmem(addr)
    except Exception:  # pragma: no cover - interpreter shutdown
        pass


def _c_strides(shape, itemsize):
    strides, s = [], itemsize
    for n in reversed(shape):
        strides.append(s)
        s *= max(n, 1)
    return tuple(reversed(strides))


def _extent(shape, strides, itemsize):
    """(lowest, highest+1) byte offsets touched, relative to the first element."""
    if any(n == 0 for n in shape):
        return 0, 0
    lo = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    hi = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + itemsize
    return lo, hi


class ndarray:
    """An n-dimensional array in VE memory (a view: base allocation, offset, shape, strides)."""

    __slots__ = ("_alloc", "_offset", "shape", "strides", "dtype", "readonly", "_cc")

    def __init__(self, shape, dtype=float, *, _alloc=None, _offset=0, strides=None, readonly=False):
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(n) for n in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        self.strides = tuple(strides) if strides is not None else _c_strides(self.shape, self.dtype.itemsize)
        self._alloc = _alloc if _alloc is not None else _Alloc(self.size * self.dtype.itemsize)
        self._offset = _offset
        self.readonly = readonly
        self._cc = None   # (shape, strides, dtype, offset, readonly, dictionary) of __ve_array_interface__

    # -- attributes, as numpy's
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def data_ptr(self):
        """The HMEM address of the first element."""
        return self._alloc.addr + self._offset

    @property
    def c_contiguous(self):
        return self.size == 0 or all(n == 1 or s == cs for n, s, cs in
                                     zip(self.shape, self.strides, _c_strides(self.shape, self.itemsize)))

    @property
    def f_contiguous(self):
        fs = tuple(reversed(_c_strides(tuple(reversed(self.shape)), self.itemsize)))
        return self.size == 0 or all(n == 1 or s == f for n, s, f in zip(self.shape, self.strides, fs))

    @property
    def __ve_array_interface__(self):
        """NLCPy's interface dictionary. The same dictionary is returned while the view is unchanged
        (the objects it was made from, compared by identity, and the offset and readonly flag), as the
        cheapest way to answer a call per message; it is shared, so callers must not modify it."""
        shape, strides, dtype, offset, readonly = self.shape, self.strides, self.dtype, self._offset, self.readonly
        cc = self._cc
        if cc is not None and cc[0] is shape and cc[1] is strides and cc[2] is dtype and cc[3] == offset \
                and cc[4] is readonly:
            return cc[5]
        contiguous = strides == _c_strides(shape, dtype.itemsize) or self.c_contiguous
        iface = {
            "shape": shape,
            "typestr": dtype.str,
            "strides": None if contiguous else strides,
            "data": (self._alloc.addr + offset, readonly),
            "version": 1,
        }
        if type(shape) is tuple and type(strides) is tuple and type(readonly) is bool:
            self._cc = (shape, strides, dtype, offset, readonly, iface)
        return iface

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self):
        return f"simve.ndarray({self.get()!r}, ve_addr={self.data_ptr:#x})"

    # -- data movement
    def _span(self):
        lo, hi = _extent(self.shape, self.strides, self.itemsize)
        return self.data_ptr + lo, hi - lo, -lo

    def get(self):
        """A numpy copy of the array (VE to host)."""
        if self.size == 0:
            return np.empty(self.shape, self.dtype)
        start, nbytes, first = self._span()
        host = np.empty(nbytes, np.uint8)
        veo.hmemcpy(host.ctypes.data, start, nbytes)
        return np.ndarray(self.shape, self.dtype, host, first, self.strides).copy()

    def set(self, values):
        """Copies `values` (anything numpy can broadcast to the shape) into the array (host to VE)."""
        if self.readonly:
            raise ValueError("assignment destination is read-only")
        if self.size == 0:
            return
        src = np.broadcast_to(np.asarray(values, dtype=self.dtype), self.shape)
        start, nbytes, first = self._span()
        if self.c_contiguous:
            src = np.ascontiguousarray(src)
            veo.hmemcpy(self.data_ptr, src.ctypes.data, self.nbytes)
            return
        host = np.empty(nbytes, np.uint8)
        veo.hmemcpy(host.ctypes.data, start, nbytes)   # keep the bytes between the elements
        np.ndarray(self.shape, self.dtype, host, first, self.strides)[...] = src
        veo.hmemcpy(start, host.ctypes.data, nbytes)

    def fill(self, value):
        self.set(value)

    def copy(self):
        return array(self.get())

    def __reduce__(self):
        return (_rebuild, (self.get(),))

    # -- arithmetic, computed on the host (for the lower-case reductions of mpi4py: SUM, PROD, MAX, MIN)
    def _binary(self, other, f):
        other = other.get() if isinstance(other, ndarray) else other
        return array(f(self.get(), other))

    def __add__(self, other):
        return self._binary(other, np.add)

    __radd__ = __add__

    def __mul__(self, other):
        return self._binary(other, np.multiply)

    __rmul__ = __mul__

    def __sub__(self, other):
        return self._binary(other, np.subtract)

    def __rsub__(self, other):
        return self._binary(other, lambda a, b: np.subtract(b, a))

    # -- views
    def _index(self, idx):
        if not isinstance(idx, tuple):
            idx = (idx,)
        for i in idx:
            if not (i is Ellipsis or i is None or isinstance(i, (slice, int, np.integer))):
                raise IndexError("simve arrays take integers, slices, None and Ellipsis as indices")
        # Index a fake numpy array with the same layout at a made-up address (never read: numpy only
        # computes the view), then read the offset, shape and strides of the result. The fake has an
        # extra trailing axis that the index never touches, so integer indices give arrays, never
        # scalars; Ellipsis is expanded first so that it cannot reach that axis.
        real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        if real > self.ndim:
            raise IndexError(f"too many indices for a {self.ndim}-dimensional array")
        dots = [k for k, i in enumerate(idx) if i is Ellipsis]
        if len(dots) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        fill = (slice(None),) * (self.ndim - real)
        idx = idx[:dots[0]] + fill + idx[dots[0] + 1:] if dots else idx + fill
        fake_base = 1 << 40
        fake = np.asarray(_Fake(self.shape + (1,), self.dtype, self.strides + (self.itemsize,), fake_base))
        v = fake[idx + (slice(None),)]
        addr = v.__array_interface__["data"][0]
        return ndarray(v.shape[:-1], self.dtype, _alloc=self._alloc,
                       _offset=self._offset + (addr - fake_base), strides=v.strides[:-1], readonly=self.readonly)

    def __getitem__(self, idx):
        return self._index(idx)

    def __setitem__(self, idx, value):
        self._index(idx).set(value)

    @property
    def T(self):
        return ndarray(tuple(reversed(self.shape)), self.dtype, _alloc=self._alloc, _offset=self._offset,
                       strides=tuple(reversed(self.strides)), readonly=self.readonly)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not self.c_contiguous:
            raise ValueError("reshape of a non-contiguous simve array")
        shape = tuple(int(n) for n in shape)
        if shape.count(-1) == 1:
            known = 1
            for n in shape:
                known *= n if n != -1 else 1
            shape = tuple(self.size // known if n == -1 else n for n in shape)
        size = 1
        for n in shape:
            size *= n
        if size != self.size:
            raise ValueError(f"cannot reshape array of size {self.size} into shape {shape}")
        new = shape
        return ndarray(new, self.dtype, _alloc=self._alloc, _offset=self._offset, readonly=self.readonly)


class _Fake:
    """Describes an array at a made-up address, for computing views only."""

    def __init__(self, shape, dtype, strides, addr):
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str, "strides": strides,
                                    "data": (addr, False), "version": 3}


def _rebuild(host):
    return array(host)


def array(obj, dtype=None, copy=True):
    """A VE array with the data of `obj` (a numpy array, a list, a simve array...)."""
    if isinstance(obj, ndarray):
        if dtype is None or np.dtype(dtype) == obj.dtype:
            return obj.copy() if copy else obj
        obj = obj.get()
    host = np.ascontiguousarray(np.asarray(obj, dtype=dtype))
    a = ndarray(host.shape, host.dtype)
    a.set(host)
    return a


def asarray(obj, dtype=None):
    return array(obj, dtype, copy=False)


def empty(shape, dtype=float):
    return ndarray(shape, dtype)


def zeros(shape, dtype=float):
    a = ndarray(shape, dtype)
    a.set(0)
    return a


def ones(shape, dtype=float):
    return full(shape, 1, dtype)


def full(shape, value, dtype=float):
    a = ndarray(shape, dtype)
    a.set(value)
    return a


def arange(*args, dtype=None):
    return array(np.arange(*args, dtype=dtype))


def asnumpy(a):
    """numpy copy of a simve (or NLCPy) array; numpy arrays come back unchanged."""
    if isinstance(a, ndarray):
        return a.get()
    if hasattr(a, "get") and hasattr(a, "__ve_array_interface__"):
        return a.get()
    return np.asarray(a)
