"""Which ABI libmpive takes a library for, and what differs between the ABIs.

- abi_handles.c (handle arrays, statuses, sentinels, derived types, Alltoallw, topology, window
  model, refused-call classes, with VE buffers) on every MPI of the matrix, the MPI-5 standard ABI
  included;
- the identification itself, on a stand-in library (tests/c/abi_fake_mpi.c) whose version string and
  MPI_Abi_get_version answer the test chooses: a library libmpive does not know is refused at the first
  call with a message naming it, a standard-ABI library is taken as such, an unknown major version of
  the standard ABI is refused."""
import os
import subprocess

import pytest

from harness import BUILD, CDIR, SHIM, SIMVE, build_c, matrix, run_checked


@pytest.mark.parametrize("mpi,np", matrix(sub=[3], full=[2, 3]))
def test_abi_sensitive_calls_with_ve_buffers(mpi, np):
    exe = build_c(mpi, "abi_handles.c", extra=("-Wno-stringop-overflow",))
    run_checked(mpi, np, [exe], env={"MPIVE_CHECK_COVERAGE": "1"})


def fake_program():
    out = BUILD / "fake"
    out.mkdir(parents=True, exist_ok=True)
    lib, exe = out / "libfakempi.so", out / "abi_fake_main"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", str(CDIR / "abi_fake_mpi.c"), "-o", str(lib)], check=True)
    subprocess.run(["cc", "-O1", str(CDIR / "abi_fake_main.c"), "-o", str(exe), f"-L{out}", "-lfakempi",
                    f"-Wl,-rpath,{out}"], check=True)
    return exe


def run_fake(version, abi_version=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPIVE_", "FAKE_"))}
    env.update({"LD_PRELOAD": str(SHIM), "MPIVE_VEO_LIB": str(SIMVE), "FAKE_MPI_VERSION": version})
    if abi_version:
        env["FAKE_ABI_VERSION"] = abi_version
    return subprocess.run([str(fake_program())], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("version,abi_version,why", [
    ("Mystery MPI 1.0", None, "is not one libmpive knows"),
    ("Mystery MPI 1.0", "-1.-1", "is not one libmpive knows"),
    ("MPICH Version: 9.0", "2.0", "knows version 1 only"),
    ("MPICH Version: 9.0", "0.0", "neither the standard ABI"),
])
def test_unknown_library_is_refused_naming_it(version, abi_version, why):
    r = run_fake(version, abi_version)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "MPI_Init returned" not in r.stdout, r.stdout
    assert f"libmpive: the MPI library (" in r.stderr and version in r.stderr and why in r.stderr, r.stderr


@pytest.mark.parametrize("version,abi_version", [
    ("Mystery MPI 1.0", "1.0"),            # any vendor's standard ABI
    ("MPICH Version: 5.0.2", "-1.-1"),     # MPICH's own ABI
    ("Intel(R) MPI Library 2021.19.0 for Linux* OS", "-1.-1"),  # Intel MPI in the MPICH ABI
    ("MPICH Version: 4.0.2", None),        # (the stand-in then answers -1.-1) the version string decides
])
def test_known_abis_are_accepted(version, abi_version):
    r = run_fake(version, abi_version)
    assert r.returncode == 0 and "MPI_Init returned 0" in r.stdout, (r.stdout, r.stderr)
