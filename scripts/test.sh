#!/usr/bin/env bash
# The full test suite (what CI runs). First the static checks, all of them even when one fails:
#   - the layers: no file of src/ imports a layer above its own, no cycle among the files
#     (scripts/check_layers.py against the table in docs/architecture.md; its own fixtures first);
#   - the build, and include/mpive.h as committed equal to what cbindgen generates from the sources;
#   - clippy on every target of the workspace with warnings as errors (the lints of Cargo.toml:
#     every unsafe block has its SAFETY comment, every public unsafe fn its Safety section).
# Then, if all pass, the tests: Rust unit tests, then the MPI tests: all of them under Debian's Open MPI
# and MPICH, the representative part under the other MPIs of the matrix (tests/harness.py, build/mpis).
# Arguments go to pytest. Expects scripts/setup.sh to have run once (packages, .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()

python3 scripts/check_layers.py --self-test || failed+=("scripts/check_layers.py --self-test")
python3 scripts/check_layers.py || failed+=("layers (scripts/check_layers.py)")

cargo build --release
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    if ! git ls-files --error-unmatch include/mpive.h > /dev/null 2>&1; then
        echo "include/mpive.h is not committed: the build generates it from src/capi.rs and src/stats.rs; git add it" >&2
        failed+=("include/mpive.h")
    elif ! git diff --exit-code -- include/mpive.h; then
        echo "include/mpive.h (above: committed -> generated) is not what cbindgen generates from src/capi.rs" \
            "and src/stats.rs: the build has just rewritten it; review the change and commit it (git add include/mpive.h)" >&2
        failed+=("include/mpive.h")
    else
        echo "include/mpive.h: as generated"
    fi
else
    echo "not a git checkout: the committed include/mpive.h is not compared with the generated one" >&2
fi

cargo clippy --version > /dev/null 2>&1 || rustup component add clippy
cargo clippy --release --workspace --all-targets --quiet -- -D warnings || failed+=("cargo clippy")

if (( ${#failed[@]} )); then
    echo "static checks failed (the tests did not run):" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi

cargo test --release --workspace --quiet
# the mpi4pyve wheel and fresh environments with it (cached by source hash), for tests/test_wheel.py
bash scripts/test-wheel.sh > /dev/null
.venv/bin/python -m pytest "$@"
