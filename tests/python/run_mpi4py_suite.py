"""Runs mpi4py's own test suite (test/main.py of its sdist) on one rank and records the outcome of
every test: ``run_mpi4py_suite.py <main.py> <prefix> [main.py options]``.

mpirun interleaves the ranks' output, so each rank writes its unittest output to <prefix>.<rank>.log
and its outcomes ({test id: ok | skipped | FAIL | ERROR | expected failure | unexpected success}) to
<prefix>.<rank>.json, which tests/test_python_mpi4py_suite.py compares with and without libmpive."""
import atexit
import json
import os
import runpy
import sys
import unittest


def main():
    main_py, prefix, *args = sys.argv[1:]
    rank = os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK") or "0"
    fd = os.open(f"{prefix}.{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)

    outcomes = {}
    R = unittest.TextTestResult

    def record(name, outcome):
        orig = getattr(R, name)

        def wrapper(self, test, *rest):
            outcomes[test.id()] = outcome
            return orig(self, test, *rest)

        setattr(R, name, wrapper)

    for name, outcome in (("addSuccess", "ok"), ("addSkip", "skipped"), ("addFailure", "FAIL"),
                          ("addError", "ERROR"), ("addExpectedFailure", "expected failure"),
                          ("addUnexpectedSuccess", "unexpected success")):
        record(name, outcome)

    def dump():
        with open(f"{prefix}.{rank}.json", "w") as f:
            json.dump(outcomes, f, indent=0, sort_keys=True)

    atexit.register(dump)
    sys.argv = [main_py, *args]
    runpy.run_path(main_py, run_name="__main__")


if __name__ == "__main__":
    main()
