"""mpi4py-ve 1.0.1's public package surface in mpi4pyve, name by name, with its behaviour.
Runs on every rank (see mpiplugin); tests/test_python_surface.py runs it under both MPIs.

The list (docs/python.md, "mpi4py-ve's package surface") is mpi4py-ve's src/mpi4pyve: __init__.py
(__version__, __author__, __credits__, __all__, get_include, get_config, rc registered as a module,
profile and profile.registry), the submodules MPI, dl, futures, util (util.nmpi_aveo_dma), veo
(veo.veo: alloc_hmem, free_hmem), bench (helloworld, ringtest, main), run (run_command_line,
set_abort_status, main) and __main__, and the names of its MPI module (mpi4py 3.0) that mpi4py 4 lacks:
UB, LB, HOST, MPIException."""
import importlib
import io
import os
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest
from vecheck import MPI, comm, rank, size

import mpi4pyve
from mpi4pyve import simve, veo

PACKAGE_NAMES = ["__version__", "__author__", "__credits__", "__all__", "get_include", "get_config", "rc",
                 "profile"]
SUBMODULES = {
    "mpi4pyve.MPI": ["COMM_WORLD", "Comm", "Datatype", "Exception"],
    "mpi4pyve.dl": ["dlopen", "dlsym", "dlclose", "dlerror", "RTLD_LAZY", "RTLD_NOW", "RTLD_LOCAL",
                    "RTLD_GLOBAL", "RTLD_NOLOAD", "RTLD_NODELETE", "RTLD_DEEPBIND", "RTLD_DEFAULT",
                    "RTLD_NEXT"],
    "mpi4pyve.futures": ["MPIPoolExecutor", "MPICommExecutor"],
    "mpi4pyve.util": ["nmpi_aveo_dma"],
    "mpi4pyve.veo": ["alloc_hmem", "free_hmem"],
    "mpi4pyve.veo.veo": ["alloc_hmem", "free_hmem"],
    "mpi4pyve.bench": ["helloworld", "ringtest", "main"],
    "mpi4pyve.run": ["run_command_line", "set_abort_status", "main"],
    "mpi4pyve.__main__": ["main"],
    "mpi4pyve.rc": ["initialize", "threads", "thread_level", "finalize", "fast_reduce", "recv_mprobe",
                    "errors"],
}


def test_package_names():
    for name in PACKAGE_NAMES:
        assert hasattr(mpi4pyve, name), name
    assert "MPI" in mpi4pyve.__all__
    assert isinstance(mpi4pyve.__version__, str) and isinstance(mpi4pyve.__author__, str)
    assert mpi4pyve.profile.registry == [] or isinstance(mpi4pyve.profile.registry, list)


@pytest.mark.parametrize("module", sorted(SUBMODULES))
def test_submodule_imports(module):
    m = importlib.import_module(module)
    for name in SUBMODULES[module]:
        assert hasattr(m, name), f"{module}.{name}"


def test_star_import():
    ns = {}
    exec("from mpi4pyve import *", ns)  # noqa: S102
    for name in mpi4pyve.__all__:
        assert name in ns, name
    assert ns["MPI"] is MPI


def test_rc_is_a_module_and_is_mpi4pys_rc():
    import mpi4py

    import mpi4pyve.rc
    assert sys.modules["mpi4pyve.rc"] is mpi4py.rc is mpi4pyve.rc
    rc = mpi4pyve.rc
    assert rc.initialize is True and rc.errors == "exception" and rc.finalize is None
    old = rc.fast_reduce
    rc(fast_reduce=False)                    # callable as mpi4py-ve's rc(**kargs)
    assert mpi4py.rc.fast_reduce is False
    rc.fast_reduce = old
    with pytest.raises(TypeError, match="unexpected argument 'no_such_option'"):
        rc(no_such_option=1)


def test_get_include_has_the_c_api_header():
    inc = mpi4pyve.get_include()
    assert os.path.isfile(os.path.join(inc, "mpi4py", "mpi4py.h")), inc


