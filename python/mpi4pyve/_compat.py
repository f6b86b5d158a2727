"""The parts of mpi4py-ve 1.0.1's package namespace that mpi4py 4 lacks or changed: ``profile``,
``get_include``, and the names of mpi4py 3's MPI module that mpi4py 4 dropped (``MPI.UB``,
``MPI.LB``, ``MPI.HOST``, ``MPI.MPIException``). See docs/python.md, "mpi4py-ve's package surface"."""
import os


def get_include():
    """The directory of C headers for extension modules that use MPI for Python's C API.

    mpi4pyve's MPI module *is* mpi4py's, so this is mpi4py's include directory: include
    ``<mpi4py/mpi4py.h>`` and call ``import_mpi4py()`` where mpi4py-ve's extensions include
    ``<mpi4pyve/mpi4pyve.h>`` and call ``import_mpi4pyve()``. Import mpi4pyve.MPI before such an
    extension, so that libmpive stands in front of the MPI library for its MPI calls too."""
    import mpi4py  # noqa: PLC0415

    return mpi4py.get_include()


def profile(name, *, path=None, logfile=None):
    """Loads the MPI profiling (PMPI) library `name` (``lib<name>.so`` or `name`, looked for in
    `path`: a list of directories or a string of them separated by ``os.pathsep``; by default the
    current directory), as mpi4py-ve's ``mpi4pyve.profile``. Raises ValueError("profiler 'name' not
    found") when it is not there (mpi4py-ve builds ``mpe`` and ``vt*`` into its package only when
    MPE or VampirTrace was installed; mpi4pyve ships none). `logfile` sets MPE_LOGFILE_PREFIX for
    ``mpe`` and VT_FILE_PREFIX for ``vt``, ``vt-mpi``, ``vt-hyb`` unless set, as in mpi4py-ve.

    libmpive is loaded first, so it stays in front: a VE buffer never reaches the profiler's wrapper
    of a function libmpive intercepts (every call that takes a buffer, and more), which would hand it
    to the MPI library unstaged; the profiler sees the calls libmpive does not intercept. Call it
    before ``from mpi4pyve import MPI``, as with mpi4py."""
    import mpi4py  # noqa: PLC0415

    from . import _shim  # noqa: PLC0415

    if logfile:
        if name == "mpe":
            os.environ.setdefault("MPE_LOGFILE_PREFIX", logfile)
        if name in ("vt", "vt-mpi", "vt-hyb"):
            os.environ.setdefault("VT_FILE_PREFIX", logfile)
    _shim.load()
    theirs = vars(mpi4py.profile).setdefault("registry", [])
    before = len(theirs)
    mpi4py.profile(name, path=path)  # ValueError "profiler 'name' not found", as mpi4py-ve's
    profile.registry.extend(theirs[before:])


profile.registry = []

# mpi4py 3 names that mpi4py 4 removed: name -> why, and what to use instead
_REMOVED = {
    "UB": "MPI.UB (MPI_UB) was removed in MPI-3.0 and is not in mpi4py 4: set the upper bound and "
          "extent of a datatype with Datatype.Create_resized(lb, extent) instead",
    "LB": "MPI.LB (MPI_LB) was removed in MPI-3.0 and is not in mpi4py 4: set the lower bound and "
          "extent of a datatype with Datatype.Create_resized(lb, extent) instead",
    "HOST": "MPI.HOST, the predefined attribute key MPI_HOST, is not in mpi4py 4 (it has no portable "
            "value: MPI_PROC_NULL on most MPIs); use MPI.Get_processor_name() for the host name",
}
_ALIASES = {"MPIException": "Exception"}  # mpi4py 3's old name of MPI.Exception


def install(mpi):
    """Gives mpi4py's MPI module a module-level __getattr__ for the names above (PEP 562): aliases
    resolve, removed names raise AttributeError saying why and what to use."""
    previous = mpi.__dict__.get("__getattr__")

    def __getattr__(name):  # noqa: N807
        if name in _ALIASES:
            return getattr(mpi, _ALIASES[name])
        if name in _REMOVED:
            raise AttributeError(_REMOVED[name])
        if previous is not None:
            return previous(name)
        raise AttributeError(f"module {mpi.__name__!r} has no attribute {name!r}")

    __getattr__.__mpi4pyve__ = True
    if not getattr(previous, "__mpi4pyve__", False):
        mpi.__getattr__ = __getattr__
