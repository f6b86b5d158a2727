"""mpi4pyve: MPI for Python with NEC SX-Aurora Vector Engine arrays, on the stock mpi4py and libmpive.

    from mpi4pyve import MPI              # mpi4py.MPI, with VE arrays accepted as buffers
    from mpi4pyve import veo, simve       # VE memory; a small VE array type (simulated VE or real)

Run programs with ``mpirun -n 2 python -m mpi4pyve app.py`` to abort the whole job on an unhandled
exception. See docs/python.md of libmpi-ve.
"""
__version__ = "0.1.0"

__author__ = "libmpi-ve"
__credits__ = "mpi4py (Lisandro Dalcin), NEC's mpi4py-ve"

import sys as _sys  # noqa: E402

from mpi4py import rc  # noqa: E402,F401  (mpi4py's run-time configuration, as mpi4py.rc)

from ._compat import get_include, profile  # noqa: E402,F401

# as in mpi4py-ve: `import mpi4pyve.rc` works and is mpi4py's rc (set it before `from mpi4pyve import MPI`)
_sys.modules[__name__ + ".rc"] = rc

__all__ = ["MPI", "rc", "veo", "simve", "futures", "util", "bench", "run", "dl", "get_config", "get_include",
           "profile", "__version__"]


def get_config():
    """Where libmpive, the MPI library it forwards to, and mpi4py come from."""
    import mpi4py  # noqa: PLC0415

    from . import _shim  # noqa: PLC0415

    return {"libmpive": _shim.origin(), "mpi_library": "%s (%s)" % _shim.libmpive_mpi(),
            "mpi4py": mpi4py.__version__, "mpi4py_path": mpi4py.__path__[0]}
