"""``python -m mpi4pyve.bench [options] <command> [args]``: mpi4py's benchmarks (helloworld, ringtest,
pingpong) run through mpi4pyve, with mpi4py-ve's options (--threads, --no-threads, --thread-level,
--mpe, --vt).

The commands are mpi4py's own (mpi4py.bench); they run after ``from mpi4pyve import MPI``, so libmpive
is in front of the MPI library and mpi4py's MPI module is the VE-aware one. ``futures`` (of
mpi4py 4) is refused, as mpi4pyve.futures is."""
import sys as _sys

__all__ = ["helloworld", "ringtest", "pingpong", "main"]


def _mpi4py_bench():
    from . import MPI  # noqa: F401,PLC0415  libmpive first, mpi4py.MPI patched
    import mpi4py.bench  # noqa: PLC0415

    return mpi4py.bench


def helloworld(comm, args=None, verbose=True):
    """Hello, World! using MPI (mpi4py.bench.helloworld)."""
    return _mpi4py_bench().helloworld(comm, args, verbose)


def ringtest(comm, args=None, verbose=True):
    """Time a message going around the ring of processes (mpi4py.bench.ringtest)."""
    return _mpi4py_bench().ringtest(comm, args, verbose)


def pingpong(comm, args=None, verbose=True):
    """Time messages between processes (mpi4py.bench.pingpong)."""
    return _mpi4py_bench().pingpong(comm, args, verbose)


def _futures(comm, args=None, verbose=True):
    raise NotImplementedError("mpi4pyve.bench futures is not supported: mpi4pyve.futures is not "
                              "(as in mpi4py-ve: it relies on dynamic process management)")


def main(args=None):
    """Entry point of ``python -m mpi4pyve.bench``."""
    from argparse import REMAINDER, ArgumentParser  # noqa: PLC0415

    parser = ArgumentParser(prog="mpi4pyve.bench", usage="%(prog)s [options] <command> [args]")
    parser.add_argument("--threads", action="store_true", dest="threads", default=None,
                        help="initialize MPI with thread support")
    parser.add_argument("--no-threads", action="store_false", dest="threads", default=None,
                        help="initialize MPI without thread support")
    parser.add_argument("--thread-level", dest="thread_level", default=None, metavar="LEVEL",
                        choices="single funneled serialized multiple".split(),
                        help="initialize MPI with required thread level")
    parser.add_argument("--mpe", action="store_true", default=False, help="use MPE for MPI profiling")
    parser.add_argument("--vt", action="store_true", default=False,
                        help="use VampirTrace for MPI profiling")
    parser.add_argument("command", metavar="<command>",
                        help="benchmark command to run: " + ", ".join(main.commands))
    parser.add_argument("args", nargs=REMAINDER, metavar="[args]", help="arguments for the command")
    options = parser.parse_args(args)

    from . import profile, rc  # noqa: PLC0415

    if options.threads is not None:
        rc.threads = options.threads
    if options.thread_level is not None:
        rc.thread_level = options.thread_level
    if options.mpe:
        profile("mpe", logfile="mpi4pyve")
    if options.vt:
        profile("vt", logfile="mpi4pyve")
    from . import MPI  # noqa: PLC0415

    comm = MPI.COMM_WORLD
    command = main.commands.get(options.command)
    if command is None:
        if comm.rank == 0:
            parser.error(f"unknown command {options.command!r}")
        parser.exit(2)
    command(comm, options.args)
    parser.exit()


main.commands = {"helloworld": helloworld, "ringtest": ringtest, "pingpong": pingpong, "futures": _futures}

if __name__ == "__main__":
    main(_sys.argv[1:])
