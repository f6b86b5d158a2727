"""``python -m mpi4pyve.run`` (the same as ``python -m mpi4pyve``): run Python code with libmpive
active, aborting the MPI job on an unhandled exception. As mpi4py-ve's mpi4pyve.run, it has
``main``, ``run_command_line`` and ``set_abort_status``."""
import sys as _sys

__all__ = ["main", "run_command_line", "set_abort_status"]


def run_command_line(args=None):
    """Runs ``[pyfile | -m mod | -c cmd | -] [arg] ...`` (mpi4py.run.run_command_line), with
    libmpive loaded first (its MPI_* ahead of the MPI library's)."""
    from . import _shim  # noqa: PLC0415

    _shim.load()
    from mpi4py.run import run_command_line as run  # noqa: PLC0415

    return run(args)


def set_abort_status(status):
    """Makes Python's exit call ``MPI.COMM_WORLD.Abort(status)`` when `status` is not 0 (an int, None,
    or another object meaning 1), for use in an ``except`` block before re-raising; returns
    ``sys.exc_info()`` as mpi4py-ve's does."""
    from mpi4py.run import set_abort_status as setter  # noqa: PLC0415

    setter(status if isinstance(status, int) else 0 if status is None else 1)
    return _sys.exc_info()


def main():
    """Entry point of ``python -m mpi4pyve.run`` (see ``python -m mpi4pyve -h``)."""
    from .__main__ import main as run_main  # noqa: PLC0415

    run_main()


if __name__ == "__main__":
    main()
