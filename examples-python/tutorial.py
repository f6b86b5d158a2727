"""mpi4pyve tutorial, after mpi4py-ve's: point-to-point and collective communication of Python
objects and of Vector Engine arrays, with the stock mpi4py and libmpive.

    mpirun -n 4 python -m mpi4pyve examples-python/tutorial.py

NLCPy arrays are used when NLCPy is installed (an SX-Aurora host); otherwise mpi4pyve.simve arrays,
which live in the simulated VE's memory (the host cannot dereference their addresses: every byte goes
through libmpive). Each step checks its result on the host with .get().
"""
import numpy as np

from mpi4pyve import MPI

try:
    import nlcpy as vp            # NEC's NumPy for the Vector Engine
except ImportError:
    from mpi4pyve import simve as vp   # small stand-in with the same __ve_array_interface__

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
assert size >= 2, "run with at least 2 processes"


def say(what):
    comm.Barrier()
    if rank == 0:
        print(f"{what}: ok", flush=True)


# -- Point-to-point: Python objects (pickled) ------------------------------------------------------
if rank == 0:
    data = {"a": 7, "b": 3.14}
    comm.send(data, dest=1, tag=11)
elif rank == 1:
    data = comm.recv(source=0, tag=11)
    assert data == {"a": 7, "b": 3.14}
say("send/recv of a Python object")

# ... with nonblocking communication
if rank == 0:
    req = comm.isend({"a": 7, "b": 3.14}, dest=1, tag=11)
    req.wait()
elif rank == 1:
    req = comm.irecv(source=0, tag=11)
    data = req.wait()
    assert data["a"] == 7
say("isend/irecv of a Python object")

# -- Point-to-point: VE arrays (the fast way: no pickling, staged through libmpive) ---------------
# passing MPI datatypes explicitly
if rank == 0:
    data = vp.arange(1000, dtype="i")
    comm.Send([data, MPI.INT], dest=1, tag=77)
elif rank == 1:
    data = vp.empty(1000, dtype="i")
    comm.Recv([data, MPI.INT], source=0, tag=77)
    assert (data.get() == np.arange(1000)).all()

# automatic MPI datatype discovery (from the array's typestr)
if rank == 0:
    data = vp.arange(100, dtype=np.float64)
    comm.Send(data, dest=1, tag=13)
elif rank == 1:
    data = vp.empty(100, dtype=np.float64)
    comm.Recv(data, source=0, tag=13)
    assert (data.get() == np.arange(100.0)).all()
say("Send/Recv of VE arrays")

# -- Collectives: Python objects ------------------------------------------------------------------
data = {"key1": [7, 2.72, 2 + 3j], "key2": ("abc", "xyz")} if rank == 0 else None
data = comm.bcast(data, root=0)
assert data["key2"] == ("abc", "xyz")

data = [(i + 1) ** 2 for i in range(size)] if rank == 0 else None
data = comm.scatter(data, root=0)
assert data == (rank + 1) ** 2

data = comm.gather((rank + 1) ** 2, root=0)
if rank == 0:
    assert data == [(i + 1) ** 2 for i in range(size)]
say("bcast/scatter/gather of Python objects")

# -- Collectives: VE arrays -------------------------------------------------------------------------
# broadcasting
if rank == 0:
    data = vp.arange(100, dtype="i")
else:
    data = vp.empty(100, dtype="i")
comm.Bcast(data, root=0)
assert (data.get() == np.arange(100)).all()

# scattering
sendbuf = None
if rank == 0:
    sendbuf = vp.empty([size, 100], dtype="i")
    sendbuf.T[:, :] = range(size)
recvbuf = vp.empty(100, dtype="i")
comm.Scatter(sendbuf, recvbuf, root=0)
assert (recvbuf.get() == rank).all()

# gathering
sendbuf = vp.zeros(100, dtype="i") + rank
recvbuf = None
if rank == 0:
    recvbuf = vp.empty([size, 100], dtype="i")
comm.Gather(sendbuf, recvbuf, root=0)
if rank == 0:
    for i in range(size):
        assert (recvbuf[i, :].get() == i).all()

# reductions
sendbuf = vp.arange(10, dtype=np.float64) * (rank + 1)
recvbuf = vp.empty(10, dtype=np.float64)
comm.Allreduce(sendbuf, recvbuf, op=MPI.SUM)
assert (recvbuf.get() == np.arange(10.0) * size * (size + 1) / 2).all()
say("Bcast/Scatter/Gather/Allreduce of VE arrays")

# -- Parallel matrix-vector product: y = A x with A distributed by rows ---------------------------
n = 4 * size
A = vp.array(np.add.outer(np.arange(rank * 4, rank * 4 + 4), np.arange(n)).astype(np.float64))
x = vp.array(np.ones(4, np.float64) * (rank + 1))     # each rank holds 4 entries of x
xg = vp.empty(n, dtype=np.float64)
comm.Allgather(x, xg)                                  # everybody gets the whole x
y = A.get() @ xg.get()                                 # (computed on the host in this sketch)
full = np.add.outer(np.arange(n), np.arange(n)) @ np.repeat(np.arange(1.0, size + 1), 4)
assert np.allclose(y, full[rank * 4:rank * 4 + 4])
say("parallel matrix-vector product")

if rank == 0:
    from mpi4pyve import veo
    print(f"tutorial done on {size} ranks; libmpive staged {veo.stats()['staged_calls']} calls on rank 0")
