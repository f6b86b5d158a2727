"""mpi4pyve's own Python cost per buffer-taking call, without MPI: the patched Comm.Send/Recv wrapper
around a no-op in place of mpi4py's method, for a VE array and a numpy array, with the `a` and
`[a, MPI.X]` spec forms; and the real comm.Send to MPI.PROC_NULL (mpi4py's parsing and libmpive, no
transfer). Run on one process: python3 bench/pyoverhead.py [--calls N]
Prints "P,form,microseconds per call" (the best of 20 batches: on a loaded machine the least disturbed)."""
import argparse
import time

import numpy as np

from mpi4pyve import MPI, _patch, simve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100000)
    n = ap.parse_args().calls
    ve = simve.zeros(8, dtype="u1")[:8]
    host = np.zeros(8, dtype="u1")
    noop = lambda self, *a, **k: None  # noqa: E731
    send = _patch._message_wrapper(noop, "Comm.Send", True, ())
    comm = MPI.COMM_WORLD
    forms = {
        "ve-iface-only": lambda: ve.__ve_array_interface__,
        "ve a": lambda: send(comm, ve, 1, 1),
        "ve [a MPI.BYTE]": lambda: send(comm, [ve, MPI.BYTE], 1, 1),
        "ve a dest= tag=": lambda: send(comm, ve, dest=1, tag=1),
        "numpy a": lambda: send(comm, host, 1, 1),
        # the whole path with mpi4py's own buffer parsing and libmpive, to MPI.PROC_NULL (no transfer)
        "real Send ve a PROC_NULL": lambda: comm.Send(ve, MPI.PROC_NULL, 1),
        "real Send numpy a PROC_NULL": lambda: comm.Send(host, MPI.PROC_NULL, 1),
    }
    for name, f in forms.items():
        best = float("inf")
        for _ in range(20):
            t = time.perf_counter()
            for _ in range(n // 20):
                f()
            best = min(best, (time.perf_counter() - t) / (n // 20))
        print(f"P,{name},{best * 1e6:.3f}", flush=True)


if __name__ == "__main__":
    main()
