#!/usr/bin/env bash
# Sets up libmpi-ve on a fresh Debian 12 machine and runs the demo on the simulated VE:
#  - installs Open MPI, MPICH, gfortran and valgrind from apt where missing (as root, or through sudo),
#  - builds libmpive.so and the simulated libveo (cargo build --release),
#  - creates .venv with the Python packages the tests and the mpi4pyve package need,
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

if [ "${1:-}" != "--no-demo" ]; then
    bash scripts/demo.sh
fi
