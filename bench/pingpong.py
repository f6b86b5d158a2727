"""The Python ping-pong of the benchmark (bench/run.py runs it on 2 ranks): mpi4pyve's comm.Send and
comm.Recv between a numpy array and a VE array, as in mpi4py-ve's published ping-pong demo (a numpy
array on one rank, an NLCPy array on the other; here a simve array, or NLCPy where installed).

Variants (--variants):
  host-host  numpy arrays on both ranks (the Python host-to-host latency of the same run)
  vh-ve      a numpy array on rank 0, a VE array on rank 1

Output (rank 0), in the format of mpive_bench.c: "D,pypp,variant,size,rep,microseconds" (one-way:
the median round trip of the batch / 2) and "C,pypp,variant,size,rank,copies from VE,copies to VE,
bytes from VE,bytes to VE,ns from VE,ns to VE" per iteration, from mpive_stats_sized.
"""
import argparse
import ctypes
import time

import numpy as np

from mpi4pyve import MPI

try:
    import nlcpy as vp
except ImportError:
    from mpi4pyve import simve as vp


class Stats(ctypes.Structure):
    """The first fields of struct mpive_stats_t (include/mpive.h)."""
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "staged_calls", "copies", "copied_bytes", "live_buffers", "pool_allocations", "pool_cached_bytes",
        "pending_requests", "heap_allocations", "pipelined", "temp_allocations",
        "copies_from_ve", "bytes_from_ve", "time_ns_from_ve", "copies_to_ve", "bytes_to_ve", "time_ns_to_ve")]


def stats_reader():
    try:
        f = ctypes.CDLL(None).mpive_stats_sized
    except AttributeError:
        return None
    f.argtypes = [ctypes.POINTER(Stats), ctypes.c_size_t]
    f.restype = ctypes.c_int

    def read():
        s = Stats()
        f(ctypes.byref(s), ctypes.sizeof(s))
        return s
    return read


def size_of(t):
    t = t.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t.rstrip("KMG")) * mult)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8,1K,64K,1M,16M,128M")
    ap.add_argument("--variants", default="host-host,vh-ve")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    peer = 1 - rank
    sizes = [size_of(s) for s in a.sizes.split(",")]
    variants = a.variants.split(",")
    read = stats_reader()
    host = np.zeros(max(sizes), dtype="u1")
    ve = vp.zeros(max(sizes), dtype="u1") if "vh-ve" in variants else None
    fields = ("copies_from_ve", "copies_to_ve", "bytes_from_ve", "bytes_to_ve", "time_ns_from_ve", "time_ns_to_ve")
    if rank == 0:
        print(f"I,python_ve_arrays,{vp.__name__}", flush=True)
    for rep in range(a.reps):
        for n in sizes:
            # about 3 ms of ping-pongs per batch (at least 3), from a rough cost model
            iters = max(3, min(2000, int(3000 * a.scale / (30 + n * 0.0004))))
            for j in range(len(variants)):
                v = variants[(j + rep) % len(variants)]
                buf = (ve[:n] if rank == 1 and ve is not None else host[:n]) if v == "vh-ve" else host[:n]
                comm.Barrier()
                s0 = read() if read and rep == 0 else None
                rtt = []
                t = time.perf_counter()
                for i in range(iters + 1):  # iteration 0: warm-up
                    if rank == 0:
                        comm.Send(buf, dest=peer, tag=1)
                        comm.Recv(buf, source=peer, tag=1)
                    else:
                        comm.Recv(buf, source=peer, tag=1)
                        comm.Send(buf, dest=peer, tag=1)
                    t1 = time.perf_counter()
                    if i > 0:
                        rtt.append(t1 - t)
                    t = t1
                if s0 is not None:
                    s1 = read()
                    mine = [(getattr(s1, f) - getattr(s0, f)) / (iters + 1) for f in fields]
                    both = comm.gather(mine, root=0)
                    if rank == 0:
                        for r, m in enumerate(both):
                            print(f"C,pypp,{v},{n},{r}," + ",".join(f"{x:.3f}" for x in m))
                if rank == 0:
                    print(f"D,pypp,{v},{n},{rep},{float(np.median(rtt)) * 1e6 / 2:.6f}", flush=True)
    if rank == 0:
        print("I,done,1", flush=True)


if __name__ == "__main__":
    main()
