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
from typing import Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "target" / "release"
SHIM = RELEASE / "libmpive.so"
SIMVE = RELEASE / "libveo.so"
BUILD = ROOT / "build" / "tests"
CDIR = ROOT / "tests" / "c"
FDIR = ROOT / "tests" / "fortran"


# The MPI builds from PyPI wheels (scripts/setup.sh installs them, pinned, into build/mpis/<venv>).
MPIS_DIR = ROOT / "build" / "mpis"
IMPI = MPIS_DIR / "impi"


@dataclass(frozen=True)
class Mpi:
    """One entry of the test matrix: an MPI library in one of its ABIs.

    `cc`, `fc` and `run` are commands on PATH or absolute paths; `fc` is None where the library ships no
    Fortran bindings usable with gfortran. `libmpi` is the soname of the C library that programs built
    with `cc` load (what MPIVE_MPI_LIB may name); `libdir` is the directory holding it where that is not
    the system's (put first on LD_LIBRARY_PATH for Python, whose mpi4py loads the library by soname).
    `abi` is the ABI mpi4py is told (MPI4PY_MPIABI): openmpi, mpich or mpiabi (the MPI-5 standard ABI),
    and `python` the interpreter whose mpi4py was built for that ABI. `full`: the whole suite runs on it;
    the other entries run the representative part (tests parametrized over MATRIX)."""
    name: str      # matrix id: openmpi, mpich, openmpi5, mpich5, mpich5-abi, impi, impi-abi
    cc: str
    fc: Optional[str]
    run: str
    libmpi: str    # soname of the C library
    family: str = ""          # openmpi | mpich | impi
    abi: str = ""             # openmpi | mpich | mpiabi
    version: str = ""
    libdir: Optional[Path] = None
    ccflags: Tuple[str, ...] = ()
    fcflags: Tuple[str, ...] = ()
    fstyles: Tuple[str, ...] = ("mpif", "mpi", "f08")  # the Fortran bindings usable with gfortran
    runflags: Tuple[str, ...] = ()
    runenv: Tuple[Tuple[str, str], ...] = ()
    full: bool = False
    mpi4: bool = True         # its mpi.h says MPI_VERSION 4 or more (the C tests then use MPI-4 calls)
    persistent_coll: bool = True  # the library has the MPI-4 persistent collectives (PMPI_Bcast_init)
    large_count: bool = True  # the real library has the MPI-4 `_c` functions
    python: Path = ROOT / ".venv" / "bin" / "python"
    install: str = ""         # how to get it, for the skip reason

    def __str__(self):
        return self.name

    def missing(self, python=False):
        """Why this MPI cannot run here (with `python`: run mpi4py), or None when it can."""
        for tool in (self.cc, self.run):
            if shutil.which(tool) is None:
                return f"{self.name}: {tool} not found ({self.install})"
        if self.libdir is not None and not (self.libdir / self.libmpi).exists():
            return f"{self.name}: {self.libdir / self.libmpi} not found ({self.install})"
        if python and not Path(self.python).exists():
            return f"{self.name}: {self.python} not found ({self.install})"
        venv = Path(self.python).parents[1]
        if python and venv.parent == MPIS_DIR and not (venv / ".pinned").exists():
            return f"{self.name}: {venv} is not complete ({self.install})"
        return None


