"""MPI-IO with VE arrays against the same on numpy arrays: the 34 File methods of mpi4py-ve's list
(explicit offsets, individual and shared file pointers, blocking, nonblocking and split collective;
reads and writes). Written files are compared byte for byte; reads are compared buffer by buffer
(shared-pointer operations in canonical order, since which rank goes first is not defined).
Runs on every rank (see mpiplugin)."""
import os
import shutil
import tempfile

import numpy as np
import pytest
from vecheck import MPI, comm, data, rank, same, size, tonp

N = 8
_dir = None


@pytest.fixture(scope="module", autouse=True)
def tmpdir_shared():
    global _dir
    _dir = comm.bcast(tempfile.mkdtemp(prefix="mpi4pyve-io-") if rank == 0 else None)
    yield
    comm.Barrier()
    if rank == 0:
        shutil.rmtree(_dir, ignore_errors=True)


def path(tag):
    return os.path.join(_dir, tag)


def open_(p, amode=MPI.MODE_CREATE | MPI.MODE_RDWR):
    fh = MPI.File.Open(comm, p, amode)
    fh.Set_view(0, MPI.DOUBLE, MPI.DOUBLE)   # offsets count doubles
    return fh


def contents(p):
    """The file as doubles, read without MPI."""
    comm.Barrier()
    return np.fromfile(p, dtype="f8")


def canonical(blocks):
    """Blocks of N written or read through the shared file pointer, in value order."""
    blocks = np.asarray(blocks).reshape(-1, N)
    return blocks[np.argsort(blocks[:, 0], kind="stable")]


WRITES = ["Write_at", "Write_at_all", "Iwrite_at", "Iwrite_at_all", "Write_at_all_begin",
          "Write", "Write_all", "Iwrite", "Iwrite_all", "Write_all_begin",
          "Write_shared", "Iwrite_shared", "Write_ordered", "Write_ordered_begin"]
READS = [w.replace("write", "read").replace("Write", "Read") for w in WRITES]


def do(fh, method, buf):
    """Calls `method` (completing I-forms and split collectives) at this rank's block; returns the
    status count in doubles (None where the call has no status)."""
    st = MPI.Status()
    if "_at" in method:
        args = (rank * N, buf)
    else:
        args = (buf,)
        if "shared" not in method and "ordered" not in method:
            fh.Seek(rank * N)
    if method.startswith("I"):
        getattr(fh, method)(*args).Wait(st)
    elif method.endswith("_begin"):
        getattr(fh, method)(*args)
        getattr(fh, method.replace("_begin", "_end"))(buf, st)
    else:
        getattr(fh, method)(*args, st)
    return st.Get_count(MPI.DOUBLE)


@pytest.mark.parametrize("method", WRITES)
def test_write(method):
    def f(xp):
        p = path(f"w-{method}-{xp.name}")
        fh = open_(p)
        a = xp.array(data(N))
        n = do(fh, method, a)
        fh.Close()
        c = contents(p)
        if "shared" in method:
            c = canonical(c)
        return [c, n]
    same(f)


@pytest.mark.parametrize("method", READS)
def test_read(method):
    p = path(f"r-{method}")
    if rank == 0:
        np.concatenate([data(N, r=r) for r in range(size)]).tofile(p)
    comm.Barrier()

    def f(xp):
        fh = open_(p, MPI.MODE_RDONLY)
        b = xp.full(N + 2, -1.0)
        n = do(fh, method, [b, N, MPI.DOUBLE])
        fh.Close()
        if "shared" in method:
            return [canonical(comm.allgather(tonp(b)[:N])), tonp(b)[N:], n]
        return [b, n]
    same(f)


# MPICH 4.0.2's ROMIO aborts ("Out of memory in file adio/common/flatten.c") on any derived datatype
# that mpi4py 4 makes there (with the large-count constructors), host buffers and no libmpive alike.
DERIVED_IO = MPI.get_vendor()[0] != "MPICH"


def test_read_write_with_explicit_datatypes_and_views():
    # a file view of ints with holes; VE buffers given as [buf, count, type] and read back with a
    # memory datatype that leaves holes in the VE array (on MPICH: count and displacement specs)
    def f(xp):
        p = path(f"view-{xp.name}")
        fh = MPI.File.Open(comm, p, MPI.MODE_CREATE | MPI.MODE_RDWR)
        a = xp.array(data(N, "i4"))
        b = xp.full(N, -1, "i4")
        if DERIVED_IO:
            ft = MPI.INT.Create_vector(N // 2, 1, size)
            ft.Commit()
            fh.Set_view(rank * 4, MPI.INT, ft)
            fh.Write_all([a, N // 2, MPI.INT])
            fh.Seek(0)
            bt = MPI.INT.Create_vector(N // 2, 1, 2)
            bt.Commit()
            fh.Read_all([b, 1, bt])
            ft.Free()
            bt.Free()
        else:
            fh.Set_view(rank * N * 2, MPI.INT, MPI.INT)
            fh.Write_all([a, (N // 2, 1), MPI.INT])
            fh.Seek(0)
            fh.Read_all([b, (N // 2, 3), MPI.INT])
        fh.Close()
        comm.Barrier()
        return [np.fromfile(p, dtype="i4"), b]
    same(f)
