"""pytest plugin for test files that run on every rank of an MPI job (tests/python/mpi_*.py).

Outer tests (tests/test_python.py) start ``mpirun -n N python -m pytest -p mpiplugin tests/python/mpi_X.py``:
every rank runs the same tests in the same order. After each test the ranks agree on its outcome, so
a test that fails on one rank fails on all of them (and the ranks stay in step), and pytest's exit
status is non-zero on every rank; mpirun then exits non-zero. Each rank ends with a line
"MPIRANK-SUMMARY rank=1 size=4 passed=12 failed=0 error=0 skipped=0", which the outer test reads.
"""
import pytest

_comm = None


def _world():
    global _comm
    if _comm is None:
        from mpi4pyve import MPI  # noqa: PLC0415

        _comm = MPI.COMM_WORLD
    return _comm


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when != "call":
        return
    report = outcome.get_result()
    comm = _world()
    failed = comm.allgather(bool(report.failed))
    others = [r for r, f in enumerate(failed) if f and r != comm.rank]
    if others and not report.failed:
        report.outcome = "failed"
        report.longrepr = f"failed on rank(s) {others} (passed on rank {comm.rank})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    import os  # noqa: PLC0415

    stats = terminalreporter.stats
    counts = " ".join(f"{k}={len([r for r in stats.get(k, []) if getattr(r, 'when', 'call') in ('call', 'setup', 'collect')])}"
                      for k in ("passed", "failed", "error", "skipped"))
    # one write, on a line of its own: the ranks' outputs are interleaved by mpirun
    comm = _world()
    terminalreporter._tw.flush()
    os.write(1, f"\nMPIRANK-SUMMARY rank={comm.rank} size={comm.size} {counts}\n".encode())
