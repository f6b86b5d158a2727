"""mpi4pyve's own API and the unsupported list: veo.alloc_hmem/free_hmem/hmemcpy round trips,
simve arrays, the functions mpi4py-ve does not support (NotImplementedError naming the function and
the reason; with host buffers the VE-only refusals still work, e.g. buffered sends), and
mpi4pyve.futures. Runs on every rank (see mpiplugin)."""
import numpy as np
import pytest
from vecheck import MPI, comm, data, rank, size
from mpi4pyve import simve, veo

peer = rank ^ 1 if (rank ^ 1) < size else MPI.PROC_NULL


def test_alloc_hmem_round_trip():
    proc = simve.default_proc()
    n = 1 << 16
    before = veo.stats()
    addr = veo.alloc_hmem(proc, n)
    assert veo.is_ve_addr(addr) and addr >> 63 == 1, hex(addr)
    src = np.random.default_rng(rank).integers(0, 255, n, dtype=np.uint8)
    back = np.zeros(n, np.uint8)
    veo.hmemcpy(addr, src.ctypes.data, n)            # host to VE
    veo.hmemcpy(addr + n // 2, addr, n // 4)          # VE to VE within one process
    veo.hmemcpy(back.ctypes.data, addr, n)           # VE to host
    want = src.copy()
    want[n // 2: n // 2 + n // 4] = src[: n // 4]
    np.testing.assert_array_equal(back, want)
    veo.free_hmem(addr)
    host = veo.alloc_hmem(None, 64)                  # no process: host memory
    assert not veo.is_ve_addr(host)
    veo.free_hmem(host)
    assert veo.stats()["live_buffers"] == before["live_buffers"]


def test_proc_create_gives_another_ve_process():
    p = veo.proc_create(0)
    a = veo.alloc_hmem(p, 128)
    assert veo.is_ve_addr(a)
    veo.free_hmem(a)
    veo.proc_destroy(p)


def test_an_alloc_hmem_address_is_a_message_buffer():
    """A raw address from alloc_hmem, wrapped as a VE array, goes through MPI."""
    class Raw:
        def __init__(self, addr, n):
            self.__ve_array_interface__ = {"shape": (n,), "typestr": "<f8", "strides": None,
                                           "data": (addr, False), "version": 1}
    n = 5
    s, r = veo.alloc_hmem(simve.default_proc(), 8 * n), veo.alloc_hmem(simve.default_proc(), 8 * n)
    x = data(n)
    veo.hmemcpy(s, x.ctypes.data, 8 * n)
    comm.Sendrecv(Raw(s, n), dest=peer, recvbuf=Raw(r, n), source=peer)
    got = np.zeros(n)
    veo.hmemcpy(got.ctypes.data, r, 8 * n)
    np.testing.assert_array_equal(got, data(n, r=peer) if peer != MPI.PROC_NULL else np.zeros(n))
    veo.free_hmem(s)
    veo.free_hmem(r)


def test_simve_arrays():
    a = simve.array(np.arange(12.0).reshape(3, 4))
    assert a.shape == (3, 4) and a.dtype == np.float64 and a.nbytes == 96
    iface = a.__ve_array_interface__
    assert iface["typestr"] == "<f8" and iface["shape"] == (3, 4) and veo.is_ve_addr(iface["data"][0])
    np.testing.assert_array_equal(a[1].get(), [4, 5, 6, 7])
    np.testing.assert_array_equal(a[:, 2].get(), [2, 6, 10])
    assert a[:, 2].__ve_array_interface__["strides"] == (32,)
    a[:, 0] = -1
    np.testing.assert_array_equal(a.get()[:, 0], [-1, -1, -1])
    np.testing.assert_array_equal(a.T.get(), a.get().T)
    np.testing.assert_array_equal((a + 1).get(), a.get() + 1)
    z = simve.zeros(5, "i4")
    assert z.get().tolist() == [0] * 5
    e = simve.empty((2, 2), "c16")
    assert e.shape == (2, 2)
    import pickle  # noqa: PLC0415

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).get(), a.get())


