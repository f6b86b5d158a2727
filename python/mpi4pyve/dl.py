"""mpi4py-ve's (and mpi4py 3's) ``mpi4pyve.dl``: the dynamic loader's dlopen, dlsym, dlclose and
dlerror, with the RTLD_* constants. Handles and symbol addresses are ints (0 for NULL), as there.
mpi4py 4 dropped this module; this one calls the C library through ctypes."""
import ctypes as _ctypes
import os as _os

__all__ = ["dlopen", "dlsym", "dlclose", "dlerror", "RTLD_LAZY", "RTLD_NOW", "RTLD_LOCAL",
           "RTLD_GLOBAL", "RTLD_NOLOAD", "RTLD_NODELETE", "RTLD_DEEPBIND", "RTLD_DEFAULT", "RTLD_NEXT"]

RTLD_LAZY = _os.RTLD_LAZY
RTLD_NOW = _os.RTLD_NOW
RTLD_LOCAL = _os.RTLD_LOCAL
RTLD_GLOBAL = _os.RTLD_GLOBAL
RTLD_NOLOAD = _os.RTLD_NOLOAD
RTLD_NODELETE = _os.RTLD_NODELETE
RTLD_DEEPBIND = _os.RTLD_DEEPBIND
RTLD_DEFAULT = 0       # glibc: ((void *) 0)
RTLD_NEXT = (1 << (8 * _ctypes.sizeof(_ctypes.c_void_p))) - 1  # glibc: ((void *) -1l)


def _libdl():
    # glibc 2.34+ has these in libc; older ones in libdl.so.2
    for name in (None, "libdl.so.2"):
        lib = _ctypes.CDLL(name)
        if hasattr(lib, "dlerror"):
            break
    lib.dlopen.restype = _ctypes.c_void_p
    lib.dlopen.argtypes = [_ctypes.c_char_p, _ctypes.c_int]
    lib.dlsym.restype = _ctypes.c_void_p
    lib.dlsym.argtypes = [_ctypes.c_void_p, _ctypes.c_char_p]
    lib.dlclose.restype = _ctypes.c_int
    lib.dlclose.argtypes = [_ctypes.c_void_p]
    lib.dlerror.restype = _ctypes.c_char_p
    lib.dlerror.argtypes = []
    return lib


_dl = _libdl()


def _path(filename):
    return None if filename is None else _os.fsencode(filename)


def dlopen(filename, mode):
    """Opens a shared object (None: the main program); returns its handle, 0 on failure (see
    dlerror)."""
    return _dl.dlopen(_path(filename), int(mode)) or 0


def dlsym(handle, symbol):
    """The address of `symbol` in `handle` (None: RTLD_DEFAULT, the global scope); 0 if absent."""
    return _dl.dlsym(None if handle is None else int(handle), symbol.encode()) or 0


def dlclose(handle):
    """Closes a handle from dlopen; returns dlclose's result (0 on success; None and 0 do nothing)."""
    if not handle:
        return 0
    return _dl.dlclose(int(handle))


def dlerror():
    """The message of the last dl* failure of this thread, or None (and clears it)."""
    msg = _dl.dlerror()
    return None if msg is None else _os.fsdecode(msg)
