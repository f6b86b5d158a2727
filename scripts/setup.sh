#!/usr/bin/env bash
# Sets up libmpi-ve on a fresh Debian 12 machine and runs the demo on the simulated VE:
#  - installs Open MPI, MPICH, gfortran and valgrind from apt where missing (as root, or through sudo),
#  - builds libmpive.so and the simulated libveo (cargo build --release),
#  - creates .venv with the Python packages the tests and the mpi4pyve package need, installs mpi4pyve
#    (python/) into it, and fetches the sdist of the pinned mpi4py for its test suite,
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
    .venv/bin/pip download -q --no-binary :all: --no-deps "mpi4py==$v" -d build/mpi4py-sdist
    tar -xzf "build/mpi4py-sdist/mpi4py-$v.tar.gz" -C build/mpi4py-sdist
fi

if [ "${1:-}" != "--no-demo" ]; then
    bash scripts/demo.sh
fi
