"""Helpers for the tests that run on every rank: the same operation on host (numpy) arrays and on VE
arrays (mpi4pyve.simve), compared, and proof that libmpive staged the VE run."""
import numpy as np

from mpi4pyve import MPI, simve, veo

comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
DTYPES = ["f8", "i4", "c16", "u1", "f4", "i8"]


class Host:
    """numpy arrays (the reference: stock mpi4py)."""
    name = "host"

    @staticmethod
    def array(x, dtype=None):
        return np.array(x, dtype=dtype)

    @staticmethod
    def zeros(shape, dtype="f8"):
        return np.zeros(shape, dtype)

    @staticmethod
    def full(shape, value, dtype="f8"):
        return np.full(shape, value, dtype)


class VE:
    """simulated-VE arrays: addresses the host cannot dereference."""
    name = "ve"

    @staticmethod
    def array(x, dtype=None):
        return simve.array(np.asarray(x, dtype=dtype))

    @staticmethod
    def zeros(shape, dtype="f8"):
        return simve.zeros(shape, dtype)

    @staticmethod
    def full(shape, value, dtype="f8"):
        return simve.full(shape, value, dtype)


def data(n, dtype="f8", seed=0, r=None):
    """Deterministic values for rank r (default: this rank)."""
    r = rank if r is None else r
    x = np.arange(n, dtype="f8") + 1000 * r + 17 * seed + 1
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (x + 1j * (x + 0.5)).astype(dt)
    if dt.kind == "u" and dt.itemsize == 1:
        return (x % 251).astype(dt)
    if dt.kind == "b":
        return (x.astype(int) % 3 == 0)
    return x.astype(dt)


def staged():
    return veo.stats()["staged_calls"]


def tonp(x):
    if isinstance(x, simve.ndarray):
        return x.get()
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, tuple)):
        return type(x)(tonp(i) for i in x)
    if isinstance(x, dict):
        return {k: tonp(v) for k, v in x.items()}
    return x


def check_equal(got, want, where="result"):
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), f"{where}: {type(got)} instead of an array"
        assert got.dtype == want.dtype and got.shape == want.shape, \
            f"{where}: {got.dtype}{got.shape} instead of {want.dtype}{want.shape}"
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: {len(got)} items instead of {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            check_equal(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            check_equal(got[k], want[k], f"{where}[{k!r}]")
    else:
        assert got == want, f"{where}: {got!r} instead of {want!r}"


def same(fn, staged_min=1):
    """Runs fn(xp) with xp = Host, then with xp = VE; both return the arrays (or values) to compare.
    Fails if they differ, or if the VE run staged fewer than `staged_min` calls in libmpive on this
    rank (then the VE addresses did not go through the shim). Returns the host result."""
    want = tonp(fn(Host))
    before = staged()
    got = tonp(fn(VE))
    n = staged() - before
    check_equal(got, want)
    assert n >= staged_min, f"the VE run staged {n} call(s) in libmpive (expected at least {staged_min})"
    return want


def same_outcome(fn):
    """Like same(), for calls the MPI library may not provide (MPI-4 functions on Open MPI 4.1): the
    VE run must raise the same exception type as the host run, or both succeed with equal results."""
    try:
        want = ("ok", tonp(fn(Host)))
    except NotImplementedError as exc:
        want = ("raise", type(exc))
    if want[0] == "raise":
        with pytest_raises(want[1]):
            fn(VE)
        return None
    return same(fn)


def pytest_raises(exc):
    import pytest  # noqa: PLC0415

    return pytest.raises(exc)
