raise NotImplementedError("mpi4pyve.futures: `python -m mpi4pyve.futures` is not supported: mpi4py-ve "
                          "does not support the futures package (no dynamic process management)")