def test_get_config():
    cfg = mpi4pyve.get_config()
    assert isinstance(cfg, dict) and "libmpive" in cfg


@pytest.mark.parametrize("name", ["mpe", "vt", "vt-mpi", "vt-hyb", "no-such-profiler"])
def test_profile_of_a_missing_library_raises_mpi4py_ves_valueerror(name):
    with pytest.raises(ValueError, match=f"^profiler '{name}' not found$"):
        mpi4pyve.profile(name)
    with pytest.raises(ValueError, match=f"^profiler '{name}' not found$"):
        mpi4pyve.profile(name, path=["/nonexistent", "/tmp"], logfile="x")


def test_dl():
    from mpi4pyve import _shim, dl
    shim = _shim.shim_file()
    h = dl.dlopen(shim, dl.RTLD_NOW | dl.RTLD_NOLOAD)      # libmpive is loaded: a handle
    assert h != 0, dl.dlerror()
    assert dl.dlsym(h, "mpive_version") != 0
    # the global scope resolves MPI_Send to libmpive's (it stands in front of the MPI library)
    assert dl.dlsym(None, "MPI_Send") == dl.dlsym(h, "MPI_Send") != 0
    assert dl.dlsym(h, "no_such_symbol_anywhere") == 0
    assert "no_such_symbol_anywhere" in dl.dlerror()
    assert dl.dlerror() is None                              # reading clears it
    assert dl.dlopen("/nonexistent/libx.so", dl.RTLD_NOW) == 0 and "libx.so" in dl.dlerror()
    assert dl.dlclose(h) == 0 and dl.dlclose(None) == 0


@pytest.mark.parametrize("name", ["UB", "LB"])
def test_mpi_ub_lb_say_removed_and_the_replacement(name):
    with pytest.raises(AttributeError, match=r"MPI-3\.0.*Create_resized"):
        getattr(MPI, name)
    assert not hasattr(MPI, name)


def test_mpi_host_and_mpiexception():
    with pytest.raises(AttributeError, match="Get_processor_name"):
        MPI.HOST  # noqa: B018
    assert MPI.MPIException is MPI.Exception
    with pytest.raises(AttributeError, match="no attribute 'No_such_name'"):
        MPI.No_such_name  # noqa: B018


def test_create_resized_replaces_ub_on_ve_arrays():
    """What mpi4py 3 code did with MPI.UB (a struct with an upper bound marker) is done with
    Create_resized: every other double of a VE array travels, the rest is untouched."""
    n = 6
    t = MPI.DOUBLE.Create_resized(0, 16).Commit()
    try:
        peer = (rank + 1) % size
        src = (rank - 1) % size
        x = np.arange(2 * n, dtype="f8") + 100 * rank
        s = simve.array(x)
        r = simve.full(2 * n, -1.0)
        comm.Sendrecv([s, n, t], dest=peer, recvbuf=[r, n, t], source=src)
        want = np.full(2 * n, -1.0)
        want[::2] = (np.arange(2 * n, dtype="f8") + 100 * src)[::2]
        np.testing.assert_array_equal(r.get(), want)
    finally:
        t.Free()


def test_veo_alloc_free_as_in_mpi4py_ve():
    from mpi4pyve.veo.veo import alloc_hmem, free_hmem
    a = alloc_hmem(simve.default_proc(), 64)
    assert veo.is_ve_addr(a)
    free_hmem(a)


def test_bench_functions_run_through_mpi4pyve():
    from mpi4pyve import _shim, bench
    _shim.check_first()
    msg = bench.helloworld(comm, ["-q"], verbose=False)
    assert msg.startswith(f"Hello, World! I am process {rank:{len(str(size - 1))}d} of {size} on ")
    t = bench.ringtest(comm, ["-q", "-n", "64", "-l", "3", "-s", "1"], verbose=False)
    assert t >= 0.0
    bench.pingpong(comm, ["-q", "-m", "1", "-n", "64", "-l", "2", "-s", "1"], verbose=False)
    with pytest.raises(NotImplementedError, match="futures"):
        bench.main.commands["futures"](comm, [])


