"""The C boundary: a panic inside libmpive becomes an MPI error through the object's error handler (or
the documented error value of a `mpive_*` function), and the program goes on.

The library's fault hook (`ffi::fault_point`) exists only in a build with the cargo feature
`fault-injection`: there MPIVE_TEST_PANIC=FUNC makes the exported function FUNC panic on its first entry. This
module builds that copy into target/fault (once per session; cargo rebuilds only what changed) and
preloads it instead of target/release/libmpive.so, which must not contain the hook.
"""
import fcntl
import shutil
import subprocess

import pytest

import re

from harness import MPIS, MPI_IDS, ROOT, SHIM, build_c, build_f, mpirun, run_checked

FAULT_DIR = ROOT / "target" / "fault"
FAULT_SHIM = FAULT_DIR / "release" / "libmpive.so"
VAR = b"MPIVE_TEST_PANIC"
# the panic message of the hook, which the error string must carry
FAULT = "fault injected into {}"


@pytest.fixture(scope="session")
def fault_shim():
    """target/fault/release/libmpive.so, built with the fault hook (a lock keeps parallel workers
    from building it twice at once)."""
    FAULT_DIR.mkdir(parents=True, exist_ok=True)
    with open(FAULT_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cmd = ["cargo", "build", "--release", "--lib", "-p", "mpive", "--features", "fault-injection",
               "--target-dir", str(FAULT_DIR)]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-4000:]}"
    return FAULT_SHIM


# kind of entry -> the exported function that panics (the name in the error message) and extra
# environment. Rank 0 makes the call (rank 1 for `pipeline`), with a VE buffer unless said otherwise.
KINDS = {
    "blocking": ("MPI_Send", {}),                  # MPI_Send from VE memory
    "nonblocking": ("MPI_Isend", {}),              # MPI_Isend from VE memory
    "persistent": ("MPI_Start", {}),               # MPI_Send_init from VE memory, then MPI_Start
    "completion": ("MPI_Wait", {}),                # MPI_Wait on the request of a VE MPI_Irecv
    "large-count": ("MPI_Send_c", {}),             # MPI_Send_c from VE memory
    "refused": ("MPI_Bsend", {}),                  # MPI_Bsend from VE memory (refused by libmpive)
    "file": ("MPI_File_write_all_begin", {}),      # split collective write from VE memory
    "rma": ("MPI_Put", {}),                        # MPI_Put from VE memory between fences
    "rma-sync": ("MPI_Win_fence", {}),             # MPI_Win_fence of a window in VE memory, every rank
    "win-attr": ("MPI_Win_get_attr", {}),          # MPI_WIN_BASE of a window in VE memory
    "error-string": ("MPI_Error_string", {}),      # the error string of a predefined code
    "capi": ("mpive_hmemcpy", {}),                 # libmpive's own API: returns -1
    # a host MPI_Recv of 1 MiB in pipelined mode: the host fast path jumps to the protocol's interposer
    "pipeline": ("MPI_Recv", {"MPIVE_PIPELINE": "1", "MPIVE_PIPELINE_THRESHOLD": "64K"}),
}


def run_kind(mpi, kind, lib, func=None, env=None, tmp_path=None):
    exe = build_c(mpi, "panic.c", extra=("-ldl",))
    func = func or KINDS[kind][0]
    argv = [exe, kind, func] + ([tmp_path] if tmp_path else [])
    e = {"LD_PRELOAD": str(lib), "MPIVE_TEST_PANIC": func, **KINDS[kind][1], **(env or {})}
    return run_checked(mpi, 2, argv, env=e, timeout=120)


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_panic_becomes_mpi_error(mpi, kind, fault_shim, tmp_path):
    if kind == "large-count" and not mpi.large_count:
        pytest.skip(f"{mpi} has no MPI_Send_c")
    r = run_kind(mpi, kind, fault_shim, tmp_path=tmp_path if kind == "file" else None)
    func = KINDS[kind][0]
    # the panic happened (the hook ran) and was caught: its message is in the output, no abort
    assert FAULT.format(func) in r.stderr, r.describe()
    if kind == "capi":
        # a function without an MPI object reports the internal error on stderr
        assert f"libmpive: {func}: internal error in libmpive" in r.stderr, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("style", ["mpif", "mpi"])
def test_panic_in_fortran_entry_becomes_mpi_error(mpi, style, fault_shim):
    """MPI_Send with a VE buffer from Fortran (mpif.h, use mpi): its entry point `mpi_send_` panics."""
    func = "mpi_send"
    exe = build_f(mpi, "panic.F90", style)
    r = mpirun(mpi, 2, [exe, func], env={"LD_PRELOAD": str(fault_shim), "MPIVE_TEST_PANIC": func}, timeout=120)
    assert r.returncode == 0, r.describe()
    lines = re.findall(r"FT \S+ rank \d+: (\d+) checks, (\d+) failures", r.stdout)
    assert len(lines) == 2, "a rank did not report\n" + r.describe()
    assert sum(int(c) for c, _ in lines) > 0 and all(f == "0" for _, f in lines), r.describe()
    assert FAULT.format(func) in r.stderr, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_hmemcpy_of_a_huge_size_fails_without_abort(mpi):
    """mpive_hmemcpy between VE addresses copies through a bounded host buffer: a size beyond any
    memory is an error (-1), not an allocation that aborts the process."""
    exe = build_c(mpi, "panic.c", extra=("-ldl",))
    run_checked(mpi, 2, [exe, "capi", "none"], timeout=120)


def test_release_library_has_no_fault_hook(fault_shim):
    """The hook and its variable's name are only in the test build."""
    assert SHIM.exists(), "build target/release/libmpive.so first (cargo build --release)"
    assert VAR not in SHIM.read_bytes(), f"{SHIM} contains {VAR.decode()}: the fault hook is in the release library"
    assert VAR in fault_shim.read_bytes(), f"{fault_shim} lacks {VAR.decode()}: the fault hook is not built"
    if shutil.which("nm"):
        syms = subprocess.run(["nm", "-C", str(SHIM)], capture_output=True, text=True).stdout
        assert "fault_point" not in syms, "ffi::fault_point is in the release library"
