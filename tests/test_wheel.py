"""mpi4pyve as users install it, a wheel built from its sdist (scripts/test-wheel.sh), in fresh
virtual environments: with the `mpich` wheel, and with Debian's MPICH and Open MPI.

Programs run from those environments and from a scratch directory, never from the source tree, with
no MPIVE_LIB, MPIVE_MPI_LIB, MPIVE_VEO_LIB, LD_PRELOAD, LD_LIBRARY_PATH or PYTHONPATH set: the tutorial
with VE arrays on the bundled simulated VE (python -m mpi4pyve --simulate), the rank-level mpi4pyve
tests of tests/python, and the report of a mismatch between mpi4py's MPI and libmpive's.
"""
import os
import re
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

from harness import ROOT, have

SCRIPT = ROOT / "scripts" / "test-wheel.sh"
TUTORIAL = ROOT / "examples-python" / "tutorial.py"
PYDIR = ROOT / "tests" / "python"
DEBIAN_MPICH = "/usr/lib/x86_64-linux-gnu/libmpich.so.12"
DEBIAN_OPENMPI = "/usr/lib/x86_64-linux-gnu/libmpi.so.40"
# what users might have set, and what the harness sets for the source-tree tests
SCRUB = ("MPIVE_", "MPI4PY", "MPI4PYVE_", "SIMVE_", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH",
         "VIRTUAL_ENV", "CARGO_TARGET_DIR")


@pytest.fixture(scope="module")
def built():
    """build/wheel/<hash>/: dist/ (sdist, wheel), auditwheel.txt, venv-mpich/, venv/."""
    r = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    return ROOT / r.stdout.strip().splitlines()[-1]


