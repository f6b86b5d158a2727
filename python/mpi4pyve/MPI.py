"""mpi4py's MPI module with libmpive in front of the MPI library and VE arrays accepted as buffers.

``from mpi4pyve import MPI`` (or ``import mpi4pyve.MPI``) makes libmpive active (see _shim), imports
``mpi4py.MPI``, teaches its classes about VE arrays (see _patch), and then *is* ``mpi4py.MPI``: this
module replaces itself in sys.modules, so ``mpi4pyve.MPI is mpi4py.MPI``.
"""
import sys

from . import _shim

_shim.load()
_shim.check_first()
_shim.check_same_mpi()  # before mpi4py.MPI initializes MPI: the library its extension will get

try:
    from mpi4py import MPI as _MPI  # noqa: E402  (after libmpive is in the global scope)
except ImportError as _exc:
    if "libmpi.so.12" in str(_exc):
        raise ImportError(
            f"mpi4pyve: mpi4py's MPICH build needs libmpi.so.12 ({_exc}). Distributions such as Debian "
            f"and Ubuntu ship MPICH as libmpich.so.12 only: make a directory with a symbolic link "
            f"libmpi.so.12 -> libmpich.so.12, put it on LD_LIBRARY_PATH, and set "
            f"MPI4PY_LIBMPI=libmpich.so.12 (see docs/python.md of libmpi-ve).") from _exc
    raise

_shim.check_same_mpi(_MPI)

from . import _compat, _patch  # noqa: E402

_patch.install(_MPI)
_compat.install(_MPI)  # MPI.UB/LB/HOST (removed, with the reason) and MPI.MPIException of mpi4py 3
sys.modules[__name__] = _MPI
