"""Finding and loading libmpive, and its C API (include/mpive.h) through ctypes.

libmpive must stand in front of the MPI library for every MPI_* call that mpi4py makes. Two ways:

* the process was started with ``LD_PRELOAD=libmpive.so``: the shim is in the global symbol scope
  from the start, nothing to do;
* otherwise this module opens libmpive with ``RTLD_GLOBAL`` *before* ``mpi4py.MPI`` is imported. mpi4py's
  wheels load their extension module (which references MPI_* symbols) and libmpi later; the dynamic
  loader then binds the extension's MPI_* references to the first definition in the global scope, which
  is libmpive's. libmpive finds the real library itself, at first use (its PMPI_* entry points).

If ``mpi4py.MPI`` was already imported without the shim, its MPI_* references are bound to libmpi for
good: VE addresses would reach an MPI that cannot read them, so importing ``mpi4pyve.MPI`` fails then.
"""
import ctypes
import os
import sys

LIBNAME = "libmpive.so"
# the real libveo of an SX-Aurora host (see libmpive's src/ve.rs)
VEOS_LIBVEO = "/opt/nec/ve/veos/lib64/libveo.so.1"

_lib = None          # ctypes.CDLL of libmpive
_path = None         # where it came from ("LD_PRELOAD" / the global scope, or a path)


class Stats(ctypes.Structure):
    """struct mpive_stats_t (include/mpive.h): the first STATS_V1_FIELDS fields are those of libmpive
    0.1 (`mpive_stats`); `mpive_stats_sized` fills them all."""
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "staged_calls", "copies", "copied_bytes", "live_buffers", "pool_allocations",
        "pool_cached_bytes", "pending_requests", "heap_allocations", "pipelined", "temp_allocations",
        "copies_from_ve", "bytes_from_ve", "time_ns_from_ve", "copies_to_ve", "bytes_to_ve",
        "time_ns_to_ve", "ve_to_ve", "bytes_ve_to_ve", "time_ns_ve_to_ve")]


STATS_V1_FIELDS = 7


def _in_global_scope():
    """libmpive's C API is resolvable in the global scope (preloaded, linked, or opened RTLD_GLOBAL)."""
    try:
        return hasattr(ctypes.CDLL(None), "mpive_version")
    except OSError:  # pragma: no cover
        return False


def candidates():
    """Paths tried, in order, when libmpive is not loaded yet."""
    out = []
    env = os.environ.get("MPIVE_LIB")
    if env:
        out.append(env)
    here = os.path.dirname(os.path.abspath(__file__))
    out.append(os.path.join(here, LIBNAME))
    # the build tree: a parent directory with target/release/libmpive.so (the package inside the
    # libmpi-ve repository, or installed into a virtual environment made inside it)
    d = here
    while True:
        out.append(os.path.join(d, "target", "release", LIBNAME))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return out


def _declare(lib):
    c = ctypes
    lib.mpive_version.restype = c.c_char_p
    lib.mpive_version.argtypes = []
    lib.mpive_is_ve_addr.restype = c.c_int
    lib.mpive_is_ve_addr.argtypes = [c.c_void_p]
    lib.mpive_proc_create.restype = c.c_void_p
    lib.mpive_proc_create.argtypes = [c.c_int]
    lib.mpive_proc_destroy.restype = c.c_int
    lib.mpive_proc_destroy.argtypes = [c.c_void_p]
    lib.mpive_alloc_hmem.restype = c.c_int
    lib.mpive_alloc_hmem.argtypes = [c.c_void_p, c.POINTER(c.c_void_p), c.c_size_t]
    lib.mpive_free_hmem.restype = c.c_int
    lib.mpive_free_hmem.argtypes = [c.c_void_p]
    lib.mpive_hmemcpy.restype = c.c_int
    lib.mpive_hmemcpy.argtypes = [c.c_void_p, c.c_void_p, c.c_size_t]
    lib.mpive_stats.restype = c.c_int
    lib.mpive_stats.argtypes = [c.POINTER(Stats)]
    if hasattr(lib, "mpive_stats_sized"):  # libmpive 0.3 and later
        lib.mpive_stats_sized.restype = c.c_int
        lib.mpive_stats_sized.argtypes = [c.POINTER(Stats), c.c_size_t]
    return lib


