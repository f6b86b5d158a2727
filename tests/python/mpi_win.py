"""One-sided communication with VE arrays against the same on numpy arrays: Put, Get, Accumulate,
Get_accumulate, Fetch_and_op, Compare_and_swap and the request-based Rput, Rget, Raccumulate,
Rget_accumulate, with VE origin/result/compare buffers, under active (fence, post-start-complete-wait)
and passive (lock, lock_all with flush) target synchronization; and windows created on VE arrays
(Win.Create), read by their owner through the array after synchronizing (MPI's separate memory
model). Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import MPI, Host, comm, data, rank, same, size, tonp

N = 4
SYNCS = ["fence", "pscw", "lock", "lock_all"]
right = (rank + 1) % size
left = (rank - 1) % size


class Epoch:
    """An access epoch of this rank to `targets` (and the matching exposure epochs)."""

    def __init__(self, win, sync, targets):
        self.win, self.sync, self.targets = win, sync, sorted(set(targets))
        origins = [r for r, ts in enumerate(comm.allgather(self.targets)) if rank in ts]
        self.origins = origins

    def __enter__(self):
        w, s = self.win, self.sync
        if s == "fence":
            w.Fence()
        elif s == "pscw":
            g = comm.Get_group()
            self.og, self.tg = g.Incl(self.origins), g.Incl(self.targets)
            g.Free()
            w.Post(self.og)
            w.Start(self.tg)
        elif s == "lock":
            pass   # one lock per operation, see op()
        else:
            w.Lock_all()
        return self

    def op(self, target, fn):
        if self.sync == "lock":
            self.win.Lock(target, MPI.LOCK_EXCLUSIVE)
            try:
                fn()
            finally:   # a failing call must not leave the target locked (the next test would hang)
                self.win.Unlock(target)
        else:
            fn()
            if self.sync == "lock_all":
                self.win.Flush(target)

    def __exit__(self, *exc):
        w, s = self.win, self.sync
        if s == "fence":
            w.Fence()
        elif s == "pscw":
            w.Complete()
            w.Wait()
            self.og.Free()
            self.tg.Free()
        elif s == "lock_all":
            w.Unlock_all()
        if s in ("lock", "lock_all"):
            comm.Barrier()
            # the owner synchronizes its copy of the window (needed with MPI's separate model)
            w.Lock(rank, MPI.LOCK_SHARED)
            w.Sync()
            w.Unlock(rank)
        return False


_windows = []


@pytest.fixture(autouse=True)
def free_windows():
    """Frees the windows a failing test left behind (every rank fails alike), closing an open
    lock_all epoch first."""
    yield
    while _windows:
        w = _windows.pop()
        if w != MPI.WIN_NULL:
            try:
                w.Unlock_all()
            except MPI.Exception:
                pass
            w.Free()


def window(xp, n, dtype, on_ve):
    mem = (xp if on_ve else Host).array(data(n, dtype, seed=9))
    w = MPI.Win.Create(mem, np.dtype(dtype).itemsize, comm=comm)
    _windows.append(w)
    return w, mem


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("ve_window", [False, True], ids=["host_window", "ve_window"])
def test_put_get_accumulate(sync, ve_window):
    def f(xp):
        w, mem = window(xp, N * size, "f8", ve_window)
        out = []
        a = xp.array(data(N))
        with Epoch(w, sync, [right]) as e:
            e.op(right, lambda: w.Put(a, right, rank * N))
        out.append(tonp(mem))
        g = xp.full(N, -1.0)
        with Epoch(w, sync, [left]) as e:
            e.op(left, lambda: w.Get(g, left, (rank * N, N, MPI.DOUBLE)))
        out.append(g)
        with Epoch(w, sync, [0]) as e:
            e.op(0, lambda: w.Accumulate([a, N, MPI.DOUBLE], 0, (0, N, MPI.DOUBLE), MPI.SUM))
        out.append(tonp(mem))
        res = xp.full(N, -1.0)
        with Epoch(w, sync, [right]) as e:
            e.op(right, lambda: w.Get_accumulate(a, res, right, rank * N, MPI.PROD))
        out += [res, tonp(mem)]
        w.Free()
        return out
    same(f)


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("ve_window", [False, True], ids=["host_window", "ve_window"])
def test_atomics(sync, ve_window):
    def f(xp):
        w, mem = window(xp, size, "i8", ve_window)
        one = xp.array([rank + 1], "i8")
        res = xp.full(1, -1, "i8")
        out = []
        with Epoch(w, sync, [right]) as e:
            e.op(right, lambda: w.Fetch_and_op(one, res, right, rank, MPI.SUM))
        out += [res, tonp(mem)]
        cmp = xp.array([data(size, "i8", seed=9, r=right)[rank] + rank + 1], "i8")   # what it holds now
        new = xp.array([-100 * rank], "i8")
        res2 = xp.full(1, -1, "i8")
        with Epoch(w, sync, [right]) as e:
            e.op(right, lambda: w.Compare_and_swap(new, cmp, res2, right, rank))
        out += [res2, tonp(mem)]
        res3 = xp.full(1, -1, "i8")
        with Epoch(w, sync, [right]) as e:
            e.op(right, lambda: w.Fetch_and_op(one, res3, right, rank, MPI.NO_OP))
        out += [res3]
        w.Free()
        return out
    same(f)


@pytest.mark.parametrize("ve_window", [False, True], ids=["host_window", "ve_window"])
def test_request_based(ve_window):
    def f(xp):
        w, mem = window(xp, N * size, "f8", ve_window)
        a = xp.array(data(N))
        g = xp.full(N, -1.0)
        res = xp.full(N, -1.0)
        out = []
        w.Lock_all()
        w.Rput(a, right, rank * N).Wait()
        w.Flush_all()
        comm.Barrier()
        w.Rget(g, left, (rank * N, N, MPI.DOUBLE)).Wait()
        comm.Barrier()
        w.Raccumulate(a, 0, (0, N, MPI.DOUBLE), MPI.SUM).Wait()
        w.Flush_all()
        comm.Barrier()
        MPI.Request.Waitall([w.Rget_accumulate(a, res, right, rank * N, MPI.MAX)])
        w.Unlock_all()
        comm.Barrier()
        w.Lock(rank, MPI.LOCK_SHARED)
        w.Sync()
        w.Unlock(rank)
        out += [g, res, tonp(mem)]
        w.Free()
        return out
    same(f)


def test_allocated_window_with_ve_origins():
    def f(xp):
        w = MPI.Win.Allocate(8 * N, 8, comm=comm)
        _windows.append(w)
        mem = np.frombuffer(w.tomemory(), dtype="f8")
        mem[:] = -1
        a = xp.array(data(N))
        w.Fence()
        w.Put(a, right)
        w.Fence()
        out = [mem.copy()]
        w.Free()
        return out
    same(f)


def test_tomemory_of_a_ve_window_is_refused():
    from mpi4pyve import simve  # noqa: PLC0415

    w = MPI.Win.Create(simve.zeros(4), 8, comm=comm)
    with pytest.raises(BufferError, match="VE memory"):
        w.tomemory()
    w.Free()
