"""Issue 6: mpi4pyve, VE arrays through the stock mpi4py, under Open MPI and MPICH with 2 and 4 ranks.

Each family of tests/python/mpi_<family>.py runs as pytest on every rank of `mpirun -n N` (see
tests/python/mpiplugin.py): the same operations on numpy arrays and on simulated-VE arrays, compared,
and proof that libmpive staged the VE ones. A failure on any rank fails the run."""
import re

import pytest

from harness import MPIS, MPI_IDS, ROOT, VENV_PYTHON, mpirun, python_env

PYDIR = ROOT / "tests" / "python"
FAMILIES = ["p2p", "coll", "pickle", "topo", "pack", "file", "win", "noncontig", "veo"]


def inner_pytest(mpi, np, path, timeout=300, preload=True, extra_env=None):
    """Runs the rank-level test file `path` on `np` ranks; fails unless every rank passed."""
    env = python_env(mpi, {"PYTHONPATH": f"{PYDIR}:{ROOT / 'python'}", **(extra_env or {})})
    argv = [VENV_PYTHON, "-m", "pytest", "-p", "mpiplugin", "-p", "no:cacheprovider",
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


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 4])
@pytest.mark.parametrize("family", FAMILIES)
def test_ve_arrays(mpi, np, family):
    inner_pytest(mpi, np, PYDIR / f"mpi_{family}.py")