def stats():
    """libmpive's counters: (Stats, names of the fields it filled). An older libmpive without
    `mpive_stats_sized` fills only the first STATS_V1_FIELDS."""
    s = Stats()
    lb = lib()
    if hasattr(lb, "mpive_stats_sized"):
        lb.mpive_stats_sized(ctypes.byref(s), ctypes.sizeof(Stats))
        return s, [name for name, _ in Stats._fields_]
    lb.mpive_stats(ctypes.byref(s))
    return s, [name for name, _ in Stats._fields_[:STATS_V1_FIELDS]]


def load():
    """Makes libmpive active in this process (see the module docstring) and returns its CDLL."""
    global _lib, _path
    if _lib is not None:
        return _lib
    if _in_global_scope():
        _lib = _declare(ctypes.CDLL(None))
        _path = "preloaded or linked"
        return _lib
    if "mpi4py.MPI" in sys.modules:
        raise ImportError(
            "mpi4pyve: mpi4py.MPI was imported before mpi4pyve, without libmpive: its MPI calls are bound "
            "to the MPI library directly and cannot stage VE buffers. Import mpi4pyve (or mpi4pyve.MPI) "
            "before anything imports mpi4py.MPI, or run with LD_PRELOAD=/path/to/libmpive.so.")
    tried = []
    for path in candidates():
        if not os.path.exists(path):
            tried.append(f"{path} (absent)")
            continue
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        except OSError as exc:
            tried.append(f"{path} ({exc})")
            continue
        _lib = _declare(lib)
        _path = path
        return _lib
    raise ImportError(
        "mpi4pyve: cannot find libmpive.so. Set MPIVE_LIB to its path, put it next to the mpi4pyve "
        "package, or run with LD_PRELOAD=/path/to/libmpive.so. Tried:\n  " + "\n  ".join(tried))


def lib():
    return _lib if _lib is not None else load()


def check_first():
    """Fails unless libmpive's MPI_Send is the first definition in the global symbol scope (the one
    mpi4py's extension module binds to): an MPI library opened RTLD_GLOBAL before libmpive was
    would otherwise receive VE addresses."""
    first = file_of(ctypes.CDLL(None).MPI_Send)
    shim = shim_file()
    if first and shim and os.path.realpath(first) != os.path.realpath(shim):
        raise ImportError(
            f"mpi4pyve: {first} defines MPI_Send ahead of libmpive ({shim}) in the global symbol scope "
            f"(it was loaded with RTLD_GLOBAL before libmpive), so mpi4py's MPI calls would not reach "
            f"libmpive. Import mpi4pyve first, or run with LD_PRELOAD={shim}.")


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def file_of(func):
    """The file of the shared object that defines the ctypes function `func` (dladdr), or None."""
    libc = ctypes.CDLL(None)
    dladdr = libc.dladdr
    dladdr.restype = ctypes.c_int
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if not dladdr(ctypes.cast(func, ctypes.c_void_p), ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


def _handle(path):
    """A dlsym handle of an object that is already loaded (its definitions and its dependencies')."""
    try:
        return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None


def shim_file():
    """The file libmpive was loaded from."""
    return file_of(lib().mpive_version)


def unintercepted(mpi_module, names):
    """The MPI functions among `names` that mpi4py's extension module would call in the MPI library
    itself: the library defines them and libmpive does not.

    mpi4py calls MPI-4 functions (the large-count MPI_*_c family, MPI_Isendrecv, ...) through weak
    references that bind to whichever loaded object defines the name first. When libmpive lacks one
    that the MPI library has (MPICH 4 has the large-count family), a VE address would reach the MPI
    library unstaged and fault there."""
    shim = _handle(shim_file() or "")
    ext = _handle(getattr(mpi_module, "__file__", "") or "")
    if shim is None or ext is None:
        return []
    # dlsym on the extension's handle searches the extension and its dependencies: the MPI library
    # (libmpive is preloaded or opened on its own, never a dependency of the extension)
    return [n for n in names if hasattr(ext, n) and not hasattr(shim, n)]


def origin():
    """Where libmpive was found."""
    lib()
    if _path and os.path.isabs(_path):
        return f"{_path} (opened by mpi4pyve)"
    return f"{shim_file()} ({_path})"


def simulated_libveo():
    """The simulated libveo built next to libmpive (target/release/libveo.so), if any."""
    where = shim_file()
    if where:
        d = os.path.dirname(os.path.abspath(where))
        for name in ("libveo.so", "libveo.so.1"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
    return None
