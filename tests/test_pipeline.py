"""The pipelined protocol for large VE messages (MPIVE_PIPELINE=1): every placement, send
mode, wildcard, completion form, Sendrecv, matched receives, non-contiguous receive datatypes,
truncation, exchanges that must not deadlock, and threads, under Open MPI and MPICH. The same program
also passes with the protocol off. The tests parametrized with `matrix` also run on the other MPIs of
the matrix (tests/harness.py) with 2 ranks."""
import re

import pytest

from harness import MPIS, MPI_IDS, build_c, matrix, mpirun

# Small threshold and chunks, so that messages of a few hundred KiB have many chunks.
PIPE = {"MPIVE_PIPELINE": "1", "MPIVE_PIPELINE_THRESHOLD": "64K", "MPIVE_PIPELINE_CHUNK": "16K"}


def run_pipeline(mpi, np, env, timeout=300):
    exe = build_c(mpi, "pipeline.c", extra=("-Wno-stringop-overflow", "-pthread", "-ldl"))
    r = mpirun(mpi, np, [exe], env=env, timeout=timeout)
    assert r.returncode == 0, r.describe()
    m = re.search(r"(\d+) checks on \d+ ranks, (\d+) failures", r.stdout)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) == 0, r.describe()
    assert "FAIL" not in r.stderr, r.describe()
    return int(re.search(r"pipelined: (\d+)", r.stdout).group(1)), r


@pytest.mark.parametrize("mpi,np", matrix(sub=[2], full=[2, 3, 4]))
def test_pipelined_protocol(mpi, np):
    n, r = run_pipeline(mpi, np, PIPE)
    assert n > 0, "nothing was pipelined\n" + r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_pipelined_protocol_on_a_modeled_link(mpi):
    """Slow copies (1 GB/s): the copy thread, the ring of chunk buffers and the sender's window are
    exercised with copies that take longer than the messages."""
    n, r = run_pipeline(mpi, 2, {**PIPE, "SIMVE_BANDWIDTH": "1G", "MPIVE_STAGING_LIMIT": "1M"})
    assert n > 0, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
def test_same_program_without_the_protocol(mpi):
    n, r = run_pipeline(mpi, 2, {"MPIVE_PIPELINE": "0"})
    assert n == 0, r.describe()


@pytest.mark.parametrize("mpi", MPIS, ids=MPI_IDS)
@pytest.mark.parametrize("np", [2, 3, 4])
@pytest.mark.parametrize("mode", ["pipelined", "off"])
def test_pipelined_collectives(mpi, np, mode):
    """Allreduce and Bcast split in chunks, with placements and datatypes that differ between ranks."""
    env = {**PIPE, "MPIVE_PIPELINE_ALLREDUCE": "1"} if mode == "pipelined" else {"MPIVE_PIPELINE": "0"}
    exe = build_c(mpi, "pipeline_coll.c", extra=("-ldl",))
    r = mpirun(mpi, np, [exe], env=env, timeout=300)
    assert r.returncode == 0, r.describe()
    m = re.search(r"(\d+) checks on \d+ ranks, (\d+) failures", r.stdout)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) == 0, r.describe()
    n = int(re.search(r"pipelined: (\d+)", r.stdout).group(1))
    assert (n > 0) == (mode == "pipelined"), r.describe()
