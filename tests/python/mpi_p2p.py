"""Point-to-point with VE arrays (mpi4pyve) against the same on numpy arrays: every send mode, the
buffer-spec forms, Sendrecv(_replace), nonblocking and persistent requests with every completion
call, matched probes and Message.Recv/Irecv. Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import DTYPES, MPI, comm, data, rank, same, same_outcome, size

peer = rank ^ 1 if (rank ^ 1) < size else MPI.PROC_NULL
N = 12


def _type(dt):
    return MPI._typedict[np.dtype(dt).char] if np.dtype(dt).kind != "c" else MPI.C_DOUBLE_COMPLEX


@pytest.mark.parametrize("dt", DTYPES)
def test_send_recv_bare_infers_the_datatype(dt):
    def run(xp):
        s = xp.array(data(N, dt))
        r = xp.zeros(N, dt)
        st = MPI.Status()
        if rank % 2 == 0:
            comm.Send(s, dest=peer, tag=3)
            comm.Recv(r, source=peer, tag=4, status=st)
        else:
            comm.Recv(r, source=peer, tag=3, status=st)
            comm.Send(s, dest=peer, tag=4)
        return [r, st.Get_count(MPI.BYTE), st.Get_source(), st.Get_tag()]
    same(run)


@pytest.mark.parametrize("form", ["typed", "count", "count_disp", "str_type"])
def test_buffer_spec_forms(form):
    def spec(a, n, disp=0):
        return {"typed": [a, MPI.DOUBLE], "count": [a, n, MPI.DOUBLE],
                "count_disp": [a, (n, disp), MPI.DOUBLE], "str_type": [a, "d"]}[form]

    def run(xp):
        s = xp.array(data(N))
        r = xp.full(N, -1.0)
        n, disp = (N, 0) if form in ("typed", "str_type") else (5, 3)
        if rank % 2 == 0:
            comm.Send(spec(s, n, disp), dest=peer)
            comm.Recv(spec(r, n, disp), source=peer)
        else:
            comm.Recv(spec(r, n, disp), source=peer)
            comm.Send(spec(s, n, disp), dest=peer)
        return [r]
    same(run)


@pytest.mark.parametrize("mode", ["Ssend", "Rsend", "Issend", "Irsend", "Isend"])
def test_send_modes(mode):
    def run(xp):
        s = xp.array(data(N, "i8"))
        r = xp.zeros(N, "i8")
        # every receive is posted before the barrier, so that ready-mode sends are legal
        req = comm.Irecv(r, source=peer, tag=7)
        comm.Barrier()
        if mode.startswith("I"):
            getattr(comm, mode)(s, dest=peer, tag=7).Wait()
        else:
            getattr(comm, mode)(s, dest=peer, tag=7)
        req.Wait()
        return [r]
    same(run)


@pytest.mark.parametrize("dt", ["f8", "c16"])
def test_sendrecv(dt):
    def run(xp):
        s = xp.array(data(N, dt))
        r = xp.zeros(N, dt)
        comm.Sendrecv(s, dest=peer, sendtag=1, recvbuf=r, source=peer, recvtag=1)
        return [r]
    same(run)


def test_sendrecv_ring_with_specs():
    def run(xp):
        s = xp.array(data(N))
        r = xp.full(N + 4, -2.0)
        comm.Sendrecv([s, N, MPI.DOUBLE], dest=(rank + 1) % size, recvbuf=[r, (N, 2), MPI.DOUBLE],
                      source=(rank - 1) % size)
        return [r]
    same(run)


def test_sendrecv_replace():
    def run(xp):
        b = xp.array(data(N, "i4"))
        comm.Sendrecv_replace(b, dest=(rank + 1) % size, source=(rank - 1) % size)
        comm.Sendrecv_replace([b, 4, MPI.INT], dest=(rank - 1) % size, source=(rank + 1) % size)
        return [b]
    same(run)


def test_isendrecv_and_replace_mpi4():
    def run(xp):
        s = xp.array(data(N))
        r = xp.zeros(N)
        comm.Isendrecv(s, dest=peer, recvbuf=r, source=peer).Wait()
        b = xp.array(data(N, seed=2))
        comm.Isendrecv_replace(b, dest=peer, source=peer).Wait()
        return [r, b]
    same_outcome(run)


COMPLETIONS = ["Wait", "Test", "Waitall", "Testall", "Waitany", "Testany", "Waitsome", "Testsome",
               "wait", "test", "waitall", "testall", "waitany", "testany", "waitsome", "testsome",
               "Get_status"]


def complete(reqs, how):
    """Completes all requests with the completion call `how`."""
    R = MPI.Request
    reqs = list(reqs)
    if how in ("Wait", "wait"):
        for q in reqs:
            getattr(q, how)()
    elif how in ("Test", "test", "Get_status"):
        for q in reqs:
            if how == "Get_status":
                while not q.Get_status():
                    pass
                q.Wait()
            else:
                while not (q.Test() if how == "Test" else q.test()[0]):
                    pass
    elif how in ("Waitall", "waitall"):
        getattr(R, how)(reqs)
    elif how in ("Testall", "testall"):
        while not (R.Testall(reqs) if how == "Testall" else R.testall(reqs)[0]):
            pass
    elif how in ("Waitany", "waitany", "Testany", "testany"):
        left = len(reqs)
        while left:
            if how == "Waitany":
                i = R.Waitany(reqs)
            elif how == "waitany":
                i = R.waitany(reqs)[0]
            elif how == "Testany":
                i, flag = R.Testany(reqs)
                if not flag:
                    continue
            else:
                i, flag, _ = R.testany(reqs)
                if not flag:
                    continue
            assert i != MPI.UNDEFINED
            left -= 1
    else:
        left = len(reqs)
        while left:
            if how == "Waitsome":
                idx = R.Waitsome(reqs)
            elif how == "waitsome":
                idx = R.waitsome(reqs)[0]
            elif how == "Testsome":
                idx = R.Testsome(reqs)
            else:
                idx = R.testsome(reqs)[0]
            left -= len(idx or [])
    for q in reqs:
        assert q == MPI.REQUEST_NULL or how == "Get_status"


@pytest.mark.parametrize("how", COMPLETIONS)
def test_nonblocking_completion(how):
    def run(xp):
        s = [xp.array(data(N, "f8", seed=k)) for k in range(3)]
        r = [xp.full(N, -1.0) for _ in range(3)]
        reqs = [comm.Irecv(r[k], source=peer, tag=k) for k in range(3)]
        reqs += [comm.Isend(s[k], dest=peer, tag=k) for k in range(3)]
        complete(reqs, how)
        return r
    same(run)


@pytest.mark.parametrize("kind", ["Send_init", "Ssend_init", "Rsend_init"])
@pytest.mark.parametrize("how", ["Start", "Startall"])
def test_persistent(kind, how):
    def run(xp):
        s = xp.zeros(N)
        r = xp.zeros(N)
        out = []
        rq = comm.Recv_init(r, source=peer, tag=5)
        sq = getattr(comm, kind)(s, dest=peer, tag=5)
        for it in range(3):
            s[...] = data(N, seed=it)   # new data each round: staged again at every Start
            if how == "Start":
                rq.Start()
                comm.Barrier()   # receives posted: ready mode is legal
                sq.Start()
            else:
                MPI.Prequest.Startall([rq])
                comm.Barrier()
                MPI.Prequest.Startall([sq])
            MPI.Request.Waitall([rq, sq])
            out.append(r.get() if hasattr(r, "get") else r.copy())
        rq.Free()
        sq.Free()
        return out
    same(run)


def test_probe_and_matched_receives():
    def run(xp):
        out = []
        s = xp.array(data(N, "i4"))
        for k, how in enumerate(["Recv", "Irecv"]):
            r = xp.zeros(N, "i4")
            sreq = comm.Isend(s, dest=peer, tag=10 + k)
            if how == "Recv":
                msg = comm.Mprobe(source=peer, tag=10 + k)
                msg.Recv(r)
            else:
                msg = None
                while msg is None:
                    msg = comm.Improbe(source=peer, tag=10 + k)
                msg.Irecv([r, MPI.INT]).Wait()
            sreq.Wait()
            out.append(r)
        st = MPI.Status()
        sreq = comm.Isend(s, dest=peer, tag=12)
        comm.Probe(source=peer, tag=12, status=st)
        r = xp.zeros(st.Get_count(MPI.INT), "i4")
        comm.Recv(r, source=peer, tag=12)
        sreq.Wait()
        out.append(r)
        return out
    same(run)


def test_short_message_leaves_the_rest_of_the_buffer():
    def run(xp):
        s = xp.array(data(5))
        r = xp.full(N, -7.0)
        st = MPI.Status()
        sq = comm.Isend(s, dest=peer)
        comm.Recv(r, source=peer, status=st)
        sq.Wait()
        return [r, st.Get_count(MPI.DOUBLE)]
    same(run)


def test_proc_null_and_any_source():
    def run(xp):
        s = xp.array(data(N))
        r = xp.full(N, 3.0)
        comm.Send(s, dest=MPI.PROC_NULL)
        comm.Recv(r, source=MPI.PROC_NULL)
        r2 = xp.zeros(N)
        st = MPI.Status()
        sq = comm.Isend(s, dest=peer, tag=21)
        comm.Recv(r2, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=st)
        sq.Wait()
        return [r, r2, st.Get_source(), st.Get_tag()]
    same(run)


def test_cancel_receive():
    def run(xp):
        r = xp.full(N, 5.0)
        q = comm.Irecv(r, source=peer, tag=999)
        q.Cancel()
        st = MPI.Status()
        q.Wait(st)
        return [r, st.Is_cancelled()]
    same(run)


# -- what mpi4pyve hands mpi4py for a VE array (see _vebuf), and its cache: never a stale layout

class _FakeVE:
    """An object with a settable __ve_array_interface__ (an array whose address or layout changes)."""

    def __init__(self, addr, shape, typestr="<f8", strides=None):
        self.iface = {"shape": shape, "typestr": typestr, "strides": strides, "data": (addr, False),
                      "version": 1}

    @property
    def __ve_array_interface__(self):
        return dict(self.iface)


def _seen(b):
    """(address, bytes, format, readonly, owner, kind) of a buffer mpi4pyve made for mpi4py: a
    memoryview of a ctypes array at the VE address (no read of the memory), or a CAI VEBuffer."""
    import ctypes

    from mpi4pyve import _vebuf
    if type(b) is memoryview:
        return ctypes.addressof(b.obj), b.nbytes, b.format, b.readonly, b.obj.owner, "memory"
    assert type(b) is _vebuf.VEBuffer, type(b)
    cai = b.__cuda_array_interface__
    n = int(cai["typestr"][2:])
    for d in cai["shape"]:
        n *= d
    return cai["data"][0], n, cai["typestr"], cai["data"][1], b.owner, "cai"


def test_adapter_follows_address_and_layout_changes_of_one_array():
    import weakref

    from mpi4pyve import _vebuf
    a = _FakeVE(0x1000, (8,))
    for _ in range(2):  # the second round is served from the cache
        b = _vebuf.convert(a, "Comm.Send", True)
        assert _seen(b) == (0x1000, 64, "<d", False, a, "memory")
    a.iface["shape"] = (4,)
    assert _seen(_vebuf.convert(a, "Comm.Send", True))[:3] == (0x1000, 32, "<d")
    a.iface["data"] = (0x2000, False)
    assert _seen(_vebuf.convert(a, "Comm.Send", True))[:4] == (0x2000, 32, "<d", False)
    a.iface["data"] = (0x2000, True)
    assert _seen(_vebuf.convert([a, MPI.DOUBLE], "Comm.Send", True)[0])[:4] == (0x2000, 32, "<d", True)
    a.iface["strides"] = (16,)   # same address and shape, now every other element: a derived datatype
    spec = _vebuf.convert(a, "Comm.Send", True)
    assert type(spec) is list and spec[1] == 1 and _vebuf.is_derived_spec(spec)
    with pytest.raises(BufferError):
        _vebuf.convert(a, "Comm.Allreduce", False)
    a.iface["strides"] = (8,)    # contiguous again
    assert _seen(_vebuf.convert(a, "Comm.Send", True))[:4] == (0x2000, 32, "<d", True)
    # the cache keeps no array alive
    w = weakref.ref(a)
    del a, b, spec
    assert w() is None


def test_adapter_new_array_at_a_reused_address_gets_its_own_layout():
    from mpi4pyve import _vebuf
    first = _seen(_vebuf.convert(_FakeVE(0x3000, (6,), "<f8"), "Comm.Send", True))
    second = _seen(_vebuf.convert(_FakeVE(0x3000, (2, 3), "<i4"), "Comm.Send", True))
    assert first[:3] == (0x3000, 48, "<d") and second[:3] == (0x3000, 24, "<i")
    # list parts (unhashable) are not cached, and still work
    a = _FakeVE(0x3000, [3], "<f8")
    a.iface["data"] = [0x3000, False]
    assert _seen(_vebuf.convert(a, "Comm.Send", True))[:3] == (0x3000, 24, "<d")


@pytest.mark.parametrize("typestr, fmt, kind", [
    ("|b1", "<?", "memory"), ("|i1", "<b", "memory"), ("<i2", "<h", "memory"), ("<i4", "<i", "memory"),
    ("<i8", "l", "memory"), ("|u1", "<B", "memory"), ("<u2", "<H", "memory"), ("<u4", "<I", "memory"),
    ("<u8", "L", "memory"), ("<f4", "<f", "memory"), ("<f8", "<d", "memory"),
    # no ctypes type: handed over as a device buffer (CAI), which mpi4py reads the same way
    ("<f2", "<f2", "cai"), ("<c8", "<c8", "cai"), ("<c16", "<c16", "cai"),
])
def test_adapter_gives_mpi4py_the_datatype_numpy_would(typestr, fmt, kind):
    # the format decides the MPI datatype mpi4py infers: the same as for a numpy array of that dtype
    from mpi4pyve import _vebuf
    a = _FakeVE(0x5000, (3,), typestr)
    seen = _seen(_vebuf.convert(a, "Comm.Send", True))
    assert seen[2:] == (fmt, False, a, kind)
    assert seen[1] == 3 * int(typestr[2:])
    if kind == "memory":
        b = _vebuf.convert(a, "Comm.Send", True)
        host = np.zeros(3, dtype=typestr)
        assert b.format.lstrip("<") == memoryview(host).format.lstrip("<"), (b.format, memoryview(host).format)


def test_adapter_empty_and_readonly_arrays():
    from mpi4pyve import _vebuf
    a = _FakeVE(0x6000, (0,))
    assert _seen(_vebuf.convert(a, "Comm.Send", True))[5] == "cai"   # nothing to place: the CAI path
    a = _FakeVE(0x6000, (2,))
    a.iface["data"] = (0x6000, True)
    b = _vebuf.convert(a, "Comm.Recv", True)
    assert b.readonly
    with pytest.raises(BufferError):   # mpi4py refuses to receive into it, as for a read-only numpy array
        q = MPI.COMM_SELF.Irecv(b, source=0, tag=5)   # (mpi4py parses no buffer for MPI.PROC_NULL)
        q.Cancel()   # not reached unless the refusal is gone: then take the receive back before failing
        q.Wait()


def test_pending_receive_keeps_its_ve_array_alive():
    # the buffer mpi4py holds for a pending Irecv holds the VE array: dropping the user's reference
    # must not free the VE memory before the receive completes (simve arrays take no weak references;
    # their allocation does, and lives exactly as long as some view of it)
    import gc
    import weakref
    if peer == MPI.PROC_NULL:
        return
    from mpi4pyve import simve
    if rank % 2 == 0:
        r = simve.zeros(N)
        w = weakref.ref(r._alloc)
        q = comm.Irecv(r, source=peer, tag=77)
        del r
        gc.collect()
        alive = w() is not None
        comm.Send(np.arange(1.0), dest=peer, tag=78)   # now the peer sends
        q.Wait()
        assert alive
        gc.collect()
        assert w() is None   # once the receive is done, mpi4py lets the buffer go, and the array with it
    else:
        comm.Recv(np.zeros(1), source=peer, tag=78)
        comm.Send(simve.array(np.arange(N, dtype="f8")), dest=peer, tag=77)


def test_temporary_ve_arrays_live_until_the_call_returns():
    # a VE array made in the call's argument list has no other owner than the call (CPython 3.11 moves
    # the arguments into the callee's frame): the buffer of a blocking call does not hold the array, so
    # the wrapper must keep it until mpi4py returns, whether it is passed bare, in a spec or by keyword.
    # To itself on COMM_SELF, receives posted first: a failed send fails here and leaves no rank waiting
    from mpi4pyve import simve
    me = MPI.COMM_SELF
    x = data(N)
    got = [np.zeros(N) for _ in range(4)]
    reqs = [me.Irecv(g, source=0, tag=81 + k) for k, g in enumerate(got)]
    try:
        me.Send(simve.array(x), dest=0, tag=81)
        me.Send([simve.array(x + 1), MPI.DOUBLE], dest=0, tag=82)
        me.Send(buf=simve.array(x + 2), dest=0, tag=83)
        me.Send([simve.array(x + 3), N - 2, MPI.DOUBLE], dest=0, tag=84)
    except BaseException:
        for q in reqs:   # the receives of the sends that did not happen: withdrawn
            q.Cancel()
        MPI.Request.Waitall(reqs)
        raise
    MPI.Request.Waitall(reqs)
    for k, g in enumerate(got):
        want = x + k
        if k == 3:
            want[N - 2:] = 0
        assert np.array_equal(g, want), (k, g, want)


def test_same_ve_array_object_after_its_layout_and_address_change():
    # one simve array object, sent and received again after its shape, strides and offset changed
    # (NLCPy arrays allow `a.shape = ...`): every message must use the layout of the moment
    from mpi4pyve import simve
    base = np.arange(16, dtype="f8")
    a = simve.array(base) if rank % 2 == 0 else simve.zeros(16)
    steps = [((16,), (8,), 0), ((8,), (16,), 0), ((8,), (8,), 64), ((4, 2), (32, 8), 8), ((16,), (8,), 0)]
    for shape, strides, offset in steps:
        a.shape, a.strides, a._offset = shape, strides, offset
        if peer == MPI.PROC_NULL:
            continue
        if rank % 2 == 0:
            comm.Send(a, dest=peer, tag=21)
            comm.Send([a, MPI.DOUBLE], dest=peer, tag=22)
        else:
            a.shape, a.strides, a._offset = (16,), (8,), 0
            a.set(np.full(16, -1.0))
            a.shape, a.strides, a._offset = shape, strides, offset
            comm.Recv(a, source=peer, tag=21)
            got = simve.asnumpy(a)
            comm.Recv([a, MPI.DOUBLE], source=peer, tag=22)
            got2 = simve.asnumpy(a)
            want = np.lib.stride_tricks.as_strided(base[offset // 8:], shape, strides)
            assert np.array_equal(got, want) and np.array_equal(got2, want), (shape, strides, offset)
