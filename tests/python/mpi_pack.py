"""Datatype.Pack/Unpack with VE arrays (input, output, or both) against the same on numpy arrays,
with predefined and derived datatypes, and packed messages sent between ranks. Runs on every rank."""
import numpy as np
import pytest
from vecheck import MPI, comm, data, rank, same, size

peer = rank ^ 1 if (rank ^ 1) < size else MPI.PROC_NULL
N = 10


def vector():
    t = MPI.DOUBLE.Create_vector(3, 2, 4)   # 3 blocks of 2 doubles, stride 4 (holes)
    t.Commit()
    return t


@pytest.mark.parametrize("place", ["vv", "vh", "hv"])   # where inbuf / outbuf of Pack live
def test_pack_unpack_round_trip(place):
    t = vector()
    size_packed = t.Pack_size(1, comm) + MPI.DOUBLE.Pack_size(N, comm)

    def f(xp):
        from vecheck import Host  # noqa: PLC0415
        inx = xp if place[0] == "v" else Host
        outx = xp if place[1] == "v" else Host
        a = inx.array(data(N))
        b = inx.array(data(12, seed=1))
        packed = outx.zeros(size_packed, "u1")
        pos = MPI.DOUBLE.Pack(a, packed, 0, comm)
        pos = t.Pack(b, packed, pos, comm)   # plain buffers: count = size // extent
        a2 = inx.full(N, -1.0)
        b2 = inx.full(12, -1.0)
        upos = MPI.DOUBLE.Unpack(packed, 0, a2, comm)
        upos = t.Unpack(packed, upos, b2, comm)
        return [packed[:pos], a2, b2, pos, upos]
    same(f)
    t.Free()


def test_packed_messages_between_ranks():
    t = vector()

    def f(xp):
        b = xp.array(data(12))
        n = t.Pack_size(1, comm)
        packed = xp.zeros(n, "u1")
        pos = t.Pack(b, packed, 0, comm)
        got = xp.zeros(n, "u1")
        comm.Sendrecv([packed, pos, MPI.PACKED], dest=peer, recvbuf=[got, n, MPI.PACKED], source=peer)
        out = xp.full(12, -1.0)
        t.Unpack(got, 0, out, comm)
        return [out]
    same(f)
    t.Free()
