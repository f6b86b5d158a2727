"""Neighbor collectives on topologies with VE arrays against the same on numpy arrays:
Neighbor_allgather(v), Neighbor_alltoall(v, w), their I-forms, the lower-case neighbor_allgather and
neighbor_alltoall, on a periodic ring (with 2 ranks both neighbors are the same rank) and on a
distributed graph with a repeated neighbor. Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import VE, MPI, comm, data, rank, same, size
from mpi4pyve import simve

N = 3


def ring():
    return comm.Create_cart([size], periods=[True], reorder=False)


def graph():
    # each rank receives from rank-1 twice and from rank+1; sends accordingly
    src = [(rank - 1) % size, (rank - 1) % size, (rank + 1) % size]
    dst = [(rank + 1) % size, (rank + 1) % size, (rank - 1) % size]
    return comm.Create_dist_graph_adjacent(src, dst, reorder=False)


TOPOS = {"ring": ring, "graph": graph}


def neighbors(topo):
    if isinstance(topo, MPI.Cartcomm):
        return 2, 2
    ins, outs, _ = topo.Get_dist_neighbors_count()
    return ins, outs


def run(topo, name, nb, *args):
    if nb:
        getattr(topo, "I" + name[0].lower() + name[1:])(*args).Wait()
    else:
        getattr(topo, name)(*args)


@pytest.mark.parametrize("nb", [False, True])
@pytest.mark.parametrize("kind", list(TOPOS))
def test_neighbor_allgather(kind, nb):
    topo = TOPOS[kind]()
    nin, nout = neighbors(topo)
    counts = [1 + k for k in range(nin)]
    displs = list(np.cumsum([0] + counts[:-1]) + np.arange(nin))

    def f(xp):
        s = xp.array(data(N))
        r = xp.full(N * nin, -1.0)
        run(topo, "Neighbor_allgather", nb, s, r)
        sv = xp.array(data(max(counts), "i4"))
        # each neighbor k contributes counts[k] elements: allgatherv needs the same count from a
        # rank to all its receivers, so send counts[0] (== 1) elements everywhere
        rv = xp.full(displs[-1] + counts[-1] + 1, -1, "i4")
        run(topo, "Neighbor_allgatherv", nb, [sv, 1, MPI.INT], [rv, ([1] * nin, displs), MPI.INT])
        return [r, rv]
    same(f)
    topo.Free()


@pytest.mark.parametrize("nb", [False, True])
@pytest.mark.parametrize("kind", list(TOPOS))
def test_neighbor_alltoall_v_w(kind, nb):
    topo = TOPOS[kind]()
    nin, nout = neighbors(topo)
    sd = [2 * k for k in range(nout)]
    rd = [3 * k for k in range(nin)]

    def f(xp):
        s = xp.array(data(N * nout, "c16"))
        r = xp.zeros(N * nin, "c16")
        run(topo, "Neighbor_alltoall", nb, s, r)
        sv = xp.array(data(2 * nout))
        rv = xp.full(3 * nin, -1.0)
        run(topo, "Neighbor_alltoallv", nb, [sv, ([2] * nout, sd), MPI.DOUBLE], [rv, ([2] * nin, rd), MPI.DOUBLE])
        sw = xp.array(data(2 * nout, "i8"))
        rw = xp.full(3 * nin, -1, "i8")
        run(topo, "Neighbor_alltoallw", nb, [sw, ([2] * nout, [8 * d for d in sd]), [MPI.INT64_T] * nout],
            [rw, ([2] * nin, [8 * d for d in rd]), [MPI.INT64_T] * nin])
        return [r, rv, rw]
    same(f)
    topo.Free()


@pytest.mark.parametrize("kind", list(TOPOS))
def test_lower_case_neighbor_collectives(kind):
    topo = TOPOS[kind]()
    nin, nout = neighbors(topo)

    def f(xp):
        a = xp.array(data(N))
        got = topo.neighbor_allgather(a)
        got2 = topo.neighbor_alltoall([xp.array(data(N, seed=k)) for k in range(nout)])
        for g in got + got2:
            assert xp is not VE or isinstance(g, simve.ndarray)
        return got + got2
    same(f, staged_min=0)
    topo.Free()
