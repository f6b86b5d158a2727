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
    """Time messages between processes (mpi4py.bench.pingpong). With ``-a ve`` (``--array ve``) the
    messages are VE arrays (mpi4pyve.simve, on the real or the simulated VE) and the run goes through
    libmpive's staging; mpi4py's own array kinds (numpy, cupy, numba, none) are mpi4py's."""
    args = list(args or [])
    for i, a in enumerate(args):
        if (a in ("-a", "--array") and i + 1 < len(args) and args[i + 1] == "ve") or a == "--array=ve":
            del args[i:i + (1 if "=" in a else 2)]
            return _pingpong_ve(comm, args, verbose)
    return _mpi4py_bench().pingpong(comm, args, verbose)


def _pingpong_ve(comm, args, verbose):
    """Ping-pong of VE arrays of 2**k bytes between ranks 0 and 1 (Send/Recv; one rank: Sendrecv to
    itself), printed as mpi4py's pingpong prints: size, bandwidth, mean time of one way and its
    standard deviation, samples. Returns [(nbytes, mean, stdev)]."""
    import statistics  # noqa: PLC0415
    from argparse import ArgumentParser  # noqa: PLC0415

    parser = ArgumentParser(prog="mpi4pyve.bench pingpong -a ve")
    parser.add_argument("-q", "--quiet", action="store_false", dest="verbose", default=verbose)
    parser.add_argument("-m", "--min-size", type=int, dest="min_size", default=1)
    parser.add_argument("-n", "--max-size", type=int, dest="max_size", default=1 << 24)
    parser.add_argument("-s", "--skip", type=int, default=10)
    parser.add_argument("-l", "--loop", type=int, default=1000)
    parser.add_argument("--no-header", action="store_false", dest="print_header", default=True)
    parser.add_argument("--no-stats", action="store_false", dest="print_stats", default=True)
    options = parser.parse_args(args)

    from . import MPI, simve  # noqa: PLC0415

    rank, size = comm.Get_rank(), comm.Get_size()
    result = []
    for nbytes in (1 << k for k in range(40)):
        if nbytes > options.max_size:
            break
        if nbytes < options.min_size:
            continue
        # fewer rounds for large messages, as mpi4py's pingpong does
        loop = min(options.loop, 1000 if nbytes <= 1 << 14 else 100 if nbytes <= 1 << 20 else 10)
        skip = min(options.skip, 10 if nbytes <= 1 << 20 else 1)
        s_buf = [simve.full(nbytes, rank % 256, "u1"), nbytes, MPI.BYTE]
        r_buf = [simve.zeros(nbytes, "u1"), nbytes, MPI.BYTE]
        times = []
        comm.Barrier()
        for i in range(skip + loop):
            t0 = MPI.Wtime()
            if size == 1:
                comm.Sendrecv(s_buf, 0, 0, r_buf, 0, 0)
                comm.Sendrecv(s_buf, 0, 0, r_buf, 0, 0)
            elif rank == 0:
                comm.Send(s_buf, 1, 0)
                comm.Recv(r_buf, 1, 0)
            elif rank == 1:
                comm.Recv(r_buf, 0, 0)
                comm.Send(s_buf, 0, 0)
            if i >= skip:
                times.append((MPI.Wtime() - t0) / 2)
        if rank in (0, 1) and size > 1:
            got = r_buf[0].get()
            if not (got == (1 - rank)).all():
                raise AssertionError(f"pingpong -a ve: rank {rank} received wrong data for {nbytes} bytes")
        mean = statistics.mean(times)
        stdev = statistics.stdev(times) if len(times) > 1 else 0.0
        result.append((nbytes, mean, stdev))
        if options.verbose and rank == 0:
            if options.print_header:
                options.print_header = False
                print("# MPI PingPong Test (VE arrays)")
                print("# Size [B]  Bandwidth [MB/s]" +
                      (" | Time Mean [s] \u00b1 StdDev [s]  Samples" if options.print_stats else ""), flush=True)
            line = f"{nbytes:10d}{nbytes / mean / 1e6:18.2f}"
            if options.print_stats:
                line += f" | {mean:.7e} \u00b1 {stdev:.4e} {loop:8d}"
            print(line, flush=True)
    return result


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
