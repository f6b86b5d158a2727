"""`import mpi4pyve.rc` and setting mpi4py's options before `from mpi4pyve import MPI`, as
programs written for mpi4py-ve do. argv[1]: "noinit" (rc.initialize = False: the program initialises
MPI itself) or "single" (rc(thread_level="single")). Prints "RC-OK rank=<r>" when every check held."""
import sys

import mpi4pyve.rc

mode = sys.argv[1]
if mode == "noinit":
    mpi4pyve.rc.initialize = False
    mpi4pyve.rc.finalize = False
elif mode == "single":
    mpi4pyve.rc(thread_level="single")
else:
    raise SystemExit(f"unknown mode {mode}")

import numpy as np  # noqa: E402

from mpi4pyve import MPI, simve, util, veo  # noqa: E402

if mode == "noinit":
    assert not MPI.Is_initialized(), "rc.initialize = False was ignored"
    MPI.Init_thread(MPI.THREAD_FUNNELED)
    assert MPI.Query_thread() == MPI.THREAD_FUNNELED
else:
    assert MPI.Is_initialized()
    assert MPI.Query_thread() == MPI.THREAD_SINGLE, MPI.Query_thread()

comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
n = 257
x = np.arange(n, dtype="f8") + 1000 * rank
s, r = simve.array(x), simve.full(n, -1.0)
before = veo.stats()["staged_calls"]
c0 = util.nmpi_aveo_dma.count
comm.Sendrecv(s, dest=(rank + 1) % size, recvbuf=r, source=(rank - 1) % size)
c1 = util.nmpi_aveo_dma.count
assert veo.stats()["staged_calls"] > before, "the VE Sendrecv did not go through libmpive"
assert [b - a for a, b in zip(c0, c1)] == [0, 1, 1], (c0, c1)
want = np.arange(n, dtype="f8") + 1000 * ((rank - 1) % size)
assert r.get().tobytes() == want.tobytes()
comm.Barrier()
sys.stdout.write(f"RC-OK rank={rank}\n")
if mode == "noinit":
    MPI.Finalize()
