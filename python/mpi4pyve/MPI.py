"""mpi4py's MPI module with libmpive in front of the MPI library and VE arrays accepted as buffers.

``from mpi4pyve import MPI`` (or ``import mpi4pyve.MPI``) makes libmpive active (see _shim), imports
``mpi4py.MPI``, teaches its classes about VE arrays (see _patch), and then *is* ``mpi4py.MPI``: this
module replaces itself in sys.modules, so ``mpi4pyve.MPI is mpi4py.MPI``.
"""
import sys

from . import _shim

_shim.load()

from mpi4py import MPI as _MPI  # noqa: E402  (after libmpive is in the global scope)

from . import _patch  # noqa: E402

_patch.install(_MPI)
sys.modules[__name__] = _MPI
