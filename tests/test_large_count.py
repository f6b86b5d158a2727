"""MPI-4 large-count (`_c`) functions with VE buffers, called through weak declarations as
mpi4py's wheels do: staged through PMPI_X_c on MPICH 4.0, and served by the int PMPI_X on Open MPI 4.1
(which has no large-count functions), with MPI_ERR_COUNT for counts that do not fit in an int. On every
MPI of the matrix (tests/harness.py)."""
import re
import subprocess

import pytest

from harness import SHIM, build_c, matrix, run_checked

EXTRA = ["-ldl", "-Wno-stringop-overflow"]


def run_ok(mpi, np, *args):
    return run_checked(mpi, np, [build_c(mpi, "large.c", extra=EXTRA), *args])


@pytest.mark.parametrize("mpi,np", matrix(sub=[2], full=[2, 3]))
def test_large_count_calls_with_ve_buffers(mpi, np, tmp_path):
    r = run_ok(mpi, np, tmp_path / "large.dat")
    native = "yes" in r.stdout.splitlines()[0]
    assert native == mpi.large_count, r.describe()


@pytest.mark.parametrize("mpi", matrix())
def test_counts_beyond_int_are_err_count_without_large_count_mpi(mpi):
    run_ok(mpi, 2, "errors")


def test_every_staged_or_refused_c_function_has_a_large_count_form():
    """The `_c` forms exist for every exported C function that has one in MPI-4.1 (MPICH's headers are
    the reference: they declare the MPI-4.0 ones). A missing one would let mpi4py on MPICH, which calls
    `MPI_X_c` whenever the symbol exists, hand VE buffers to MPICH unstaged."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(SHIM)], check=True, capture_output=True, text=True).stdout
    have = {line.split()[-1] for line in out.splitlines() if " T MPI_" in line}
    inc = "/usr/lib/x86_64-linux-gnu/mpich/include/"
    proto = open(inc + "mpi_proto.h").read() + open(inc + "mpio.h").read()
    with_c = set(re.findall(r"^int (MPI_\w+)_c\(", proto, re.M))
    missing = sorted(f"{n}_c" for n in have if n in with_c and f"{n}_c" not in have)
    # Functions intercepted by branches not yet given the large-count variant are listed by name.
    assert not missing, f"exported without their large-count form: {missing}"
