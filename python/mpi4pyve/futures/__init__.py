"""mpi4py.futures is not supported by mpi4pyve (as in mpi4py-ve): it needs dynamic process management
(spawning workers) or pickles of arbitrary tasks between ranks that VE memory cannot take part in.
Importing works; using any of its executors raises NotImplementedError."""

__all__ = ["MPIPoolExecutor", "MPICommExecutor", "ThreadPoolExecutor", "ProcessPoolExecutor",
           "get_comm_workers", "collect", "compose", "as_completed", "wait", "Future"]

_WHY = ("mpi4pyve.futures: {} is not supported: mpi4py-ve does not support the futures package "
        "(it relies on dynamic process management, which is not available)")


def _unsupported(name):
    def fail(*args, **kwargs):
        raise NotImplementedError(_WHY.format(name))

    fail.__name__ = name
    return fail


class _Unsupported:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(_WHY.format(type(self).__name__))


class MPIPoolExecutor(_Unsupported):
    pass


class MPICommExecutor(_Unsupported):
    pass


class ThreadPoolExecutor(_Unsupported):
    pass


class ProcessPoolExecutor(_Unsupported):
    pass


class Future(_Unsupported):
    pass


get_comm_workers = _unsupported("get_comm_workers")
collect = _unsupported("collect")
compose = _unsupported("compose")
as_completed = _unsupported("as_completed")
wait = _unsupported("wait")
