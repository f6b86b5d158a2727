"""The fewest libveo round trips per call. A non-contiguous VE buffer costs one copy and one
VE kernel call per direction (plus one copy the first time a run list is used), whatever its number
of blocks; a receive whose type map ascends reads nothing first; without the kernel
(MPIVE_VE_KERNEL=0) one asynchronous copy per run. tests/c/copies.c
checks the exact counts (from mpive_stats_sized deltas), the data byte for byte, the holes (also
holes the VE writes while a receive is pending), short messages and bad VE addresses, on 2-4 ranks
of Open MPI and MPICH."""
import re

import pytest

from harness import MPIS, MPI_IDS, build_c, mpirun


def run_copies(mpi, np, env):
    exe = build_c(mpi, "copies.c", extra=("-ldl",))
    r = mpirun(mpi, np, [exe], env=env, timeout=300)
    assert r.returncode == 0, r.describe()
    m = re.search(r"(\d+) checks on \d+ ranks, (\d+) failures", r.stdout)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) == 0, r.describe()
    assert "FAIL" not in r.stderr, r.describe()
    counts = {}
    for what, role, frm, to, calls in re.findall(r"COUNT (\S+) (\S+) (\d+) (\d+) (\d+)", r.stdout):
        counts.setdefault((what, role), set()).add((int(frm), int(to), int(calls)))
    return counts, r


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 3, 4])
def test_round_trips_with_the_ve_kernel(mpi, np):
    counts, r = run_copies(mpi, np, {"MPIVE_VE_KERNEL": "1"})
    # the bound of the issue: a 1,000-block vector costs at most 4 copies and calls per message per rank
    assert counts[("vector", "send")] == {(1, 0, 1)}, r.describe()
    # a receive whose type map ascends reads nothing first: one copy and one call
    assert counts[("vector", "recv")] == {(0, 1, 1)}, r.describe()
    assert counts[("struct", "recv")] == {(0, 1, 1)}, r.describe()
    # one whose type map goes backwards reads its runs first (a short message must leave the rest)
    assert counts[("indexed-backwards", "recv")] == {(1, 1, 2)}, r.describe()
    assert counts[("contiguous", "send")] == {(1, 0, 0)} and counts[("contiguous", "recv")] == {(0, 1, 0)}, r.describe()
    assert counts[("allgatherv-dense", "both")] == {(1, 1, 0)}, r.describe()
    assert counts[("alltoallw-dense", "both")] == {(1, 1, 0)}, r.describe()
    assert counts[("neighbor-allgather", "both")] == {(1, 1, 0)}, r.describe()
    gapped = {(1, 2, 0)} if np == 2 else {(1, 1, 1)}
    assert counts[("allgatherv-gapped", "both")] == gapped, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 4])
def test_round_trips_without_the_ve_kernel(mpi, np):
    """The fallback: one asynchronous copy per run, the same data; the reason is logged once."""
    counts, r = run_copies(mpi, np, {"MPIVE_VE_KERNEL": "0", "MPIVE_LOG": "warn"})
    assert counts[("vector", "send")] == {(1000, 0, 0)}, r.describe()
    assert counts[("vector", "recv")] == {(0, 1000, 0)}, r.describe()
    assert counts[("indexed-backwards", "recv")] == {(100, 100, 0)}, r.describe()
    assert counts[("contiguous", "recv")] == {(0, 1, 0)}, r.describe()
    assert r.stderr.count("overlapping asynchronous copies: MPIVE_VE_KERNEL=0") == np, r.describe()


@pytest.mark.parametrize("mpi", MPIS[:1], ids=MPI_IDS[:1])
def test_a_missing_kernel_library_falls_back(mpi):
    """MPIVE_VE_KERNEL naming a library that does not exist: the fallback's counts and data, not an error."""
    counts, r = run_copies(mpi, 2, {"MPIVE_VE_KERNEL": "/nonexistent/libmpive_vekernel.so", "VT_EXPECT_KERNEL": "0", "MPIVE_LOG": "warn"})
    assert counts[("vector", "send")] == {(1000, 0, 0)}, r.describe()
    assert r.stderr.count("veo_load_library could not load the VE kernel /nonexistent") == 2, r.describe()
