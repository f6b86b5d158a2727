"""mpi4pyve, VE arrays through the stock mpi4py, under Open MPI and MPICH with 2 and 4 ranks.

Each family of tests/python/mpi_<family>.py runs as pytest on every rank of `mpirun -n N` (see
tests/python/mpiplugin.py): the same operations on numpy arrays and on simulated-VE arrays, compared,
and proof that libmpive staged the VE ones. A failure on any rank fails the run. On the other MPIs of the
matrix (tests/harness.py) the point-to-point and collective families run with 2 ranks."""
import re

import pytest

from harness import MATRIX, ROOT, mpirun, python_env, require

PYDIR = ROOT / "tests" / "python"
FAMILIES = ["p2p", "coll", "pickle", "topo", "pack", "file", "win", "noncontig", "veo"]


def inner_pytest(mpi, np, path, timeout=300, preload=True, extra_env=None):
    """Runs the rank-level test file `path` on `np` ranks; fails unless every rank passed."""
    require(mpi, python=True)
    env = python_env(mpi, {"PYTHONPATH": f"{PYDIR}:{ROOT / 'python'}", **(extra_env or {})})
    argv = [mpi.python, "-m", "pytest", "-p", "mpiplugin", "-p", "no:cacheprovider",
            "-o", "python_files=mpi_*.py", "-o", "faulthandler_timeout=120", "-q", "-rfE", "--color=no",
            "--no-header", str(path)]
    r = mpirun(mpi, np, argv, preload=preload, env=env, timeout=timeout)
    summaries = re.findall(r"^MPIRANK-SUMMARY rank=(\d+) size=(\d+) passed=(\d+) failed=(\d+) "
                           r"error=(\d+) skipped=(\d+)$", r.stdout, re.M)
    assert r.returncode == 0, r.describe()
    assert sorted(int(s[0]) for s in summaries) == list(range(np)), "not every rank reported\n" + r.describe()
    for _, _, passed, failed, error, skipped in summaries:
        # "no tests collected" or skipped tests are failures too
        assert int(passed) > 0 and failed == error == skipped == "0", r.describe()
    return r


SUB_FAMILIES = ["p2p", "coll"]


@pytest.mark.parametrize("mpi,np,family", [pytest.param(m, n, f, id=f"{m}-{n}-{f}") for m in MATRIX
                                           for n in ([2, 4] if m.full else [2])
                                           for f in (FAMILIES if m.full else SUB_FAMILIES)])
def test_ve_arrays(mpi, np, family):
    inner_pytest(mpi, np, PYDIR / f"mpi_{family}.py")