def clean_env(venv, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update({
        "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_mpi_yield_when_idle": "1",
        "MPIR_CVAR_POLLS_BEFORE_YIELD": "100",
    })
    env.update(extra or {})
    return env


def run(cmd, env, cwd, timeout=300):
    p = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f"\n*** TIMEOUT after {timeout}s ***"
    return p.returncode, out, err, f"command: {' '.join(map(str, cmd))}\nstatus: {p.returncode}\n" \
                                   f"--- stdout ---\n{out[-5000:]}\n--- stderr ---\n{err[-5000:]}"


# The MPIs: (venv, launcher, what the user sets to select the MPI, the MPI_Get_library_version text,
# the file the MPI library must come from)
def setups(built):
    return {
        "mpich-wheel": (built / "venv-mpich", [built / "venv-mpich" / "bin" / "mpiexec"], {},
                        r"MPICH Version:\s+5\.0\.2", built / "venv-mpich" / "lib" / "libmpi.so.12"),
        "debian-mpich": (built / "venv", ["mpirun.mpich"], {"MPI4PY_LIBMPI": "libmpich.so.12"},
                         r"MPICH Version:\s+4\.0", DEBIAN_MPICH),
        "debian-openmpi": (built / "venv", ["mpirun.openmpi", "-x", "MPI4PY_LIBMPI"],
                           {"MPI4PY_LIBMPI": "libmpi.so.40"}, r"Open MPI v4\.1", DEBIAN_OPENMPI),
    }


MPI_SETUPS = ["mpich-wheel", "debian-mpich", "debian-openmpi"]


def test_wheel_and_sdist(built):
    """A platform wheel holding libmpive, the simulated libveo and the libmpi.so.12 stub; an sdist with
    the Rust workspace (the wheel was built from it, unpacked in an empty directory)."""
    wheels = list((built / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == ["mpi4pyve-0.1.0-py3-none-linux_x86_64.whl"]
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for f in ("mpi4pyve/libmpive.so", "mpi4pyve/libveo.so", "mpi4pyve/_mpich_abi/libmpi.so.12",
              "mpi4pyve/_shim.py", "mpi4pyve/MPI.py"):
        assert f in names, sorted(names)
    sdist = list((built / "dist").glob("*.tar.gz"))
    assert len(sdist) == 1
    members = subprocess.run(["tar", "tzf", str(sdist[0])], capture_output=True, text=True, check=True).stdout
    for f in ("rust/Cargo.toml", "rust/Cargo.lock", "rust/build.rs", "rust/cbindgen.toml", "rust/src/lib.rs",
              "rust/src/capi.rs", "rust/simve/Cargo.toml", "rust/simve/src/lib.rs", "setup.py"):
        assert f"mpi4pyve-0.1.0/{f}\n" in members, f
    assert "rust/target/" not in members
    report = (built / "auditwheel.txt").read_text()
    # the libraries need nothing outside the manylinux system set (libc, libgcc_s): only the glibc
    # version decides the tag
    assert re.search(r'consistent with the\s+following platform tag: "manylinux_2_\d+_x86_64"', report), report


def test_installed_not_source(built):
    """The environments import mpi4pyve from site-packages and open the bundled libmpive."""
    venv = built / "venv-mpich"
    code = ("import mpi4pyve, mpi4pyve._shim as s; s.load(); print(mpi4pyve.__file__); print(s.shim_file()); "
            "print(s.simulated_libveo())")
    rc, out, err, desc = run([venv / "bin" / "python", "-c", code], clean_env(venv), cwd="/")
    assert rc == 0, desc
    site = str(venv / "lib")
    lines = out.split()
    assert all(line.startswith(site) for line in lines) and len(lines) == 3, desc
    assert lines[1].endswith("mpi4pyve/libmpive.so") and lines[2].endswith("mpi4pyve/libveo.so"), desc


@pytest.mark.parametrize("setup", MPI_SETUPS)
def test_tutorial(built, setup, tmp_path):
    """mpiexec -n 2 python -m mpi4pyve --simulate tutorial.py, from the installed package alone."""
    venv, launcher, extra, version, libfile = setups(built)[setup]
    if not have(str(launcher[0])):
        pytest.fail(f"{launcher[0]} is not installed")
    shutil.copy(TUTORIAL, tmp_path / "tutorial.py")
    env = clean_env(venv, extra)
    rc, out, err, desc = run([*launcher, "-n", "2", venv / "bin" / "python", "-m", "mpi4pyve", "--simulate",
                              "tutorial.py"], env, tmp_path)
    assert rc == 0, desc
    steps = re.findall(r"^(.*): ok$", out, re.M)
    expected = re.findall(r'^say\("(.*)"\)$', TUTORIAL.read_text(), re.M)
    assert len(expected) >= 6 and steps == expected, desc
    # the MPI: the one selected, for mpi4py and for libmpive
    code = ("import mpi4pyve; from mpi4pyve import MPI, simve, veo; "
            "a = simve.arange(4, dtype='i'); MPI.COMM_WORLD.Bcast(a, root=0); "
            "print(MPI.Get_library_version().splitlines()[0]); print(mpi4pyve.get_config()['mpi_library']); "
            "print('staged', veo.stats()['staged_calls'])")
    rc, out, err, desc = run([venv / "bin" / "python", "-m", "mpi4pyve", "--simulate", "-c", code], env, tmp_path)
    assert rc == 0, desc
    lines = out.splitlines()
    assert len(lines) == 3 and re.match(version, lines[0]), desc
    assert os.path.samefile(lines[1].split(" (")[0], libfile), desc
    assert int(lines[2].split()[1]) >= 1, desc


@pytest.mark.parametrize("setup", ["mpich-wheel", "debian-mpich"])
def test_python_programs(built, setup, tmp_path):
    """tests/python's rank-level mpi4pyve tests (all families) on 2 ranks, from the installed package."""
    venv, launcher, extra, _, _ = setups(built)[setup]
    for f in PYDIR.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    files = sorted(p.name for p in tmp_path.glob("mpi_*.py"))
    assert len(files) >= 9
    env = clean_env(venv, {**extra, "PYTHONPATH": str(tmp_path), "MPI4PYVE_SIMULATE": "1"})
    argv = [*launcher, "-n", "2", venv / "bin" / "python", "-m", "pytest", "-p", "mpiplugin",
            "-p", "no:cacheprovider", "-o", "python_files=mpi_*.py", "-o", "faulthandler_timeout=120", "-q",
            "-rfE", "--color=no", "--no-header", "--rootdir", tmp_path, *files]
    rc, out, err, desc = run(argv, env, tmp_path, timeout=900)
    summaries = re.findall(r"^MPIRANK-SUMMARY rank=(\d+) size=(\d+) passed=(\d+) failed=(\d+) "
                           r"error=(\d+) skipped=(\d+)$", out, re.M)
    assert rc == 0, desc
    assert sorted(int(s[0]) for s in summaries) == [0, 1], desc
    for _, _, passed, failed, error, skipped in summaries:
        assert int(passed) > 100 and failed == error == skipped == "0", desc


@pytest.mark.parametrize("other", [DEBIAN_MPICH, DEBIAN_OPENMPI])
def test_mismatch_named(built, other, tmp_path):
    """mpi4py takes the mpich wheel's library (the environment's lib/); libmpive is told another one:
    the import fails before MPI_Init, naming both."""
    venv = built / "venv-mpich"
    env = clean_env(venv, {"MPIVE_MPI_LIB": other})
    rc, out, err, desc = run([venv / "bin" / "python", "-c", "from mpi4pyve import MPI"], env, tmp_path)
    assert rc != 0, desc
    assert "different MPI libraries" in err, desc
    wheel_lib = str(venv / "lib")
    assert re.search(rf"mpi4py: +{re.escape(wheel_lib)}/libmpi\.so(\.12)? \(MPICH Version:\s+5\.0\.2", err), desc
    assert re.search(rf"libmpive: +{re.escape(other)} \(", err), desc
    assert f"MPIVE_MPI_LIB={other}, set by the user" in err, desc


def test_mpiabi_pitfall(built, tmp_path):
    """MPI4PY_MPIABI=mpich makes mpi4py skip its own search: its extension's libmpi.so.12 would come
    from the loader's path, which does not include the environment's lib/ (plain mpi4py fails or takes
    a system MPI). mpi4pyve opens the wheel's library first: mpi4py and libmpive both use it."""
    venv = built / "venv-mpich"
    env = clean_env(venv, {"MPI4PY_MPIABI": "mpich"})
    code = "from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])"
    rc, out, err, plain = run([venv / "bin" / "python", "-c", code], env, tmp_path)
    assert rc != 0 or "5.0.2" not in out, "plain mpi4py found the wheel by itself: no pitfall\n" + plain
    code = ("import mpi4pyve; from mpi4pyve import MPI; print(MPI.Get_library_version().splitlines()[0]); "
            "print(mpi4pyve.get_config()['mpi_library'])")
    rc, out, err, desc = run([venv / "bin" / "python", "-c", code], env, tmp_path)
    assert rc == 0, desc
    lines = out.splitlines()
    assert "5.0.2" in lines[0], desc
    assert os.path.samefile(lines[1].split(" (")[0], venv / "lib" / "libmpi.so.12"), desc


def test_tutorial_without_simulate_flag(built, tmp_path):
    """Without --simulate, mpi4pyve.simve still takes the bundled simulated libveo on a host without
    VEOS (the issue's command line: mpiexec -n 2 python -m mpi4pyve tutorial.py)."""
    venv = built / "venv-mpich"
    if os.path.exists("/opt/nec/ve/veos/lib64/libveo.so.1"):
        pytest.skip("a real VE host: simve uses VEOS's libveo")
    shutil.copy(TUTORIAL, tmp_path / "tutorial.py")
    rc, out, err, desc = run(["mpiexec", "-n", "2", venv / "bin" / "python", "-m", "mpi4pyve", "tutorial.py"],
                             clean_env(venv), tmp_path)
    assert rc == 0, desc
    expected = re.findall(r'^say\("(.*)"\)$', TUTORIAL.read_text(), re.M)
    assert re.findall(r"^(.*): ok$", out, re.M) == expected, desc
