"""mpi4pyve has mpi4py-ve 1.0.1's whole public package surface (tests/python/mpi_surface.py),
its DMA statistics count exactly the copies of VE Send/Recv/Allreduce (tests/python/mpi_dma.py),
`import mpi4pyve.rc` works before MPI is initialised (tests/python/surface_rc.py), and
`python -m mpi4pyve.bench` / `mpi4pyve.run` / `mpi4pyve.profile` go through libmpive; under Open MPI
and MPICH."""
import re
import subprocess

import pytest

from harness import BUILD, MPIS, MPI_IDS, ROOT, VENV_PYTHON, mpirun, python_env
from test_python import PYDIR, inner_pytest

PYPATH = {"PYTHONPATH": f"{PYDIR}:{ROOT / 'python'}"}


def env(mpi, **extra):
    return python_env(mpi, {**PYPATH, **extra})


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_package_surface(mpi):
    inner_pytest(mpi, 2, PYDIR / "mpi_surface.py")


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 4])
def test_dma_statistics_count_exact_copies(mpi, np):
    # the expected counts are those of the protocol without chunks (MPIVE_PIPELINE=0, the default)
    inner_pytest(mpi, np, PYDIR / "mpi_dma.py", extra_env={"MPIVE_PIPELINE": "0"})


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("mode", ["noinit", "single"])
@pytest.mark.parametrize("preload", [False, True], ids=["opened-by-mpi4pyve", "preloaded"])
def test_rc_before_mpi(mpi, mode, preload):
    r = mpirun(mpi, 2, [VENV_PYTHON, PYDIR / "surface_rc.py", mode], preload=preload, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    assert sorted(re.findall(r"^RC-OK rank=(\d)$", r.stdout, re.M)) == ["0", "1"], r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_bench_helloworld(mpi):
    r = mpirun(mpi, 3, [VENV_PYTHON, "-m", "mpi4pyve.bench", "helloworld"], preload=False,
               env=env(mpi, MPIVE_LOG="info"), timeout=120)
    assert r.returncode == 0, r.describe()
    lines = re.findall(r"^Hello, World! I am process (\d) of 3 on \S+\.$", r.stdout, re.M)
    # (the ranks write in turn, but mpirun forwards their outputs in any order)
    assert sorted(lines) == ["0", "1", "2"], r.describe()
    # without the preload, libmpive (opened by mpi4pyve) served the benchmark's MPI calls on every rank
    assert len(re.findall(r"^libmpive\[pid \d+\]: info: real MPI: ", r.stderr, re.M)) == 3, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [1, 2])
