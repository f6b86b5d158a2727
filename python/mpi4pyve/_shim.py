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

libmpive is looked for in ``MPIVE_LIB``, then next to this module (the copy a wheel or ``pip install``
bundles), then in a source tree's target/release.

Which MPI library: mpi4py's choice (``MPI4PY_LIBMPI``, ``MPI4PY_MPIABI``, an MPI wheel's lib/ in the
same environment, then the loader's path; see :func:`select_mpi`). mpi4pyve opens that library before
mpi4py does and names it to libmpive (``MPIVE_MPI_LIB``), so both use the same one; after mpi4py.MPI
is imported, :func:`check_same_mpi` verifies it and names both libraries when they differ.
"""
import ctypes
import os
import sys

LIBNAME = "libmpive.so"
# the real libveo of an SX-Aurora host (see libmpive's src/ve.rs)
VEOS_LIBVEO = "/opt/nec/ve/veos/lib64/libveo.so.1"

_lib = None          # ctypes.CDLL of libmpive
_path = None         # where it came from ("LD_PRELOAD" / the global scope, or a path)
_mpi = None          # the MPI library select_mpi chose: (file, how it was chosen), or None
SIMULATE_ENV = "MPI4PYVE_SIMULATE"
# the soname mpi4py's extension module of each MPI ABI is linked against (its DT_NEEDED entry)
ABI_SONAME = {"mpich": "libmpi.so.12", "openmpi": "libmpi.so.40"}
STUB_DIR = "_mpich_abi"   # holds an empty library named libmpi.so.12, see python/setup.py


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
        if "mpi4py.MPI" not in sys.modules:  # else mpi4py has chosen, and libmpive may have too
            chosen = select_mpi()
            if chosen is not None:
                _satisfy_needed(*chosen)
        _lib = _declare(ctypes.CDLL(None))
        _path = "preloaded or linked"
        _simulate()
        return _lib
    if "mpi4py.MPI" in sys.modules:
        raise ImportError(
            "mpi4pyve: mpi4py.MPI was imported before mpi4pyve, without libmpive: its MPI calls are bound "
            "to the MPI library directly and cannot stage VE buffers. Import mpi4pyve (or mpi4pyve.MPI) "
            "before anything imports mpi4py.MPI, or run with LD_PRELOAD=/path/to/libmpive.so.")
    chosen = select_mpi()
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
        if chosen is not None:
            _satisfy_needed(*chosen)
        _simulate()
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
    ext = _handle(mpi4py_mpi(mpi_module)[0] or "")
    if shim is None or ext is None:
        return []
    # dlsym on the MPI library's handle searches it and its dependencies (libmpive is preloaded or
    # opened on its own, never one of them)
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


# -- The MPI library: mpi4py's choice, and libmpive follows it -------------------------------------

def _mpiabi_module():
    try:
        from mpi4py import _mpiabi  # noqa: PLC0415  (mpi4py >= 4.0: how mpi4py selects its MPI)
    except ImportError:  # pragma: no cover
        return None
    return _mpiabi


def _truthy(name):
    return os.environ.get(name, "").strip().lower() in ("1", "yes", "true", "on")


def _mpi_candidates(mpiabi_mod, abi):
    """(path or name, how it was chosen) of the MPI libraries to try, in mpi4py's order (its
    _dlopen_libmpi): the entries of MPI4PY_LIBMPI (files, or directories holding libmpi.so*), else the
    lib/ directories of the virtual environment, the user's and the system's prefixes (where MPI wheels
    such as `mpich` put libmpi.so.12), then the loader's own path.

    With MPI4PY_MPIABI set, mpi4py itself opens nothing: its extension module's libmpi.so.N comes from
    the loader's path (LD_LIBRARY_PATH, ld.so.cache), which never includes the environment's lib/, so a
    system MPI can win over the MPI wheel next to mpi4py. mpi4pyve searches as mpi4py does without it,
    for that ABI's soname only, and opens the library first: the extension then gets the same one."""
    libmpi = mpiabi_mod.LIBMPI or os.environ.get("MPI4PY_LIBMPI")
    if libmpi:
        path, how = libmpi.split(os.pathsep), f"MPI4PY_LIBMPI={libmpi}"
    else:
        path = list(mpiabi_mod.LIBMPI_PATH or mpiabi_mod._dlopen_rpath() or [""])
        how = "mpi4py's search (" + os.pathsep.join(p or "the loader's path" for p in path) + ")"
    names = [ABI_SONAME[abi]] if abi in ABI_SONAME else ["libmpi.so", "libmpi.so.12", "libmpi.so.40"]
    for entry in path:
        entry = os.path.expanduser(os.path.expandvars(entry))
        if not entry or os.path.isdir(entry):
            for n in names:
                yield os.path.join(entry, n), how
        else:
            yield entry, how


