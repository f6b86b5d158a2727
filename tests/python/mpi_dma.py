"""mpi4pyve.util.nmpi_aveo_dma counts exactly the VE copies that an MPI call makes, per
direction [VE->VE, VE->VH, VH->VE], with their bytes; data checked byte for byte. Runs on every rank
(see mpiplugin).

What libmpive copies (src/msg): a contiguous VE send buffer is read once from the VE before the call
(1 VE->VH of its bytes); a VE receive buffer is written once after it (1 VH->VE of the bytes received,
not of the buffer's size); Allreduce reads the VE send buffer once (Use::In) and writes the VE receive
buffer once (Use::Out); with MPI.IN_PLACE it reads and writes the one buffer (Use::InOut). Host
buffers are never copied. The counters are read right around the MPI call: making the arrays
(simve.array: VH->VE) and reading them back (.get(): VE->VH) are copies too."""
import numpy as np
import pytest
from vecheck import MPI, comm, rank, size

from mpi4pyve import simve, util, veo

dma = util.nmpi_aveo_dma


def delta(fn):
    """Runs fn(); returns (its result, count, size, time) changes of nmpi_aveo_dma on this rank."""
    c0, s0, t0 = dma.count, dma.size, dma.time
    out = fn()
    c1, s1, t1 = dma.count, dma.size, dma.time
    return (out, [b - a for a, b in zip(c0, c1)], [b - a for a, b in zip(s0, s1)],
            [b - a for a, b in zip(t0, t1)])


def values(n, r, dtype="f8"):
    return (np.arange(n) * 3 + 1000 * r + 1).astype(dtype)


@pytest.mark.parametrize("n", [1, 1000, 1 << 17])
def test_send_recv_contiguous(n):
    """Rank 0 sends n doubles from VE memory to rank 1: 1 VE->VH of 8n bytes on rank 0, 1 VH->VE of
    8n bytes on rank 1, nothing on the other ranks."""
    x = values(n, 0)
    s = simve.array(x) if rank == 0 else None
    r = simve.full(n, -1.0) if rank == 1 else None
    comm.Barrier()

    def call():
        if rank == 0:
            comm.Send(s, dest=1, tag=5)
        elif rank == 1:
            comm.Recv(r, source=0, tag=5)

    _, count, nbytes, t = delta(call)
    want = {0: ([0, 1, 0], [0, 8 * n, 0]), 1: ([0, 0, 1], [0, 0, 8 * n])}.get(rank, ([0, 0, 0], [0, 0, 0]))
    assert (count, nbytes) == want
    assert all(v >= 0 for v in t)
    if rank == 1:
        assert r.get().tobytes() == x.tobytes()


def test_recv_copies_back_only_what_arrived():
    """A VE receive buffer of 2n doubles for a message of n: VH->VE of 8n bytes; the rest untouched."""
    n = 500
    x = values(n, 0)
    s = simve.array(x) if rank == 0 else None
    r = simve.full(2 * n, -7.0) if rank == 1 else None
    comm.Barrier()

    def call():
        if rank == 0:
            comm.Send(s, dest=1, tag=6)
        elif rank == 1:
            st = MPI.Status()
            comm.Recv(r, source=0, tag=6, status=st)
            assert st.Get_count(MPI.DOUBLE) == n

    _, count, nbytes, _ = delta(call)
    if rank == 1:
        assert (count, nbytes) == ([0, 0, 1], [0, 0, 8 * n])
        want = np.concatenate([x, np.full(n, -7.0)])
        assert r.get().tobytes() == want.tobytes()


@pytest.mark.parametrize("inplace", [False, True], ids=["two-buffers", "in-place"])
@pytest.mark.parametrize("n,dtype", [(1, "i4"), (1000, "f8"), (1 << 16, "i8")])
def test_allreduce(n, dtype, inplace):
    """Allreduce of VE buffers on every rank: 1 VE->VH and 1 VH->VE of n*itemsize bytes each, per
    rank; the same with MPI.IN_PLACE."""
    itemsize = np.dtype(dtype).itemsize
    x = values(n, rank, dtype)
    s = simve.array(x)
    r = simve.zeros(n, dtype) if not inplace else None
    comm.Barrier()
    if inplace:
        _, count, nbytes, _ = delta(lambda: comm.Allreduce(MPI.IN_PLACE, s, op=MPI.SUM))
        got = s.get()
    else:
        _, count, nbytes, _ = delta(lambda: comm.Allreduce(s, r, op=MPI.SUM))
        got = r.get()
    assert (count, nbytes) == ([0, 1, 1], [0, n * itemsize, n * itemsize])
    want = sum(values(n, q, dtype) for q in range(size)).astype(dtype)
    assert got.tobytes() == want.tobytes()


def test_host_buffers_are_not_counted():
    x = values(100, rank)
    r = np.zeros(100)
    _, count, nbytes, _ = delta(lambda: comm.Allreduce(x, r, op=MPI.SUM))
    assert (count, nbytes) == ([0, 0, 0], [0, 0, 0])
    assert r.tobytes() == sum(values(100, q) for q in range(size)).tobytes()


def test_ve_to_ve_copy_counts_once_as_ve_to_ve():
    n = 1 << 16
    proc = simve.default_proc()
    a, b = veo.alloc_hmem(proc, n), veo.alloc_hmem(proc, n)
    try:
        src = np.random.default_rng(rank).integers(0, 256, n, dtype=np.uint8)
        back = np.zeros(n, np.uint8)
        _, count, nbytes, _ = delta(lambda: veo.hmemcpy(a, src.ctypes.data, n))
        assert (count, nbytes) == ([0, 0, 1], [0, 0, n])
        _, count, nbytes, t = delta(lambda: veo.hmemcpy(b, a, n))
        assert (count, nbytes) == ([1, 0, 0], [n, 0, 0])
        assert t[0] > 0.0
        _, count, nbytes, _ = delta(lambda: veo.hmemcpy(back.ctypes.data, b, n))
        assert (count, nbytes) == ([0, 1, 0], [0, n, 0])
        assert back.tobytes() == src.tobytes()
    finally:
        veo.free_hmem(a)
        veo.free_hmem(b)


def test_time_grows_with_the_copies():
    n = 1 << 20
    s = simve.array(np.ones(n // 8))
    _, count, _, t = delta(lambda: s.get())
    assert count == [0, 1, 0] and t[1] > 0.0 and t[0] == 0.0 and t[2] == 0.0


def test_clear_restarts_from_zero_for_every_reader():
    s = simve.array(np.arange(10.0))
    s.get()
    assert dma.count[1] > 0 or dma.count[2] > 0
    dma.clear()
    assert dma.count == [0, 0, 0] and dma.size == [0, 0, 0] and dma.time == [0.0, 0.0, 0.0]
    other = type(dma)()            # another instance: the same process-wide statistics
    assert other.count == [0, 0, 0]
    s.get()
    assert dma.count == other.count == [0, 1, 0] and dma.size == [0, 80, 0]
    # the libmpive counters themselves are cumulative and unaffected
    st = veo.stats()
    assert st["copies_from_ve"] >= 1 and st["copies"] >= st["copies_from_ve"]
