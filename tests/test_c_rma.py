"""One-sided communication: RMA with VE origin, result and compare buffers and windows in VE
memory, under fence, post/start/complete/wait and passive target (lock/unlock, lock_all with flush,
Win_sync), request-based operations, window attributes, dynamic windows and errors, under Open MPI
and MPICH with 2, 3 and 4 ranks (tests/c/rma.c); the tests parametrized with `matrix` also run on the other
MPIs of the matrix (tests/harness.py) with 2 ranks."""

import pytest

from harness import MPIS, MPI_IDS, build_c, matrix, mpirun, run_checked

# Sections of rma.c that run every placement of origin, result and window memory.
PLACED = ["fence", "atomics", "pscw", "passive", "rforms"]


def run_ok(mpi, np, *args, **kw):
    return run_checked(mpi, np, [build_c(mpi, "rma.c"), *args], **kw)


@pytest.mark.parametrize("mpi,np", matrix(sub=[2], full=[2, 3, 4]))
@pytest.mark.parametrize("section", PLACED)
def test_rma_with_ve_buffers_and_windows(mpi, np, section):
    run_ok(mpi, np, section)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 3])
@pytest.mark.parametrize("section", ["attr", "errors", "largecount"])
def test_rma_attributes_dynamic_windows_and_errors(mpi, np, section):
    run_ok(mpi, np, section)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_rma_expectations_hold_on_the_plain_mpi(mpi):
    """The host placement without libmpive: the test's expectations are the real MPI's behaviour."""
    run_ok(mpi, 3, *PLACED, preload=False, env={"VT_HOST_ONLY": "1"})


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_win_attach_of_ve_memory_aborts_with_message_under_default_handler(mpi):
    r = mpirun(mpi, 2, [build_c(mpi, "rma.c"), "fatal"], timeout=60)
    assert r.returncode != 0, r.describe()
    assert "libmpive: MPI_Win_attach: not supported with VE buffers" in r.stderr, r.describe()
    assert "returned under MPI_ERRORS_ARE_FATAL" not in r.stderr, r.describe()
