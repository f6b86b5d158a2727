"""VE memory through libmpive's C API (and so through the libveo libmpive uses), as in mpi4py-ve.

    proc = veo.proc_create(0)            # a VE process on VE node 0 (a handle, as an int)
    addr = veo.alloc_hmem(proc, nbytes)  # VE memory: an HMEM address (bit 63 set)
    veo.free_hmem(addr)

On a machine without a Vector Engine, set MPIVE_VEO_LIB to libmpi-ve's simulated libveo
(target/release/libveo.so); `mpi4pyve.simve` does that for you when no real libveo is installed.
"""
import ctypes

from . import _shim

__all__ = ["alloc_hmem", "free_hmem", "proc_create", "proc_destroy", "hmemcpy", "is_ve_addr",
           "stats", "version"]


class VEOError(RuntimeError):
    """A libveo call through libmpive failed."""


def version():
    """libmpive's version string."""
    return _shim.lib().mpive_version().decode()


def is_ve_addr(addr):
    """True if `addr` (an int) is a VE (HMEM) address."""
    return bool(_shim.lib().mpive_is_ve_addr(int(addr)))


def proc_create(venode=0):
    """Creates a VE process on node `venode`; returns its handle (an int)."""
    h = _shim.lib().mpive_proc_create(int(venode))
    if not h:
        raise VEOError(f"veo_proc_create({venode}) failed (see the message of libmpive above; "
                       f"is MPIVE_VEO_LIB set to a libveo?)")
    return h


def proc_destroy(proc_handle):
    """Destroys a VE process made by proc_create."""
    if _shim.lib().mpive_proc_destroy(proc_handle) != 0:
        raise VEOError(f"veo_proc_destroy({proc_handle:#x}) failed")


def alloc_hmem(proc_handle, size):
    """Allocates `size` bytes of VE memory of process `proc_handle` (host memory if it is None or 0);
    returns the HMEM address as an int."""
    addr = ctypes.c_void_p()
    rc = _shim.lib().mpive_alloc_hmem(proc_handle or None, ctypes.byref(addr), int(size))
    if rc != 0 or (addr.value is None and size):
        raise VEOError(f"veo_alloc_hmem(size={size}) failed with {rc}")
    return addr.value or 0


def free_hmem(addr):
    """Frees memory from alloc_hmem."""
    if _shim.lib().mpive_free_hmem(int(addr)) != 0:
        raise VEOError(f"veo_free_hmem({int(addr):#x}) failed")


def hmemcpy(dst, src, size):
    """Copies `size` bytes between HMEM addresses (VE or host, ints); the direction follows the tags."""
    if size and _shim.lib().mpive_hmemcpy(int(dst), int(src), int(size)) != 0:
        raise VEOError(f"veo_hmemcpy({int(dst):#x}, {int(src):#x}, {size}) failed")


def stats():
    """libmpive's counters as a dict: staged_calls, copies, copied_bytes, live_buffers,
    pool_allocations, pool_cached_bytes, pending_requests, and (libmpive 0.3) heap_allocations,
    pipelined, temp_allocations, and the libveo copies per direction with their bytes and
    nanoseconds: copies_from_ve, bytes_from_ve, time_ns_from_ve (VE->VH), copies_to_ve, bytes_to_ve,
    time_ns_to_ve (VH->VE), ve_to_ve, bytes_ve_to_ve, time_ns_ve_to_ve (hmemcpy between two VE
    addresses, whose two halves the from/to counters include). See include/mpive.h."""
    s, names = _shim.stats()
    return {name: getattr(s, name) for name in names}


# mpi4py-ve's mpi4pyve.veo is a package whose functions live in mpi4pyve.veo.veo: here that name is
# this module itself, so `from mpi4pyve.veo.veo import alloc_hmem` works too
import sys as _sys  # noqa: E402

veo = _sys.modules[__name__]
_sys.modules[__name__ + ".veo"] = veo
