"""Blocking point-to-point and collectives with VE buffers, errors, refused calls, host
transparency, preloading and linking, under Open MPI and MPICH with 2, 3 and 4 ranks; the tests
parametrized with `matrix` also run on the other MPIs of the matrix (tests/harness.py), with 3 ranks."""

from pathlib import Path

import pytest

from harness import MPIS, MPI_IDS, ROOT, build_c, matrix, mpirun, run_checked

NPS = [2, 3, 4]


def run_ok(mpi, np, exe, *args, **kw):
    return run_checked(mpi, np, [exe, *args], **kw)


@pytest.mark.parametrize("mpi,np", matrix(sub=[3], full=NPS))
@pytest.mark.parametrize("prog", ["p2p_blocking", "coll_blocking", "intercomm", "datatypes"])
def test_staged_blocking(mpi, np, prog):
    # MPIVE_CHECK_COVERAGE=1: the shim also checks its decoding of every derived datatype against
    # what the real MPI's unpack touches.
    run_ok(mpi, np, build_c(mpi, f"{prog}.c"), env={"MPIVE_CHECK_COVERAGE": "1"})


@pytest.mark.parametrize("mpi", matrix())
def test_errors_return_with_class_and_message(mpi):
    run_ok(mpi, 2, build_c(mpi, "errors.c"), "return")


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_missing_libveo_is_a_clear_error(mpi):
    run_ok(mpi, 2, build_c(mpi, "errors.c"), "noveo", env={"MPIVE_VEO_LIB": "/nonexistent/libveo.so.1"})


REFUSED = ["MPI_Bsend", "MPI_Ibsend", "MPI_Bsend_init", "MPI_Buffer_attach", "MPI_Reduce_local",
           "MPI_Pack_external", "MPI_Unpack_external"]


@pytest.mark.parametrize("mpi", matrix())
@pytest.mark.parametrize("fn", REFUSED)
def test_refused_call_aborts_with_message_under_default_handler(mpi, fn):
    r = mpirun(mpi, 2, [build_c(mpi, "errors.c"), "fatal", fn], timeout=60)
    assert r.returncode != 0, r.describe()
    assert f"libmpive: {fn}: not supported with VE buffers" in r.stderr, r.describe()
    assert "returned under MPI_ERRORS_ARE_FATAL" not in r.stderr, r.describe()


@pytest.mark.parametrize("mpi,np", matrix(sub=[2], full=[2, 3]))
def test_host_only_program_is_unchanged_by_the_preload(mpi, np):
    exe = build_c(mpi, "host_only.c")
    with_shim = mpirun(mpi, np, [exe])
    without = mpirun(mpi, np, [exe], preload=False)
    assert with_shim.returncode == 0 and without.returncode == 0, with_shim.describe() + without.describe()
    assert "checksum" in without.stdout
    assert with_shim.stdout == without.stdout


EXAMPLES = [("ve_pingpong", 2, "round trips"), ("ve_allreduce", 4, "ve_allreduce")]


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("example,np,word", EXAMPLES)
def test_examples_with_preload(mpi, example, np, word):
    r = mpirun(mpi, np, [build_c(mpi, ROOT / "examples-c" / f"{example}.c")])
    assert r.returncode == 0 and word in r.stdout and ": ok" in r.stdout, r.describe()


@pytest.mark.parametrize("mpi", matrix())
def test_ve_addresses_crash_without_the_shim(mpi):
    """The simulated VE's addresses are not host-dereferenceable: without the shim MPI faults."""
    r = mpirun(mpi, 2, [build_c(mpi, ROOT / "examples-c" / "ve_pingpong.c")], preload=False, timeout=60)
    assert r.returncode != 0 and ": ok" not in r.stdout, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("example,np,word", EXAMPLES)
def test_linking_the_shim_instead_of_preloading(mpi, example, np, word):
    exe = build_c(mpi, ROOT / "examples-c" / f"{example}.c", name=f"{example}_linked", link_shim=True)
    r = mpirun(mpi, np, [exe], preload=False)
    assert r.returncode == 0 and ": ok" in r.stdout, r.describe()


@pytest.mark.parametrize("mpi", matrix())
def test_linked_blocking_suite(mpi):
    exe = build_c(mpi, "coll_blocking.c", name="coll_blocking_linked", link_shim=True)
    run_ok(mpi, 3, exe, preload=False)


@pytest.mark.parametrize("mpi", matrix())
def test_mpive_mpi_lib_names_the_real_library(mpi):
    """MPIVE_MPI_LIB opens the named library; one that is not an MPI gives a clear message, no crash."""
    exe = build_c(mpi, ROOT / "examples-c" / "ve_pingpong.c")
    r = mpirun(mpi, 2, [exe], env={"MPIVE_MPI_LIB": mpi.libmpi})
    assert r.returncode == 0 and ": ok" in r.stdout, r.describe()
    r = mpirun(mpi, 2, [exe], env={"MPIVE_MPI_LIB": str(ROOT / "target" / "release" / "libveo.so")}, timeout=60)
    assert r.returncode != 0, r.describe()
    assert "does not define PMPI_Init" in r.stderr and "MPIVE_MPI_LIB" in r.stderr, r.describe()


@pytest.mark.parametrize("mpi", matrix())
def test_programs_load_this_mpi(mpi):
    """The test programs built with `mpi`'s wrapper load its library (by their rpath), not another of
    the same soname: ldd resolves the soname to the file in `mpi.libdir`."""
    import subprocess
    exe = build_c(mpi, "host_only.c")
    out = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=True).stdout
    found = {line.split()[0]: line.split("=>")[1].split()[0] for line in out.splitlines() if "=>" in line}
    assert mpi.libmpi in found, out
    if mpi.libdir is not None:
        assert Path(found[mpi.libmpi]).resolve() == (mpi.libdir / mpi.libmpi).resolve(), out
