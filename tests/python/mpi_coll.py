"""Collectives with VE arrays against the same on numpy arrays: every Comm and Intracomm collective,
blocking and I-forms, the v and w variants in both spec forms, MPI.IN_PLACE, reductions with several
operations, and the MPI-4 persistent forms (which must behave as on numpy arrays: NotImplementedError
where the MPI library lacks them). Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import MPI, comm, data, rank, same, same_outcome, size

N = 6
ROOTS = [0, size - 1]
BLOCKING = [False, True]   # nonblocking?


def run(name, nb, *args, **kw):
    if nb:
        getattr(comm, "I" + name[0].lower() + name[1:])(*args, **kw).Wait()
    else:
        getattr(comm, name)(*args, **kw)


def vcounts(k=0):
    counts = [1 + (r + k) % 3 for r in range(size)]
    displs = list(np.cumsum([0] + counts[:-1]) + np.arange(size))   # with holes between blocks
    return counts, displs, displs[-1] + counts[-1] + 1


@pytest.mark.parametrize("nb", BLOCKING)
@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("dt", ["f8", "i4", "c16"])
def test_bcast(nb, root, dt):
    def f(xp):
        b = xp.array(data(N, dt, r=root)) if rank == root else xp.zeros(N, dt)
        run("Bcast", nb, b, root=root)
        c = xp.array(data(N, "i8", r=root)) if rank == root else xp.zeros(N, "i8")
        run("Bcast", nb, [c, 3, MPI.INT64_T], root=root)
        return [b, c]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
@pytest.mark.parametrize("root", ROOTS)
def test_gather_scatter(nb, root):
    def f(xp):
        s = xp.array(data(N))
        g = xp.full(N * size, -1.0) if rank == root else None
        run("Gather", nb, s, g, root=root)
        # typed spec, receive buffer significant at the root only
        g2 = xp.full(N * size, -1.0)
        run("Gather", nb, [s, MPI.DOUBLE], [g2, MPI.DOUBLE], root=root)
        src = xp.array(data(N * size, r=root)) if rank == root else None
        r = xp.zeros(N)
        run("Scatter", nb, src, r, root=root)
        return [g if rank == root else 0, g2 if rank == root else 0, r]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("form", ["tuple", "flat"])
def test_gatherv_scatterv(nb, root, form):
    counts, displs, total = vcounts()

    def vspec(a):
        return [a, (counts, displs), MPI.DOUBLE] if form == "tuple" else [a, counts, displs, MPI.DOUBLE]

    def f(xp):
        s = xp.array(data(counts[rank]))
        g = xp.full(total, -1.0)
        run("Gatherv", nb, s, vspec(g), root=root)
        src = xp.array(data(total, r=root))
        r = xp.full(counts[rank] + 2, -3.0)
        run("Scatterv", nb, vspec(src), [r, counts[rank], MPI.DOUBLE], root=root)
        return [g if rank == root else 0, r]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
def test_allgather_allgatherv(nb):
    counts, displs, total = vcounts(1)

    def f(xp):
        s = xp.array(data(N, "i4"))
        g = xp.zeros(N * size, "i4")
        run("Allgather", nb, s, g)
        sv = xp.array(data(counts[rank], "f8"))
        gv = xp.full(total, -1.0)
        run("Allgatherv", nb, sv, [gv, (counts, displs), MPI.DOUBLE])
        gv2 = xp.full(total, -1.0)
        run("Allgatherv", nb, [sv, MPI.DOUBLE], [gv2, counts, displs, MPI.DOUBLE])
        return [g, gv, gv2]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
def test_alltoall_v_w(nb):
    sc = [1 + (rank + r) % 3 for r in range(size)]           # what this rank sends to r
    rc = [1 + (r + rank) % 3 for r in range(size)]           # what it receives from r
    sd = list(np.cumsum([0] + sc[:-1]))
    rd = list(np.cumsum([0] + rc[:-1]) + np.arange(size))    # holes in the receive buffer

    def f(xp):
        s = xp.array(data(2 * size, "c16"))
        r = xp.zeros(2 * size, "c16")
        run("Alltoall", nb, s, r)
        sv = xp.array(data(sum(sc)))
        rv = xp.full(rd[-1] + rc[-1] + 1, -1.0)
        run("Alltoallv", nb, [sv, (sc, sd), MPI.DOUBLE], [rv, (rc, rd), MPI.DOUBLE])
        rv2 = xp.full(rd[-1] + rc[-1] + 1, -1.0)
        run("Alltoallv", nb, [sv, sc, sd, MPI.DOUBLE], [rv2, rc, rd, MPI.DOUBLE])
        # w: byte displacements, one datatype per peer (doubles to even ranks, int64 to odd ones)
        sw = xp.array(data(sum(sc), "i8"))
        rw = xp.full(rd[-1] + rc[-1] + 1, -1, "i8")
        types = [MPI.INT64_T] * size
        run("Alltoallw", nb, [sw, (sc, [d * 8 for d in sd]), types], [rw, (rc, [d * 8 for d in rd]), types])
        return [r, rv, rv2, rw]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
@pytest.mark.parametrize("op,dt", [("SUM", "f8"), ("MAX", "i4"), ("PROD", "i8"), ("MIN", "f4"),
                                   ("BXOR", "u1"), ("SUM", "c16")])
def test_reduce_allreduce(nb, op, dt):
    o = getattr(MPI, op)

    def f(xp):
        s = xp.array(data(N, dt))
        out = []
        for root in ROOTS:
            r = xp.full(N, 9, dt)
            run("Reduce", nb, s, r, op=o, root=root)
            out.append(r if rank == root else 0)
        a = xp.zeros(N, dt)
        run("Allreduce", nb, s, a, op=o)
        a2 = xp.zeros(N, dt)
        run("Allreduce", nb, [s, 4, MPI._typedict[np.dtype(dt).char]], [a2, 4, MPI._typedict[np.dtype(dt).char]], op=o)
        return out + [a, a2]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
def test_in_place(nb):
    counts = [2] * size

    def f(xp):
        out = []
        b = xp.array(data(N))
        run("Allreduce", nb, MPI.IN_PLACE, b, op=MPI.SUM)
        out.append(b)
        for root in ROOTS:
            b = xp.array(data(N))
            run("Reduce", nb, MPI.IN_PLACE if rank == root else b, b, op=MPI.MAX, root=root)
            out.append(b if rank == root else 0)
            g = xp.array(data(N * size))
            run("Gather", nb, MPI.IN_PLACE if rank == root else g[rank * N:(rank + 1) * N], g, root=root)
            out.append(g if rank == root else 0)
            s = xp.array(data(N * size, r=root))
            run("Scatter", nb, s, MPI.IN_PLACE if rank == root else s[:N], root=root)
            out.append(s)
        g = xp.array(data(N * size))
        run("Allgather", nb, MPI.IN_PLACE, g)
        out.append(g)
        b = xp.array(data(2 * size))
        run("Reduce_scatter_block", nb, MPI.IN_PLACE, b, op=MPI.SUM)
        out.append(b[:2])
        b = xp.array(data(2 * size))
        run("Reduce_scatter", nb, MPI.IN_PLACE, b, counts, op=MPI.SUM)
        out.append(b[:2])
        b = xp.array(data(N))
        run("Scan", nb, MPI.IN_PLACE, b, op=MPI.SUM)
        out.append(b)
        b = xp.array(data(2 * size, "i4"))
        run("Alltoall", nb, MPI.IN_PLACE, b)
        out.append(b)
        return out
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
def test_reduce_scatter(nb):
    counts = [1 + r % 3 for r in range(size)]

    def f(xp):
        s = xp.array(data(sum(counts)))
        r = xp.full(counts[rank] + 1, -1.0)
        run("Reduce_scatter", nb, s, [r, counts[rank], MPI.DOUBLE], counts, op=MPI.SUM)
        s2 = xp.array(data(3 * size, "i4"))
        r2 = xp.zeros(3, "i4")
        run("Reduce_scatter_block", nb, s2, r2, op=MPI.MAX)
        return [r, r2]
    same(f)


@pytest.mark.parametrize("nb", BLOCKING)
@pytest.mark.parametrize("op", ["SUM", "PROD", "MAX"])
def test_scan_exscan(nb, op):
    o = getattr(MPI, op)

    def f(xp):
        s = xp.array(data(N, "i8"))
        r = xp.zeros(N, "i8")
        run("Scan", nb, s, r, op=o)
        e = xp.full(N, -5, "i8")
        run("Exscan", nb, s, e, op=o)
        e2 = xp.array(data(N, "i8"))
        run("Exscan", nb, MPI.IN_PLACE, e2, op=o)
        # the result of Exscan is undefined on rank 0
        return [r, e if rank else 0, e2 if rank else 0]
    same(f)


def test_barrier_and_ibarrier_with_pending_ve_requests():
    def f(xp):
        r = xp.zeros(N)
        q = comm.Ibcast(r if rank else xp.array(data(N)), root=0)
        comm.Ibarrier().Wait()
        q.Wait()
        return [r]
    same(f)


PERSISTENT = ["Bcast_init", "Allreduce_init", "Gather_init", "Allgather_init", "Alltoall_init",
              "Reduce_init", "Scan_init", "Exscan_init", "Reduce_scatter_block_init"]


@pytest.mark.parametrize("name", PERSISTENT)
def test_persistent_collectives_mpi4(name):
    def f(xp):
        s = xp.array(data(N * size))
        r = xp.zeros(N * size)
        if name == "Bcast_init":
            q = comm.Bcast_init(s, root=0)
        elif name in ("Gather_init",):
            q = comm.Gather_init([s, N, MPI.DOUBLE], r, root=0)
        elif name in ("Allgather_init", "Reduce_scatter_block_init"):
            q = getattr(comm, name)([s, N, MPI.DOUBLE], r) if name == "Allgather_init" else \
                comm.Reduce_scatter_block_init(s, [r, N, MPI.DOUBLE], op=MPI.SUM)
        elif name == "Alltoall_init":
            q = comm.Alltoall_init(s, r)
        elif name == "Reduce_init":
            q = comm.Reduce_init(s, r, op=MPI.SUM, root=0)
        else:
            q = getattr(comm, name)(s, r, op=MPI.SUM)
        out = []
        for _ in range(2):
            q.Start()
            q.Wait()
            out.append(r.get() if hasattr(r, "get") else r.copy())
        q.Free()
        if name in ("Gather_init", "Reduce_init") and rank != 0:
            return [0]
        if name == "Exscan_init" and rank == 0:
            return [0]
        return out + [s]
    same_outcome(f)
