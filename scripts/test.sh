#!/usr/bin/env bash
# The full test suite (what CI runs): Rust unit tests, then every MPI test under Open MPI and MPICH.
# Expects scripts/setup.sh to have run once (packages, .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
cargo test --release --workspace --quiet
# the mpi4pyve wheel and fresh environments with it (cached by source hash), for tests/test_wheel.py
bash scripts/test-wheel.sh > /dev/null
.venv/bin/python -m pytest "$@"
