"""`python -m mpi4pyve` (script, -m module, -c command, stdin; abort on an unhandled
exception) and how mpi4pyve finds libmpive (preloaded, next to the package, MPIVE_LIB, the build
tree; mpi4py imported first), under Open MPI and MPICH."""
import shutil
import time

import pytest

from harness import MPIS, MPI_IDS, ROOT, SHIM, VENV_PYTHON, mpirun, python_env

PYPATH = {"PYTHONPATH": str(ROOT / "python")}


def env(mpi, **extra):
    return python_env(mpi, {**PYPATH, **extra})


HANG = """\
from mpi4pyve import MPI
comm = MPI.COMM_WORLD
if comm.rank == 1:
    print("rank 1 divides by zero", flush=True)
    1 / 0
# every other rank waits for a message that never comes
comm.recv(source=1)
"""


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 4])
def test_unhandled_exception_aborts_the_job(mpi, np, tmp_path):
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    t0 = time.monotonic()
    r = mpirun(mpi, np, [VENV_PYTHON, "-m", "mpi4pyve", script], env=env(mpi), timeout=120)
    took = time.monotonic() - t0
    assert r.returncode not in (0, -999), r.describe()
    assert "ZeroDivisionError" in r.stderr and "Traceback" in r.stderr, r.describe()
    assert took < 100, f"took {took:.0f} s\n" + r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_exit_status_of_sys_exit(mpi, tmp_path):
    script = tmp_path / "exit.py"
    script.write_text("import sys\nfrom mpi4pyve import MPI\nif MPI.COMM_WORLD.rank == 1: sys.exit(3)\n"
                      "MPI.COMM_WORLD.recv(source=1)\n")
    r = mpirun(mpi, 2, [VENV_PYTHON, "-m", "mpi4pyve", script], env=env(mpi), timeout=120)
    assert r.returncode not in (0, -999), r.describe()


# one write per line: the ranks' outputs are interleaved
SHOW = ("from mpi4pyve import MPI; import sys; "
        "sys.stdout.write(f'rank {MPI.COMM_WORLD.rank} of {MPI.COMM_WORLD.size} argv {sys.argv[1:]}\\n')")


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("form", ["script", "module", "command", "stdin"])
def test_run_forms(mpi, form, tmp_path):
    (tmp_path / "showme.py").write_text(SHOW + "\n")
    stdin = None
    if form == "script":
        argv = [tmp_path / "showme.py", "a", "b"]
    elif form == "module":
        argv = ["-m", "showme", "a", "b"]
    elif form == "command":
        argv = ["-c", SHOW, "a", "b"]
    else:
        argv = ["-", "a", "b"]
        stdin = SHOW + "\n"
    extra = {"PYTHONPATH": f"{ROOT / 'python'}:{tmp_path}"}
    # mpirun gives its standard input to rank 0 only (MPICH's other ranks wait on theirs)
    np = 1 if form == "stdin" else 2
    r = mpirun(mpi, np, [VENV_PYTHON, "-m", "mpi4pyve", *argv], env=python_env(mpi, extra), timeout=120,
               stdin_text=stdin)
    assert r.returncode == 0, r.describe()
    want = [f"rank {k} of {np} argv ['a', 'b']" for k in range(np)]
    for line in want:
        assert line in r.stdout, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_options(mpi):
    r = mpirun(mpi, 1, [VENV_PYTHON, "-m", "mpi4pyve", "--version"], env=env(mpi), timeout=60)
    assert r.returncode == 0 and "mpi4pyve" in r.stdout and "libmpive" in r.stdout, r.describe()
    r = mpirun(mpi, 1, [VENV_PYTHON, "-m", "mpi4pyve", "--mpi-lib-version"], env=env(mpi), timeout=60)
    assert r.returncode == 0 and ("Open MPI" if mpi.name == "openmpi" else "MPICH") in r.stdout, r.describe()
    r = mpirun(mpi, 1, [VENV_PYTHON, "-m", "mpi4pyve", "-rc", "threads=False", "-c",
                        "from mpi4pyve import MPI; print('level', MPI.Query_thread())"], env=env(mpi), timeout=60)
    assert r.returncode == 0 and "level 0" in r.stdout, r.describe()
    r = mpirun(mpi, 1, [VENV_PYTHON, "-m", "mpi4pyve", "--bogus"], env=env(mpi), timeout=60)
    assert r.returncode != 0 and "usage" in r.stderr, r.describe()


# -- finding libmpive -----------------------------------------------------------------------------

