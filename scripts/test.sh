#!/usr/bin/env bash
# The full test suite (what CI runs): Rust unit tests, then the MPI tests: all of them under Debian's Open MPI
# and MPICH, the representative part under the other MPIs of the matrix (tests/harness.py, build/mpis).
# Expects scripts/setup.sh to have run once (packages, .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
cargo test --release --workspace --quiet
# the mpi4pyve wheel and fresh environments with it (cached by source hash), for tests/test_wheel.py
bash scripts/test-wheel.sh > /dev/null
.venv/bin/python -m pytest "$@"
