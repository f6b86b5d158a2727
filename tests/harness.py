"""Building and running MPI programs under both MPIs, with or without libmpive.

Every MPI test of the suite goes through `build_c` and `mpirun` so that the flags, the environment and
the timeouts are the same everywhere. The two MPIs are installed side by side (Debian's openmpi-bin
and mpich packages): mpicc.openmpi / mpirun.openmpi and mpicc.mpich / mpirun.mpich.
"""
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "target" / "release"
SHIM = RELEASE / "libmpive.so"
SIMVE = RELEASE / "libveo.so"
BUILD = ROOT / "build" / "tests"
CDIR = ROOT / "tests" / "c"
FDIR = ROOT / "tests" / "fortran"


@dataclass(frozen=True)
class Mpi:
    name: str      # openmpi | mpich
    cc: str
    fc: str
    run: str
    libmpi: str    # soname of the C library

    def __str__(self):
        return self.name


MPIS = [
    Mpi("openmpi", "mpicc.openmpi", "mpifort.openmpi", "mpirun.openmpi", "libmpi.so.40"),
    Mpi("mpich", "mpicc.mpich", "mpifort.mpich", "mpirun.mpich", "libmpich.so.12"),
]
MPI_IDS = [m.name for m in MPIS]


def simve_link_dir():
    """target/release with a libveo.so.1 name for the loader (the soname of the simulated libveo)."""
    link = RELEASE / "libveo.so.1"
    if not link.exists():
        link.symlink_to("libveo.so")
    return RELEASE


def _stale(out: Path, inputs):
    if not out.exists():
        return True
    t = out.stat().st_mtime
    return any(Path(i).stat().st_mtime > t for i in inputs)


def build_c(mpi: Mpi, src, name=None, extra=(), link_shim=False):
    """Compiles a C test or example with `mpi`'s compiler wrapper against the simulated libveo."""
    src = Path(src)
    if not src.is_absolute():
        src = (CDIR / src) if (CDIR / src).exists() else ROOT / src
    out = BUILD / mpi.name / (name or src.stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    lib = simve_link_dir()
    deps = [src, CDIR / "vetest.h", SIMVE] + ([SHIM] if link_shim else [])
    if _stale(out, deps):
        cmd = [mpi.cc, "-g", "-O1", "-Wall", "-Wno-unused-function", str(src), "-o", str(out),
               f"-I{CDIR}", f"-I{ROOT / 'simve' / 'include'}", f"-I{ROOT / 'include'}", *extra]
        if link_shim:
            # the shim ahead of the MPI library, found through the rpath
            cmd += [f"-L{lib}", "-lmpive"]
        cmd += [f"-L{lib}", "-lveo", f"-Wl,-rpath,{lib}"]
        subprocess.run(cmd, check=True)
    return out


# Fortran binding styles: name -> preprocessor flags for the test programs (tests/fortran/style.h).
# gfortran 10+ rejects calls of one implicit-interface routine with different buffer types (mpif.h)
# unless told otherwise; that is independent of libmpive.
FSTYLES = {"mpif": ["-fallow-argument-mismatch"], "mpi": ["-DSTYLE_MPI"], "f08": ["-DSTYLE_F08"]}


def build_f(mpi: Mpi, src, style="mpi", name=None, extra=(), modules=("vetest.F90",), link_shim=False):
    """Compiles a Fortran test (tests/fortran/*.F90, preprocessed, in binding `style`: mpif, mpi or f08)
    or example with `mpi`'s mpifort against the simulated libveo. `modules` are compiled first, in order
    (relative to tests/fortran unless absolute)."""
    src = Path(src)
    if not src.is_absolute():
        src = (FDIR / src) if (FDIR / src).exists() else ROOT / src
    mods = [m if Path(m).is_absolute() else FDIR / m for m in modules]
    out = BUILD / mpi.name / (name or f"{src.stem}_{style}")
    moddir = BUILD / mpi.name / f"fmod_{out.name}"
    moddir.mkdir(parents=True, exist_ok=True)
    lib = simve_link_dir()
    deps = [src, *mods, *FDIR.glob("*.h"), *FDIR.glob("*.inc"), SIMVE] + ([SHIM] if link_shim else [])
    if _stale(out, deps):
        cmd = [mpi.fc, "-g", "-O1", "-cpp", *FSTYLES.get(style, []), f"-I{FDIR}", f"-J{moddir}",
               *map(str, mods), str(src), "-o", str(out), *extra]
        if link_shim:
            cmd += [f"-L{lib}", "-lmpive"]
        cmd += [f"-L{lib}", "-lveo", f"-Wl,-rpath,{lib}"]
        subprocess.run(cmd, check=True, cwd=moddir)
    return out


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    cmd: list

    def describe(self):
        return (f"command: {' '.join(map(str, self.cmd))}\nexit status: {self.returncode}\n"
                f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-6000:]}")


