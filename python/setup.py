"""Builds mpi4pyve with libmpive and the simulated libveo inside it (cargo, through setuptools-rust).

The Rust workspace (libmpive at the root, the simulated libveo in simve/) lives in the repository
root, one level above this directory. An sdist made here carries a copy of what cargo needs under
rust/ (see Sdist below), so that it builds anywhere; a build from the checkout uses ../ directly.

The wheel holds, next to the Python modules:
  mpi4pyve/libmpive.so              the shim (found by mpi4pyve._shim first after MPIVE_LIB)
  mpi4pyve/libveo.so                the simulated VE (MPI4PYVE_SIMULATE=1, python -m mpi4pyve --simulate)
  mpi4pyve/_mpich_abi/libmpi.so.12  an empty library named libmpi.so.12, see _mpich_abi_stub below

MPI4PYVE_NO_BUNDLE=1 builds the pure-Python package without them (development in the repository,
where mpi4pyve finds target/release/libmpive.so by itself).
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension, build_rust

HERE = Path(__file__).resolve().parent
# what cargo needs to build the workspace (the root crate's build.rs runs cbindgen on src/)
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "src", "simve", "include"]
SDIST_CRATE = "rust"


def crate_root():
    """The directory with the workspace's Cargo.toml: rust/ in an sdist, the repository root in a checkout."""
    for d in (HERE / SDIST_CRATE, HERE.parent):
        if (d / "Cargo.toml").is_file() and (d / "simve" / "Cargo.toml").is_file():
            return d
    raise SystemExit(
        "mpi4pyve: the libmpi-ve Rust sources are missing: build from the libmpi-ve repository "
        "(pip install ./python) or from an sdist made there (python -m build python/), or set "
        "MPI4PYVE_NO_BUNDLE=1 for a package without libmpive")


def bundle():
    return os.environ.get("MPI4PYVE_NO_BUNDLE", "").lower() not in ("1", "yes", "true", "on")


class BuildRust(build_rust):
    """Plain cdylibs keep their own names (libmpive.so, libveo.so) instead of a Python extension
    suffix: they are opened with dlopen, never imported. Adds the libmpi.so.12 stub."""

    def get_dylib_ext_path(self, ext, target_fname):
        path = Path(super().get_dylib_ext_path(ext, target_fname))
        return str(path.with_name(target_fname.rpartition(".")[2] + ".so"))

    def run(self):
        super().run()
        if self.inplace:
            return
        build_py = self.get_finalized_command("build_py")
        _mpich_abi_stub(Path(build_py.build_lib) / "mpi4pyve" / "_mpich_abi" / "libmpi.so.12")


def _mpich_abi_stub(out):
    """An empty shared library whose soname is libmpi.so.12.

    mpi4py's binary wheels link their MPICH-ABI extension against libmpi.so.12, the soname of MPICH's
    own builds; Debian's and Ubuntu's MPICH packages have the same ABI under libmpich.so.12 only. When
    the MPI library mpi4py selected has another soname, mpi4pyve opens it with RTLD_GLOBAL (after
    libmpive) and then this stub: the loader takes the stub for the extension's libmpi.so.12, and the
    extension's MPI symbols bind in the global scope: libmpive's MPI_*, then the MPI library's.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "empty.c"
        src.write_text("/* libmpi.so.12 stub of mpi4pyve: no symbols */\n")
        subprocess.run([cc, "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libmpi.so.12", "-o", str(out), str(src)],
                       check=True)


class Sdist(sdist):
    """Copies the Rust workspace into the sdist (rust/), so that the sdist builds on its own."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = crate_root()
        if root == HERE / SDIST_CRATE:
            return  # an sdist of an sdist: rust/ is in `files` (MANIFEST.in)
        dest = Path(base_dir) / SDIST_CRATE
        for name in CRATE_FILES:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("target", "__pycache__"),
                                dirs_exist_ok=True)
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)


class BdistWheel(bdist_wheel):
    """The libraries do not use Python's C API: one wheel serves every Python 3 of the platform."""

    def get_tag(self):
        python, abi, plat = super().get_tag()
        if self.distribution.has_ext_modules():
            return "py3", "none", plat
        return python, abi, plat


rust_extensions = []
if bundle():
    root = crate_root()
    # a wheel without debug information: a third of the size (the repository's profile keeps it for
    # the tests' backtraces); CARGO_PROFILE_RELEASE_DEBUG=1 in the environment keeps it here too
    os.environ.setdefault("CARGO_PROFILE_RELEASE_DEBUG", "0")
    os.environ.setdefault("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
    if root == HERE.parent and "CARGO_TARGET_DIR" not in os.environ:
        # a build from the checkout must not overwrite target/release, which the tests preload
        os.environ["CARGO_TARGET_DIR"] = str(root / "target" / "mpi4pyve")
    rel = os.path.relpath(root, Path.cwd())
    rust_extensions = [
        RustExtension("mpi4pyve.libmpive", path=os.path.join(rel, "Cargo.toml"), binding=Binding.NoBinding,
                      args=["--locked"], debug=False),
        RustExtension("mpi4pyve.libveo", path=os.path.join(rel, "simve", "Cargo.toml"),
                      binding=Binding.NoBinding, args=["--locked"], debug=False),
    ]

setup(
    rust_extensions=rust_extensions,
    cmdclass={"build_rust": BuildRust, "sdist": Sdist, "bdist_wheel": BdistWheel},
    zip_safe=False,
)