def _abi_of(lib):
    """The MPI ABI of an opened MPI library, decided as mpi4py decides it."""
    f = getattr(lib, "MPI_Abi_get_version", None)
    if f is not None:
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.POINTER(ctypes.c_int)] * 2
        major, minor = ctypes.c_int(0), ctypes.c_int(0)
        if f(ctypes.byref(major), ctypes.byref(minor)) == 0 and major.value > 0:
            return "mpiabi"
    return "openmpi" if hasattr(lib, "ompi_mpi_comm_self") else "mpich"


def select_mpi():
    """Opens (RTLD_LOCAL) the MPI library mpi4py selects, before libmpive and mpi4py.MPI are loaded, and
    names it to libmpive in MPIVE_MPI_LIB unless the user set that. Returns (file, how, abi), or None
    when mpi4py would find no MPI library (mpi4py then reports that itself)."""
    global _mpi
    if _mpi is not None:
        return _mpi
    mod = _mpiabi_module()
    if mod is None:  # pragma: no cover
        return None
    abi_set = mod.MPIABI or os.environ.get("MPI4PY_MPIABI")
    abi = mod._get_mpiabi_from_string(abi_set) if abi_set else None
    if abi is not None and abi not in ABI_SONAME and not (mod.LIBMPI or os.environ.get("MPI4PY_LIBMPI")):
        # an ABI whose extension's soname mpi4pyve does not know (the MPI-5 standard ABI, "mpiabi"): no
        # guess; libmpive finds the library mpi4py's extension loads, and check_same_mpi compares
        return None
    for cand, how in _mpi_candidates(mod, abi):
        try:
            lib = ctypes.CDLL(cand, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
            probe = lib.PMPI_Init
        except (OSError, AttributeError):
            continue
        path = file_of(probe) or cand
        if not os.environ.get("MPIVE_MPI_LIB"):
            os.environ["MPIVE_MPI_LIB"] = path
        _mpi = (path, how, abi or _abi_of(lib))
        return _mpi
    return None


def _satisfy_needed(path, how, abi):
    """Makes mpi4py's extension module of `abi` get the library at `path` for its libmpi.so.N.

    Usually the library's soname is that name (MPI wheels, MPICH and Open MPI builds), and opening it
    was enough. Debian's MPICH is libmpich.so.12: then the library goes into the global scope (after
    libmpive) and the bundled empty libmpi.so.12 stands for the extension's DT_NEEDED entry."""
    soname = ABI_SONAME.get(abi)
    if soname is None:
        return
    try:
        ctypes.CDLL(soname, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        return  # the loader finds `soname` as an object that is loaded already
    except OSError:
        pass
    stub = os.path.join(os.path.dirname(os.path.abspath(__file__)), STUB_DIR, soname)
    if not os.path.exists(stub):
        return  # a source tree: mpi4pyve.MPI explains the missing libmpi.so.12
    ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL)
    ctypes.CDLL(stub, mode=os.RTLD_NOW | os.RTLD_LOCAL)


def _simulate():
    """MPI4PYVE_SIMULATE=1 (python -m mpi4pyve --simulate): VE memory from the simulated libveo next to
    libmpive, unless MPIVE_VEO_LIB names a libveo already."""
    if not _truthy(SIMULATE_ENV) or os.environ.get("MPIVE_VEO_LIB"):
        return
    sim = simulated_libveo()
    if sim is None:
        raise ImportError(
            f"mpi4pyve: {SIMULATE_ENV}=1 asks for the simulated VE, but there is no libveo.so next to libmpive "
            f"({shim_file()}). Install mpi4pyve with pip (the wheel bundles it), or set MPIVE_VEO_LIB to "
            f"libmpi-ve's target/release/libveo.so.")
    os.environ["MPIVE_VEO_LIB"] = sim


def _own_pmpi_file(handle):
    try:
        return file_of(handle.PMPI_Init)
    except AttributeError:
        return None


def _loaded_objects():
    """Paths of the loaded shared objects, in load order (dl_iterate_phdr)."""
    class PhdrInfo(ctypes.Structure):
        _fields_ = [("addr", ctypes.c_void_p), ("name", ctypes.c_char_p)]

    cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(PhdrInfo), ctypes.c_size_t, ctypes.c_void_p)
    names = []

    def cb(info, _size, _data):
        if info.contents.name:
            names.append(os.fsdecode(info.contents.name))
        return 0

    ctypes.CDLL(None).dl_iterate_phdr(cb_type(cb), None)
    return names