def test_bench_pingpong_of_ve_arrays(mpi, np):
    r = mpirun(mpi, np, [VENV_PYTHON, "-m", "mpi4pyve.bench", "pingpong", "-a", "ve", "-n", "65536", "-l", "5",
                         "-s", "1"], preload=False, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    assert "# MPI PingPong Test (VE arrays)" in r.stdout, r.describe()
    sizes = [int(m) for m in re.findall(r"^\s*(\d+)\s+\S+ \| ", r.stdout, re.M)]
    assert sizes == [1 << k for k in range(17)], r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_bench_ringtest_and_pingpong(mpi):
    r = mpirun(mpi, 2, [VENV_PYTHON, "-m", "mpi4pyve.bench", "--thread-level", "serialized", "ringtest",
                        "-n", "1024", "-l", "20", "-s", "2"], preload=False, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    assert re.search(r"^time for 20 loops = \S+ seconds \(2 processes, 1024 bytes\)$", r.stdout, re.M), \
        r.describe()
    r = mpirun(mpi, 2, [VENV_PYTHON, "-m", "mpi4pyve.bench", "pingpong", "-m", "1", "-n", "4096", "-l", "20",
                        "-s", "2"], preload=False, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    sizes = [int(m) for m in re.findall(r"^\s*(\d+)\s+\S+\s+\S+", r.stdout, re.M)]
    assert sizes[:1] == [1] and sizes[-1] == 4096, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_bench_unknown_and_futures(mpi):
    r = mpirun(mpi, 2, [VENV_PYTHON, "-m", "mpi4pyve.bench", "nosuch"], preload=False, env=env(mpi), timeout=120)
    assert r.returncode != 0 and "unknown command 'nosuch'" in r.stderr, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_run_module(mpi):
    code = ("from mpi4pyve import MPI, veo, simve; import numpy as np, sys; c = MPI.COMM_WORLD; "
            "s = simve.array(np.arange(8.0) + c.rank); r = simve.zeros(8); n = veo.stats()['staged_calls']; "
            "c.Sendrecv(s, dest=1 - c.rank, recvbuf=r, source=1 - c.rank); "
            "assert veo.stats()['staged_calls'] > n; "
            "assert r.get().tobytes() == (np.arange(8.0) + 1 - c.rank).tobytes(); "
            "sys.stdout.write(f'RUN-OK {c.rank} {sys.argv[1:]}\\n')")
    r = mpirun(mpi, 2, [VENV_PYTHON, "-m", "mpi4pyve.run", "--rc=thread_level='funneled'", "-c", code, "a1"],
               preload=False, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    assert sorted(re.findall(r"^RUN-OK (\d) \['a1'\]$", r.stdout, re.M)) == ["0", "1"], r.describe()


PROFILER = r"""
#include <mpi.h>
#include <string.h>
/* a PMPI profiler of one function that libmpive does not intercept: it marks the processor name */
int MPI_Get_processor_name(char *name, int *resultlen) {
    int rc = PMPI_Get_processor_name(name, resultlen);
    strcpy(name, "profiled-by-test");
    *resultlen = (int)strlen(name);
    return rc;
}
"""


def build_profiler(mpi):
    d = BUILD / mpi.name
    d.mkdir(parents=True, exist_ok=True)
    src = d / "testprof.c"
    src.write_text(PROFILER)
    out = d / "libtestprof.so"
    subprocess.run([mpi.cc, "-shared", "-fPIC", "-O1", str(src), "-o", str(out)], check=True)
    return out


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("how", ["option", "call"])
def test_profile_loads_a_pmpi_library_behind_libmpive(mpi, how):
    """mpi4pyve.profile (and `python -m mpi4pyve -p`) loads the profiler: its MPI function is the
    one mpi4py calls, while libmpive still stages VE buffers (it stays first in the global scope)."""
    lib = build_profiler(mpi)
    code = ("from mpi4pyve import MPI, veo, simve, _shim; import numpy as np, sys; c = MPI.COMM_WORLD; "
            "_shim.check_first(); "
            "s = simve.array(np.arange(8.0) + c.rank); r = simve.zeros(8); n = veo.stats()['staged_calls']; "
            "c.Sendrecv(s, dest=1 - c.rank, recvbuf=r, source=1 - c.rank); "
            "assert veo.stats()['staged_calls'] > n; "
            "assert r.get().tobytes() == (np.arange(8.0) + 1 - c.rank).tobytes(); "
            "import mpi4pyve; reg = mpi4pyve.profile.registry; "
            "assert [e[0] for e in reg] == ['testprof'], reg; "
            "sys.stdout.write(f'PROF-OK {c.rank} {MPI.Get_processor_name()}\\n')")
    if how == "option":
        argv = [VENV_PYTHON, "-m", "mpi4pyve", "--profile", "testprof", "-c", code]
    else:
        # (Open MPI forwards MPIVE_* variables to the ranks)
        argv = [VENV_PYTHON, "-c", "import mpi4pyve, os; "
                "mpi4pyve.profile('testprof', path=[os.environ['MPIVE_TEST_PROFDIR']]); " + code]
    r = mpirun(mpi, 2, argv, preload=False, env=env(mpi, MPIVE_TEST_PROFDIR=str(lib.parent)), timeout=120)
    if how == "option":
        # `-p name` looks in the current directory (the repository root): not found there
        assert r.returncode != 0 and "profiler 'testprof' not found" in r.stderr, r.describe()
        argv = [VENV_PYTHON, "-m", "mpi4pyve", "--profile", str(lib), "-c",
                code.replace("['testprof']", f"[{str(lib)!r}]")]
        r = mpirun(mpi, 2, argv, preload=False, env=env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    assert sorted(re.findall(r"^PROF-OK (\d) profiled-by-test$", r.stdout, re.M)) == ["0", "1"], r.describe()
