#!/usr/bin/env bash
# The mpi4pyve wheel as users get it (tests/test_wheel.py runs programs from what this prepares):
#  - `python -m build python/`: an sdist, then a wheel built from that sdist unpacked in an empty
#    directory (so the sdist is proven to carry what cargo needs); auditwheel's report next to them;
#  - two fresh virtual environments with the wheel: one with the `mpich` wheel (pinned), one without
#    any MPI wheel (for Debian's MPICH and Open MPI).
# Everything lands in build/wheel/<hash of the sources>/ and is reused while the sources are unchanged.
# Prints that directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
MPICH_WHEEL="mpich==5.0.2"
PY=${PYTHON:-python3}

sources=$(git ls-files -z -c -o --exclude-standard -- python Cargo.toml Cargo.lock build.rs cbindgen.toml src simve include \
          | sort -z -u | xargs -0 sha256sum | sha256sum | cut -c1-16)
key=$(printf '%s %s %s\n' "$sources" "$MPICH_WHEEL" "$($PY -c 'import sys; print(sys.version)')" | sha256sum | cut -c1-16)
out=build/wheel/$key
if [ -f "$out/done" ]; then
    echo "== mpi4pyve wheel: cached ($out)" >&2
    echo "$out"
    exit 0
fi
# older builds go (the tools' environment and cargo's cache stay)
find build/wheel -mindepth 1 -maxdepth 1 -type d ! -name tools ! -name cargo-target -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$out"
start=$(date +%s)

echo "== mpi4pyve sdist and wheel (python -m build python/)" >&2
[ -x build/wheel/tools/bin/python ] || $PY -m venv build/wheel/tools
build/wheel/tools/bin/pip install -q build auditwheel >&2
# cargo's cache for the dependencies (cbindgen and its build tree are most of the build time): the
# crates of the sdist itself are rebuilt, from the sdist's own copy
export CARGO_TARGET_DIR=$PWD/build/wheel/cargo-target
build/wheel/tools/bin/python -m build -o "$out/dist" python/ > "$out/build.log" 2>&1 \
    || { tail -40 "$out/build.log" >&2; exit 1; }
unset CARGO_TARGET_DIR
wheel=$(ls "$out"/dist/*.whl)
build/wheel/tools/bin/auditwheel show "$wheel" > "$out/auditwheel.txt" 2>&1 || true

echo "== fresh environments with the wheel" >&2
$PY -m venv "$out/venv-mpich"
"$out/venv-mpich/bin/pip" install -q "$wheel" "$MPICH_WHEEL" pytest >&2
$PY -m venv "$out/venv"
"$out/venv/bin/pip" install -q "$wheel" pytest >&2
echo "$(( $(date +%s) - start ))" > "$out/seconds"
touch "$out/done"
echo "== mpi4pyve wheel: built in $(cat "$out/seconds")s ($out)" >&2
echo "$out"