PROBE = """\
import sys
from mpi4pyve import MPI, simve, veo, get_config
comm = MPI.COMM_WORLD
before = veo.stats()["staged_calls"]
a = simve.array([1.0 * comm.rank] * 4)
b = simve.zeros(4)
comm.Sendrecv(a, dest=(comm.rank + 1) % comm.size, recvbuf=b, source=(comm.rank - 1) % comm.size)
assert b.get().tolist() == [1.0 * ((comm.rank - 1) % comm.size)] * 4, b.get()
staged = veo.stats()["staged_calls"] - before
assert staged >= 1, staged
sys.stdout.write(f"rank {comm.rank} ok, libmpive: {get_config()['libmpive']}\\n")
"""


def run_probe(mpi, tmp_path, preload, pythonpath, **extra):
    (tmp_path / "probe.py").write_text(PROBE)
    return mpirun(mpi, 2, [VENV_PYTHON, tmp_path / "probe.py"], preload=preload,
                  env=python_env(mpi, {"PYTHONPATH": str(pythonpath), **extra}), timeout=120)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_preloaded(mpi, tmp_path):
    r = run_probe(mpi, tmp_path, True, ROOT / "python")
    assert r.returncode == 0 and r.stdout.count(f"ok, libmpive: {SHIM} (preloaded or linked)") == 2, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_without_preload_from_the_build_tree(mpi, tmp_path):
    r = run_probe(mpi, tmp_path, False, ROOT / "python")
    assert r.returncode == 0 and r.stdout.count(f"ok, libmpive: {SHIM} (opened by mpi4pyve)") == 2, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("where", ["MPIVE_LIB", "next_to_the_package"])
def test_without_preload_elsewhere(mpi, where, tmp_path):
    # a copy of the package outside the repository: no build tree above it
    pkg = tmp_path / "site"
    shutil.copytree(ROOT / "python" / "mpi4pyve", pkg / "mpi4pyve")
    if where == "MPIVE_LIB":
        lib = tmp_path / "lib" / "libmpive.so"
        lib.parent.mkdir()
        extra = {"MPIVE_LIB": str(lib)}
    else:
        lib = pkg / "mpi4pyve" / "libmpive.so"
        extra = {}
    shutil.copy(SHIM, lib)
    r = run_probe(mpi, tmp_path, False, pkg, **extra)
    assert r.returncode == 0 and r.stdout.count(f"ok, libmpive: {lib} (opened by mpi4pyve)") == 2, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_libmpive_not_found(mpi, tmp_path):
    pkg = tmp_path / "site"
    shutil.copytree(ROOT / "python" / "mpi4pyve", pkg / "mpi4pyve")
    r = mpirun(mpi, 1, [VENV_PYTHON, "-c", "from mpi4pyve import MPI"], preload=False,
               env=python_env(mpi, {"PYTHONPATH": str(pkg), "MPIVE_LIB": str(tmp_path / "nope.so")}), timeout=60)
    assert r.returncode != 0 and "mpi4pyve: cannot find libmpive.so" in r.stderr and "MPIVE_LIB" in r.stderr, \
        r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_mpi4py_imported_first_without_the_shim(mpi):
    code = "import mpi4py.MPI\nfrom mpi4pyve import MPI\n"
    r = mpirun(mpi, 1, [VENV_PYTHON, "-c", code], preload=False, env=env(mpi), timeout=60)
    assert r.returncode != 0 and "mpi4py.MPI was imported before mpi4pyve, without libmpive" in r.stderr, \
        r.describe()
    # with the shim preloaded, the order does not matter
    r = mpirun(mpi, 1, [VENV_PYTHON, "-c", code + "print('fine')"], preload=True, env=env(mpi), timeout=60)
    assert r.returncode == 0 and "fine" in r.stdout, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_tutorial_example(mpi):
    """examples-python/tutorial.py (mpi4py-ve's tutorial) with `python -m mpi4pyve`, without preload."""
    r = mpirun(mpi, 4, [VENV_PYTHON, "-m", "mpi4pyve", ROOT / "examples-python" / "tutorial.py"], preload=False,
               env=env(mpi), timeout=180)
    assert r.returncode == 0 and "tutorial done on 4 ranks" in r.stdout, r.describe()
    assert r.stdout.count(": ok") == 6, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_mpi_library_ahead_of_libmpive_in_the_global_scope(mpi):
    code = f"import ctypes, os\nctypes.CDLL({mpi.libmpi!r}, mode=os.RTLD_GLOBAL)\nfrom mpi4pyve import MPI\n"
    r = mpirun(mpi, 1, [VENV_PYTHON, "-c", code], preload=False, env=env(mpi), timeout=60)
    assert r.returncode != 0 and "defines MPI_Send ahead of libmpive" in r.stderr, r.describe()