def libmpive_mpi():
    """(file, how) of the MPI library libmpive forwards to, found in libmpive's order (src/real.rs):
    MPIVE_MPI_LIB, PMPI_Init in the global scope, the first loaded object defining PMPI_Init."""
    name = os.environ.get("MPIVE_MPI_LIB")
    if name:
        try:
            h = ctypes.CDLL(name, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        except OSError as exc:
            return None, f"MPIVE_MPI_LIB={name} (cannot be opened: {exc})"
        chosen = "chosen by mpi4pyve" if _mpi and _mpi[0] == name else "set by the user"
        return _own_pmpi_file(h), f"MPIVE_MPI_LIB={name}, {chosen}"
    f = _own_pmpi_file(ctypes.CDLL(None))
    if f:
        return f, "the global symbol scope"
    for obj in _loaded_objects():
        h = _handle(obj)
        f = h is not None and _own_pmpi_file(h)
        if f and os.path.realpath(f) == os.path.realpath(obj):
            return f, "the first loaded MPI library"
    return None, "no MPI library loaded yet"


def mpi4py_mpi_expected():
    """(file, how) of the MPI library mpi4py's extension module will call, before it is imported: the
    object the loader gives it for its libmpi.so.N (a loaded one with that name or soname, else the
    loader's search), or the global scope's when that object is the bundled stub."""
    mod = _mpiabi_module()
    if mod is None:  # pragma: no cover
        return None, "mpi4py without _mpiabi"
    abi = mod._get_mpiabi()
    soname = ABI_SONAME.get(abi)
    if soname is None:
        return None, f"MPI ABI {abi!r}"
    try:
        h = ctypes.CDLL(soname, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        return None, f"{soname}: {exc}"
    f = _own_pmpi_file(h)
    if f:
        return f, f"{soname} of mpi4py's {abi} extension module"
    return _own_pmpi_file(ctypes.CDLL(None)), f"the global scope ({soname} is mpi4pyve's stub)"


def mpi4py_mpi(mpi_module):
    """(file, how) of the MPI library mpi4py's extension module `mpi_module` calls (imported)."""
    ext = _handle(getattr(mpi_module, "__file__", "") or "")
    f = ext is not None and _own_pmpi_file(ext)
    if f:
        return f, f"a dependency of {mpi_module.__file__}"
    return _own_pmpi_file(ctypes.CDLL(None)), "the global symbol scope"


def library_version(path):
    """The first line of MPI_Get_library_version of the MPI library at `path`."""
    try:
        f = ctypes.CDLL(path, mode=os.RTLD_LAZY | os.RTLD_NOLOAD).PMPI_Get_library_version
    except (OSError, AttributeError, TypeError):
        return "version unknown"
    buf = ctypes.create_string_buffer(8192)
    n = ctypes.c_int(0)
    if f(buf, ctypes.byref(n)) != 0:
        return "version unknown"
    return buf.value.decode(errors="replace").strip().splitlines()[0] if buf.value else "version unknown"


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_same_mpi(mpi_module=None):
    """Raises ImportError, naming both, unless libmpive and mpi4py use the same MPI library. Before
    mpi4py.MPI is imported (mpi_module None) the extension's library is predicted; after, read from it."""
    ours, ours_how = libmpive_mpi()
    theirs, theirs_how = mpi4py_mpi(mpi_module) if mpi_module is not None else mpi4py_mpi_expected()
    if not ours or not theirs or _same(ours, theirs):
        return
    raise ImportError(
        f"mpi4pyve: mpi4py and libmpive would use different MPI libraries:\n"
        f"  mpi4py:   {theirs} ({library_version(theirs)}; {theirs_how})\n"
        f"  libmpive: {ours} ({library_version(ours)}; {ours_how})\n"
        f"One process cannot run two MPI libraries. Select one for both: unset MPIVE_MPI_LIB (mpi4pyve then "
        f"gives libmpive mpi4py's choice) or set it to the library mpi4py uses; choose mpi4py's with "
        f"MPI4PY_LIBMPI=<path of libmpi.so.N> (and MPI4PY_MPIABI unset), or put that library's directory "
        f"first on LD_LIBRARY_PATH.")
