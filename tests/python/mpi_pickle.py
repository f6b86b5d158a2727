"""Lower-case (pickle-based) methods with VE arrays as Python objects, against the same on numpy
arrays: p2p (send, recv, isend, irecv, issend, ssend, sendrecv, with and without a VE receive
buffer), matched receives, request wait/test forms, and the collectives. The arrays travel as
pickles (their data copied out of VE memory and into VE memory of the receiver), so nothing has to
be staged. Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import VE, MPI, comm, data, rank, same, size
from mpi4pyve import simve

peer = rank ^ 1 if (rank ^ 1) < size else MPI.PROC_NULL
N = 5


def ve_typed(xp, obj):
    """On the VE run the received objects must be VE arrays again."""
    if xp is VE and obj is not None:
        assert isinstance(obj, simve.ndarray), f"{type(obj)} received instead of a VE array"
    return obj


@pytest.mark.parametrize("how", ["send", "ssend", "isend", "issend"])
def test_send_recv(how):
    def f(xp):
        a = xp.array(data(N))
        if how.startswith("i"):
            q = getattr(comm, how)(a, dest=peer, tag=1)
            got = comm.recv(source=peer, tag=1)
            q.wait()
        elif rank % 2 == 0:
            getattr(comm, how)(a, dest=peer, tag=1)
            got = comm.recv(source=peer, tag=1)
        else:
            got = comm.recv(source=peer, tag=1)
            getattr(comm, how)(a, dest=peer, tag=1)
        return [ve_typed(xp, got)]
    same(f, staged_min=0)


@pytest.mark.filterwarnings("ignore:the .buf. argument is deprecated")
def test_recv_and_irecv_into_a_ve_buffer():
    def f(xp):
        a = {"x": xp.array(data(N, "i4")), "rank": rank}
        buf = xp.zeros(4096, "u1")   # scratch memory for the pickle: a VE array works as well
        q = comm.isend(a, dest=peer, tag=2)
        got = comm.recv(buf, source=peer, tag=2)
        q.wait()
        q = comm.irecv(buf, source=peer, tag=3)
        comm.send(a, dest=peer, tag=3)
        got2 = q.wait()
        return [ve_typed(xp, got["x"]), got["rank"], ve_typed(xp, got2["x"])]
    same(f, staged_min=0)


def test_sendrecv_and_messages():
    def f(xp):
        a = xp.array(data(N, "c16"))
        got = comm.sendrecv(a, dest=peer, source=peer)
        q = comm.isend(a, dest=peer, tag=4)
        msg = comm.mprobe(source=peer, tag=4)
        got2 = msg.recv()
        q.wait()
        q = comm.isend(a, dest=peer, tag=5)
        msg = None
        while msg is None:
            msg = comm.improbe(source=peer, tag=5)
        got3 = msg.irecv().wait()
        q.wait()
        return [ve_typed(xp, got), ve_typed(xp, got2), ve_typed(xp, got3)]
    same(f, staged_min=0)


@pytest.mark.parametrize("how", ["waitall", "waitany", "testall", "test"])
def test_request_forms(how):
    def f(xp):
        reqs = [comm.irecv(source=peer, tag=10 + k) for k in range(3)]
        sends = [comm.isend(xp.array(data(N, seed=k)), dest=peer, tag=10 + k) for k in range(3)]
        if how == "waitall":
            got = MPI.Request.waitall(reqs)
        elif how == "waitany":
            got = [None] * 3
            for _ in range(3):
                i, obj = MPI.Request.waitany(reqs)
                got[i] = obj
        elif how == "testall":
            flag, got = False, None
            while not flag:
                flag, got = MPI.Request.testall(reqs)
        else:
            got = []
            for q in reqs:
                flag, obj = False, None
                while not flag:
                    flag, obj = q.test()
                got.append(obj)
        MPI.Request.waitall(sends)
        return [ve_typed(xp, g) for g in got]
    same(f, staged_min=0)


def test_collectives():
    def f(xp):
        a = xp.array(data(N))
        out = [comm.bcast(a if rank == 0 else None, root=0)]
        g = comm.gather(a, root=0)
        out += g if rank == 0 else [0]
        out.append(comm.scatter([xp.array(data(N, r=r)) for r in range(size)] if rank == 0 else None, root=0))
        out += comm.allgather(a)
        out += comm.alltoall([xp.array(data(N, seed=r)) for r in range(size)])
        out.append(comm.allreduce(a, op=MPI.SUM))
        r = comm.reduce(a, op=MPI.SUM, root=size - 1)
        out.append(r if rank == size - 1 else 0)
        out.append(comm.scan(a, op=MPI.SUM))
        e = comm.exscan(a, op=MPI.SUM)
        out.append(e if rank else 0)
        for o in out:
            if not isinstance(o, int):
                ve_typed(xp, o)
        return out
    same(f, staged_min=0)