UNSUPPORTED_WITH_VE = {
    "Comm.Bsend": lambda a: comm.Bsend(a, dest=peer),
    "Comm.Ibsend": lambda a: comm.Ibsend(a, dest=peer),
    "Comm.Bsend_init": lambda a: comm.Bsend_init(a, dest=peer),
    "Comm.bsend": lambda a: comm.bsend(a, dest=peer),
    "Comm.ibsend": lambda a: comm.ibsend(a, dest=peer),
    "MPI.Attach_buffer": lambda a: MPI.Attach_buffer(a),
    "Op.Reduce_local": lambda a: MPI.SUM.Reduce_local(a, simve.zeros(4)),
    "Datatype.Pack_external": lambda a: MPI.DOUBLE.Pack_external("external32", a, bytearray(64), 0),
    "Datatype.Unpack_external": lambda a: MPI.DOUBLE.Unpack_external("external32", bytearray(32), 0, a),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED_WITH_VE))
def test_unsupported_with_ve_arrays(name):
    with pytest.raises(NotImplementedError, match=rf"mpi4pyve: {name} is not supported with VE arrays: \w+"):
        UNSUPPORTED_WITH_VE[name](simve.zeros(4))


def test_buffered_mode_and_local_reductions_still_work_with_host_buffers():
    buf = MPI.buffer.allocate(1 << 16)
    MPI.Attach_buffer(buf)
    s = data(8)
    r = np.zeros(8)
    q = comm.Irecv(r, source=peer)
    comm.Bsend(s, dest=peer)
    q.Wait()
    comm.bsend({"rank": rank}, dest=peer, tag=5)
    assert comm.recv(source=peer, tag=5) == ({"rank": peer} if peer != MPI.PROC_NULL else None)
    MPI.Detach_buffer()
    np.testing.assert_array_equal(r, data(8, r=peer) if peer != MPI.PROC_NULL else np.zeros(8))
    out = np.ones(4)
    MPI.SUM.Reduce_local(np.full(4, 2.0), out)
    assert out.tolist() == [3.0] * 4
    ext = bytearray(MPI.DOUBLE.Pack_external_size("external32", 4))
    MPI.DOUBLE.Pack_external("external32", np.arange(4.0), ext, 0)
    back = np.zeros(4)
    MPI.DOUBLE.Unpack_external("external32", ext, 0, back)
    assert back.tolist() == [0, 1, 2, 3]


ALWAYS_UNSUPPORTED = {
    "Intracomm.Accept": lambda: comm.Accept("port"),
    "Intracomm.Connect": lambda: comm.Connect("port"),
    "Comm.Join": lambda: MPI.Comm.Join(0),
    "Intracomm.Spawn": lambda: comm.Spawn("python", ["-c", "pass"]),
    "Intracomm.Spawn_multiple": lambda: comm.Spawn_multiple(["python"]),
    "MPI.Open_port": lambda: MPI.Open_port(),
    "MPI.Close_port": lambda: MPI.Close_port("port"),
    "MPI.Lookup_name": lambda: MPI.Lookup_name("service"),
    "MPI.Publish_name": lambda: MPI.Publish_name("service", "port"),
    "MPI.Unpublish_name": lambda: MPI.Unpublish_name("service", "port"),
}


@pytest.mark.parametrize("name", list(ALWAYS_UNSUPPORTED))
def test_dynamic_processes_are_unsupported(name):
    with pytest.raises(NotImplementedError, match=rf"mpi4pyve: {name} is not supported: dynamic process"):
        ALWAYS_UNSUPPORTED[name]()


def test_futures_raise_on_use():
    from mpi4pyve import futures  # noqa: PLC0415

    for name in ("MPIPoolExecutor", "MPICommExecutor"):
        with pytest.raises(NotImplementedError, match=f"mpi4pyve.futures: {name} is not supported"):
            getattr(futures, name)()


def test_mpi4pyve_MPI_is_mpi4py_MPI():
    import mpi4py.MPI  # noqa: PLC0415

    import mpi4pyve  # noqa: PLC0415
    assert MPI is mpi4py.MPI
    assert mpi4pyve.MPI is mpi4py.MPI
    lib = MPI.Get_library_version()
    assert lib.startswith("Open MPI") or lib.startswith("MPICH"), lib
    cfg = mpi4pyve.get_config()
    assert "libmpive" in cfg["libmpive"]