def base_env(preload=True, extra=None):
    env = dict(os.environ)
    env.update({
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
        # keep Open MPI's help messages per process, so that tests can read them
        "OMPI_MCA_orte_base_help_aggregate": "0",
        "MPIVE_VEO_LIB": str(SIMVE),
        # Ranks wait by polling; on an oversubscribed 2-core machine let them yield the CPU.
        "OMPI_MCA_mpi_yield_when_idle": "1",
        "MPIR_CVAR_POLLS_BEFORE_YIELD": "100",
    })
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = str(SHIM)
    env.update(extra or {})
    return env


FORWARD = ("LD_PRELOAD", "MPIVE_", "SIMVE_", "PYTHON", "MPI4PY", "VT_", "PATH", "LD_LIBRARY_PATH", "HOME", "VIRTUAL_ENV", "MPIR_CVAR_", "UCX_")


def mpirun(mpi: Mpi, np: int, argv, preload=True, env=None, timeout=180, stdin_text=None):
    """Runs `argv` on `np` ranks of `mpi`; returns a Result (never raises on failure or timeout).
    `stdin_text` is given to mpirun's standard input (both MPIs forward it to rank 0)."""
    e = base_env(preload, env)
    cmd = [mpi.run, "-np", str(np)]
    if mpi.name == "openmpi":
        # Open MPI forwards only the variables named with -x
        for k in sorted(e):
            if k.startswith(FORWARD):
                cmd += ["-x", k]
    cmd += [str(a) for a in argv]
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, cwd=ROOT,
                         stdin=subprocess.PIPE if stdin_text is not None else None)
    try:
        out, err = p.communicate(input=stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f"\n*** TIMEOUT after {timeout}s: killed ***"
        return Result(-999, out, err, cmd)
    return Result(p.returncode, out, err, cmd)


def run_checked(mpi: Mpi, np: int, argv, **kw):
    """Runs a test program (tests/c/vetest.h or tests/fortran/vetest.F90) and asserts that it exited
    0 and printed its summary line with at least one check and no failure."""
    r = mpirun(mpi, np, argv, **kw)
    assert r.returncode == 0, r.describe()
    m = re.search(r"(\d+) checks on \d+ ranks, (\d+) failures", r.stdout)
    assert m, "no summary line\n" + r.describe()
    assert int(m.group(1)) > 0 and int(m.group(2)) == 0, r.describe()
    return r


def have(cmd):
    return shutil.which(cmd) is not None


# -- Python programs (mpi4py / mpi4pyve) ------------------------------------------------------------

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _system_lib(soname):
    """Path of a system library from the loader cache (ldconfig -p), or None."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split()[0] == soname and "x86-64" in parts[0]:
            return parts[1]
    return None


def mpich_abi_dir():
    """build/mpich-abi holding libmpi.so.12 -> Debian's libmpich.so.12.

    mpi4py's binary wheels link their MPICH-ABI extension against `libmpi.so.12` (the soname of
    MPICH's own builds); Debian's MPICH package only ships libmpich.so.12. The directory goes on
    LD_LIBRARY_PATH for Python programs under MPICH."""
    d = ROOT / "build" / "mpich-abi"
    link = d / "libmpi.so.12"
    if not link.exists():
        target = _system_lib("libmpich.so.12") or "/usr/lib/x86_64-linux-gnu/libmpich.so.12"
        d.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(target)
        except FileExistsError:  # another test made it meanwhile
            pass
    return d


def python_env(mpi: Mpi, extra=None):
    """Environment for mpi4py's wheels under `mpi`: which MPI library and ABI to load."""
    env = {"MPI4PY_LIBMPI": mpi.libmpi, "MPI4PY_MPIABI": mpi.name, "PYTHONUNBUFFERED": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    if mpi.name == "mpich":
        old = os.environ.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = str(mpich_abi_dir()) + (os.pathsep + old if old else "")
    env.update(extra or {})
    return env
