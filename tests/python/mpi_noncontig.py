"""Non-contiguous VE arrays (strided views): where the whole array is one message (point-to-point,
Bcast) mpi4pyve describes it with a derived datatype, so exactly its elements travel and the bytes
between them stay untouched; elsewhere (reductions, v-collectives, explicit counts) a clear
BufferError. Compared with numpy, where mpi4py itself needs contiguous arrays: the numpy run sends
a contiguous copy and scatters what it receives into the same view. Runs on every rank."""
import numpy as np
import pytest
from vecheck import VE, MPI, comm, data, rank, same, size

peer = rank ^ 1 if (rank ^ 1) < size else MPI.PROC_NULL
N = 6

VIEWS = {
    "every_2nd": lambda a: a[::2],
    "reversed": lambda a: a[::-1],
    "column": lambda a: a.reshape(N, 4)[:, 1],
    "block": lambda a: a.reshape(N, 4)[1:5, 1:3],
    "transposed_block": lambda a: a.reshape(N, 4)[1:5, 1:3].T,
}


def send_view(xp, view):
    """What the send side passes: the view itself (VE) or a contiguous copy of it (numpy)."""
    return view if xp is VE else np.ascontiguousarray(view)


def recv_into(xp, view, fn):
    """Receives into `view`: directly (VE), or into a contiguous buffer copied into it (numpy)."""
    if xp is VE:
        fn(view)
    else:
        tmp = np.empty(view.shape, view.dtype)
        fn(tmp)
        view[...] = tmp


@pytest.mark.parametrize("v", list(VIEWS))
@pytest.mark.parametrize("dt", ["f8", "i4", "c16"])
def test_send_recv_views(v, dt):
    def f(xp):
        a = xp.array(data(4 * N, dt))
        b = xp.full(4 * N, 7, dt)
        q = comm.Isend(send_view(xp, VIEWS[v](a)), dest=peer, tag=1)
        recv_into(xp, VIEWS[v](b), lambda buf: comm.Recv(buf, source=peer, tag=1))
        q.Wait()
        return [b]
    same(f)


@pytest.mark.parametrize("v", ["every_2nd", "column", "block"])
def test_typed_spec_nonblocking_and_sendrecv(v):
    def f(xp):
        a = xp.array(data(4 * N))
        b = xp.full(4 * N, -1.0)
        c = xp.full(4 * N, -2.0)
        if xp is VE:
            rq = comm.Irecv([VIEWS[v](b), MPI.DOUBLE], source=peer, tag=2)
            sq = comm.Isend([VIEWS[v](a), MPI.DOUBLE], dest=peer, tag=2)
            MPI.Request.Waitall([rq, sq])
            comm.Sendrecv(VIEWS[v](a), dest=peer, recvbuf=VIEWS[v](c), source=peer)
        else:
            tmp = np.empty(VIEWS[v](b).shape)
            comm.Sendrecv(np.ascontiguousarray(VIEWS[v](a)), dest=peer, recvbuf=tmp, source=peer, sendtag=2, recvtag=2)
            VIEWS[v](b)[...] = tmp
            comm.Sendrecv(np.ascontiguousarray(VIEWS[v](a)), dest=peer, recvbuf=tmp, source=peer)
            VIEWS[v](c)[...] = tmp
        return [b, c]
    same(f)


@pytest.mark.parametrize("v", ["every_2nd", "transposed_block"])
def test_bcast_view(v):
    def f(xp):
        a = xp.array(data(4 * N, "i8", r=0)) if rank == 0 else xp.full(4 * N, -1, "i8")
        view = VIEWS[v](a)
        if xp is VE:
            comm.Bcast(view, root=0)
        else:
            tmp = np.ascontiguousarray(view)
            comm.Bcast(tmp, root=0)
            view[...] = tmp
        return [a]
    same(f)


def test_fortran_ordered_arrays_are_contiguous():
    # a transposed C array is Fortran-contiguous: sent as it lies in memory, as numpy arrays are
    def f(xp):
        a = xp.array(data(4 * N).reshape(N, 4)).T
        b = xp.full((N, 4), -1.0).T
        comm.Sendrecv(a, dest=peer, recvbuf=b, source=peer)
        return [b]
    same(f)


def test_persistent_send_of_a_view():
    def f(xp):
        a = xp.array(data(4 * N))
        b = xp.full(4 * N, -1.0)
        view_a, view_b = VIEWS["every_2nd"](a), VIEWS["every_2nd"](b)
        if xp is VE:
            rq = comm.Recv_init(view_b, source=peer, tag=3)
            sq = comm.Send_init(view_a, dest=peer, tag=3)
            for it in range(2):
                a[...] = data(4 * N, seed=it)
                MPI.Prequest.Startall([rq, sq])
                MPI.Request.Waitall([rq, sq])
            rq.Free()
            sq.Free()
        else:
            for it in range(2):
                a[...] = data(4 * N, seed=it)
                tmp = np.empty(view_b.shape)
                comm.Sendrecv(np.ascontiguousarray(view_a), dest=peer, sendtag=3, recvbuf=tmp, source=peer, recvtag=3)
                view_b[...] = tmp
        return [b]
    same(f)


ERRORS = {
    "Allreduce": lambda v, w: comm.Allreduce(v, w),
    "Reduce": lambda v, w: comm.Reduce(v, w, root=0),
    "Gather": lambda v, w: comm.Gather(v, w, root=0),
    "Allgatherv": lambda v, w: comm.Allgatherv(v, [w, None]),
    "Alltoall": lambda v, w: comm.Alltoall(v, w),
    "Scan": lambda v, w: comm.Scan(v, w),
    "explicit count": lambda v, w: comm.Send([v, 2, MPI.DOUBLE], dest=MPI.PROC_NULL),
    "count and displacement": lambda v, w: comm.Send([v, (2, 1), MPI.DOUBLE], dest=MPI.PROC_NULL),
}


@pytest.mark.parametrize("what", list(ERRORS))
def test_where_views_are_refused(what):
    from mpi4pyve import simve  # noqa: PLC0415

    a = simve.array(data(4 * size))
    w = simve.zeros(4 * size * size)
    with pytest.raises(BufferError, match="not contiguous"):
        ERRORS[what](a[::2], w)
    if what != "explicit count" and what != "count and displacement":
        with pytest.raises(BufferError, match="not contiguous"):
            ERRORS[what](a[: 2 * size], w[::2])