def test_bench_pingpong_of_ve_arrays_is_staged():
    from mpi4pyve import bench, util
    c0 = util.nmpi_aveo_dma.count
    res = bench.pingpong(comm, ["-a", "ve", "-q", "-m", "1", "-n", "4096", "-l", "3", "-s", "1"])
    c1 = util.nmpi_aveo_dma.count
    assert [r[0] for r in res] == [1 << k for k in range(13)]
    if rank < 2 and size > 1:
        # each of the 13 sizes: 4 sends and 4 receives of VE arrays on ranks 0 and 1
        assert c1[1] - c0[1] >= 13 * 4 and c1[2] - c0[2] >= 13 * 4, (c0, c1)


def test_run_set_abort_status_returns_exc_info():
    from mpi4pyve import run
    try:
        raise KeyError("x")
    except KeyError:
        info = run.set_abort_status(0)   # 0: nothing to abort
    assert info[0] is KeyError


def test_util_is_an_nmpi_aveo_dma_instance():
    from mpi4pyve import util
    cls = sys.modules["mpi4pyve.util.nmpi_aveo_dma"].nmpi_aveo_dma
    assert isinstance(util.nmpi_aveo_dma, cls)
    d = util.nmpi_aveo_dma
    for v in (d.count, d.size):
        assert isinstance(v, list) and len(v) == 3 and all(isinstance(i, int) and i >= 0 for i in v)
    assert len(d.time) == 3 and all(isinstance(i, float) and i >= 0 for i in d.time)


def expected_table(count, size_, time):
    """mpi4py-ve 1.0.1's show_stats() layout, written out: columns at least 10 wide; the names
    column padded to width + 4, the numbers to width + 6; a rule of dashes under the header."""
    rows = [["dma_count"] + [str(v) for v in count], ["dma_size"] + [str(v) for v in size_],
            ["dma_time"] + [str(v) for v in time]]
    w = [max(10, max(len(r[c]) for r in rows)) for c in range(4)]
    out = ["Info " + " " * w[0] + " VE->VE " + " " * w[1] + " VE->VH " + " " * w[2] + " VH->VE " + " " * w[3],
           "-" * (w[0] + 4) + "  " + "-" * (w[1] + 6) + "  " + "-" * (w[2] + 6) + "  " + "-" * (w[3] + 6)]
    for r in rows:
        out.append(" ".join([r[0], " " * (w[0] - len(r[0]) + 4), r[1], " " * (w[1] - len(r[1]) + 6),
                             r[2], " " * (w[2] - len(r[2]) + 6), r[3], " " * (w[3] - len(r[3]) + 6)]))
    return "\n".join(out) + "\n"


def test_show_stats_prints_mpi4py_ves_table():
    cls = sys.modules["mpi4pyve.util.nmpi_aveo_dma"].nmpi_aveo_dma

    class Fixed(cls):
        count = [1, 22, 333]
        size = [4096, 0, 123456789012]
        time = [0.5, 1e-06, 0.0]

    buf = io.StringIO()
    with redirect_stdout(buf):
        Fixed().show_stats()
    text = buf.getvalue()
    assert text == expected_table(Fixed.count, Fixed.size, Fixed.time), repr(text)
    # the same table, literally, for these values (widths 10, 10, 10, 12)
    lines = text.splitlines()
    assert lines[0] == "Info " + " " * 10 + " VE->VE " + " " * 10 + " VE->VH " + " " * 10 + " VH->VE " + " " * 12
    assert lines[1] == "-" * 14 + "  " + "-" * 16 + "  " + "-" * 16 + "  " + "-" * 18
    assert lines[3] == "dma_size " + " " * 6 + " 4096 " + " " * 12 + " 0 " + " " * 15 + " 123456789012 " + " " * 6
    # and with the live statistics
    from mpi4pyve import util
    buf = io.StringIO()
    with redirect_stdout(buf):
        util.nmpi_aveo_dma.show_stats()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 5 and lines[2].split()[0] == "dma_count" and lines[4].split()[0] == "dma_time"
