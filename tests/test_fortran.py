"""Issue 7: Fortran programs (mpif.h, use mpi, use mpi_f08) with VE buffers under Open MPI and MPICH,
built with gfortran against the simulated VE and run with libmpive preloaded."""
import re
import subprocess

import pytest

from harness import FSTYLES, MPIS, MPI_IDS, ROOT, SHIM, build_f, mpirun

STYLES = list(FSTYLES)


def flags(mpi, style):
    # MPICH 4.0's own mpi_f08 Waitany/Waitsome return 0-based indices; the shim keeps its behaviour.
    return ["-DINDEX0"] if (mpi.name, style) == ("mpich", "f08") else []


def run_f(mpi, np, prog, style, *args, **kw):
    exe = build_f(mpi, f"{prog}.F90", style, extra=flags(mpi, style))
    r = mpirun(mpi, np, [exe, *args], **kw)
    assert r.returncode == 0, r.describe()
    lines = re.findall(r"^FT \S+ rank \d+: (\d+) checks, (\d+) failures$", r.stdout, re.M)
    assert len(lines) == np, "a rank did not report\n" + r.describe()
    assert sum(int(c) for c, _ in lines) > 0 and all(f == "0" for _, f in lines), r.describe()
    return r


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("style", STYLES)
def test_point_to_point(mpi, style):
    run_f(mpi, 2, "f_p2p", style)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("np", [2, 3])
def test_collectives(mpi, style, np):
    run_f(mpi, np, "f_coll", style)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("style", STYLES)
def test_refused_calls_return_unsupported_in_ierror(mpi, style):
    run_f(mpi, 2, "f_errors", style)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("style", STYLES)
def test_refused_call_aborts_under_default_handler(mpi, style):
    exe = build_f(mpi, "f_errors.F90", style, extra=flags(mpi, style))
    r = mpirun(mpi, 2, [exe, "fatal"], timeout=60)
    assert r.returncode != 0, r.describe()
    assert "libmpive: MPI_Bsend: not supported with VE buffers" in r.stderr, r.describe()
    assert "returned under MPI_ERRORS_ARE_FATAL" not in r.stdout, r.describe()