_WHEEL = "run scripts/setup.sh: it installs the pinned wheel into build/mpis"
_MPIABI_PY = MPIS_DIR / "mpi4py-mpiabi" / "bin" / "python"
# mpi4py built with Intel MPI's mpi_abi.h: its MPI_ERRORS_RETURN is MPICH's MPI_ERRORS_ABORT and the
# other way round (README, known issues)
_MPIABI_IMPI_PY = MPIS_DIR / "mpi4py-mpiabi-impi" / "bin" / "python"
MATRIX = [
    Mpi("openmpi", "mpicc.openmpi", "mpifort.openmpi", "mpirun.openmpi", "libmpi.so.40", "openmpi", "openmpi",
        "4.1", full=True, mpi4=False, persistent_coll=False, large_count=False, install="apt-get install openmpi-bin libopenmpi-dev"),
    Mpi("mpich", "mpicc.mpich", "mpifort.mpich", "mpirun.mpich", "libmpich.so.12", "mpich", "mpich", "4.0",
        full=True, install="apt-get install mpich libmpich-dev"),
    Mpi("openmpi5", str(MPIS_DIR / "openmpi5/bin/mpicc"), None, str(MPIS_DIR / "openmpi5/bin/mpirun"),
        "libmpi.so.40", "openmpi", "openmpi", "5.0", libdir=MPIS_DIR / "openmpi5/lib",
        runflags=("--allow-run-as-root", "--oversubscribe"), mpi4=False, large_count=False, install=_WHEEL),
    Mpi("mpich5", str(MPIS_DIR / "mpich5/bin/mpicc"), None, str(MPIS_DIR / "mpich5/bin/mpirun"), "libmpi.so.12",
        "mpich", "mpich", "5.0", libdir=MPIS_DIR / "mpich5/lib", install=_WHEEL),
    Mpi("mpich5-abi", str(MPIS_DIR / "mpich5/bin/mpicc_abi"), None, str(MPIS_DIR / "mpich5/bin/mpirun"),
        "libmpi_abi.so.1", "mpich", "mpiabi", "5.0", libdir=MPIS_DIR / "mpich5/lib", python=_MPIABI_PY,
        install=_WHEEL + ", and mpi4py built for the standard ABI"),
    # Intel MPI: its mpicc needs I_MPI_ROOT; its launcher is mpiexec.hydra of its own bin/ (its mpirun
    # script runs the first mpiexec.hydra on PATH, which may be MPICH's: then MPI_Init fails in OFI).
    # Its gfortran modules are in include/mpi/gfortran/<version> (its mpif90 names include/gfortran/...);
    # they have `use mpi` but no mpi_f08 (that one is for Intel's compilers only).
    Mpi("impi", str(IMPI / "bin/mpicc"), str(IMPI / "bin/mpif90"), str(IMPI / "bin/mpiexec.hydra"), "libmpi.so.12",
        "impi", "mpich", "2021.19", libdir=IMPI / "lib", fcflags=(f"-I{IMPI}/include/mpi/gfortran/12.4.0",),
        fstyles=("mpif", "mpi"),
        runenv=(("I_MPI_ROOT", str(IMPI)), ("I_MPI_FABRICS", "shm"), ("I_MPI_PIN", "0")), install=_WHEEL),
    Mpi("impi-abi", str(IMPI / "bin/mpicc"), None, str(IMPI / "bin/mpiexec.hydra"), "libmpi_abi.so.1", "impi",
        "mpiabi", "2021.19", libdir=IMPI / "lib", ccflags=("-mpi_abi",), python=_MPIABI_IMPI_PY,
        runenv=(("I_MPI_ROOT", str(IMPI)), ("I_MPI_FABRICS", "shm"), ("I_MPI_PIN", "0")),
        install=_WHEEL + ", and mpi4py built for the standard ABI"),
]
# The whole suite runs on the MPIs marked `full` (Debian's Open MPI 4.1 and MPICH 4.0); the tests
# parametrized over MATRIX (the representative part: blocking and nonblocking point-to-point and
# collectives, completion, large-count, refused calls, mpi4py's own suite) run on every entry.
MPIS = [m for m in MATRIX if m.full]
MPI_IDS = [m.name for m in MPIS]
MATRIX_IDS = [m.name for m in MATRIX]
BY_NAME = {m.name: m for m in MATRIX}


def matrix(sub=(), full=None):
    """pytest parameters for the tests that run on the whole matrix: every entry, and, when the test is
    also parametrized by rank counts, the pairs (mpi, np) with `full` rank counts on the full-suite MPIs
    and `sub` on the others (fewer runs to keep CI time)."""
    import pytest
    if full is None:
        return [pytest.param(m, id=m.name) for m in MATRIX]
    return [pytest.param(m, n, id=f"{m.name}-{n}") for m in MATRIX for n in (full if m.full else sub)]


def ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(mpi: Mpi, python=False):
    """Skips the calling test when `mpi` (with `python`: and an mpi4py for its ABI) is not installed,
    with the reason; in CI (CI=true) fails it."""
    import pytest
    why = mpi.missing(python)
    if why:
        if ci():
            pytest.fail(f"{why}; in CI every MPI of the matrix must be installed")
        pytest.skip(why)


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
        cmd = [mpi.cc, *mpi.ccflags, "-g", "-O1", "-Wall", "-Wno-unused-function", str(src), "-o", str(out),
               f"-I{CDIR}", f"-I{ROOT / 'simve' / 'include'}", f"-I{ROOT / 'include'}", *extra]
        if link_shim:
            # the shim ahead of the MPI library, found through the rpath
            cmd += [f"-L{lib}", "-lmpive"]
        cmd += [f"-L{lib}", "-lveo", f"-Wl,-rpath,{lib}"]
        subprocess.run(cmd, check=True, env={**os.environ, **dict(mpi.runenv)})
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
        cmd = [mpi.fc, *mpi.fcflags, "-g", "-O1", "-cpp", *FSTYLES.get(style, []), f"-I{FDIR}", f"-J{moddir}",
               *map(str, mods), str(src), "-o", str(out), *extra]
        if link_shim:
            cmd += [f"-L{lib}", "-lmpive"]
        cmd += [f"-L{lib}", "-lveo", f"-Wl,-rpath,{lib}"]
        subprocess.run(cmd, check=True, cwd=moddir, env={**os.environ, **dict(mpi.runenv)})
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


FORWARD = ("LD_PRELOAD", "MPIVE_", "SIMVE_", "PYTHON", "MPI4PY", "VT_", "PATH", "LD_LIBRARY_PATH", "HOME", "VIRTUAL_ENV", "MPIR_CVAR_", "UCX_", "I_MPI_")


def mpirun(mpi: Mpi, np: int, argv, preload=True, env=None, timeout=180, stdin_text=None):
    """Runs `argv` on `np` ranks of `mpi`; returns a Result (never raises on failure or timeout).
    `stdin_text` is given to mpirun's standard input (both MPIs forward it to rank 0)."""
    e = base_env(preload, {**dict(mpi.runenv), **(env or {})})
    cmd = [mpi.run, *mpi.runflags, "-np", str(np)]
    if mpi.family == "openmpi":
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
    """Environment for mpi4py under `mpi`: which MPI library and ABI to load.

    With MPI4PY_MPIABI set, mpi4py imports its extension for that ABI, which loads the MPI library by
    its soname (MPI4PY_LIBMPI is then not used): LD_LIBRARY_PATH must name the directory of the
    intended library first, or the loader takes the system's library of the same soname (Debian's
    Open MPI 4.1 is libmpi.so.40 too)."""
    env = {"MPI4PY_LIBMPI": mpi.libmpi, "MPI4PY_MPIABI": mpi.abi, "PYTHONUNBUFFERED": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    libdir = mpich_abi_dir() if mpi.name == "mpich" else mpi.libdir
    if libdir is not None:
        old = os.environ.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = str(libdir) + (os.pathsep + old if old else "")
    env.update(extra or {})
    return env


WHICH_LIB = """\
import sys
from mpi4py import MPI
maps = open("/proc/self/maps").read().split("\\n")
libs = sorted({l.split()[-1] for l in maps if "/libmpi" in l and ".so" in l})
sys.stdout.write(f"mpi4py {MPI.__file__}\\nlibrary {MPI.Get_library_version().splitlines()[0]}\\n"
                 + "".join(f"mapped {x}\\n" for x in libs))
"""


def check_mpi4py_loads(mpi: Mpi, preload=False):
    """Runs mpi4py on one rank of `mpi` with python_env(mpi) and asserts that the MPI library it loaded
    is `mpi`'s (its soname from `mpi.libdir` where set), not another of the same soname. Returns the
    probe's output (the extension, the library version, the mapped libmpi files)."""
    r = mpirun(mpi, 1, [mpi.python, "-c", WHICH_LIB], preload=preload, env=python_env(mpi), timeout=120)
    assert r.returncode == 0, r.describe()
    mapped = [line.split(" ", 1)[1] for line in r.stdout.splitlines() if line.startswith("mapped ")]
    want = str((mpi.libdir or Path("/")) / mpi.libmpi) if mpi.libdir else mpi.libmpi
    hits = [m for m in mapped if Path(m).name.startswith(mpi.libmpi) and (not mpi.libdir or m == want
            or Path(m).resolve() == Path(want).resolve())]
    assert hits, f"mpi4py did not load {want}\n" + r.describe()
    assert f".{mpi.abi}." in r.stdout or mpi.abi in r.stdout, r.describe()
    return r.stdout
