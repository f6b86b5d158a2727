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
