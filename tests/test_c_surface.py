"""Issue 5 (neighbor collectives, Pack/Unpack, MPI-IO): C programs with VE, host and mixed buffers,
checked byte for byte against the same operations on host buffers, under Open MPI and MPICH."""
import re
import shutil

import pytest

from harness import MPIS, MPI_IDS, ROOT, build_c, mpirun


def run_ok(mpi, np, exe, *args, **kw):
    r = mpirun(mpi, np, [exe, *args], **kw)
    assert r.returncode == 0, r.describe()
    m = re.search(r"(\d+) checks on \d+ ranks, (\d+) failures", r.stdout)
    assert m, "no summary line\n" + r.describe()
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, r.describe()
    return r


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 3, 4])
def test_neighbor_collectives(mpi, np):
    run_ok(mpi, np, build_c(mpi, "neighbor.c"))


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 3])
def test_pack_unpack(mpi, np):
    run_ok(mpi, np, build_c(mpi, "pack.c"))
