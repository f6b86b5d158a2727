#!/usr/bin/env bash
# The demo: unchanged MPI programs whose buffers live in (simulated) VE memory, run with libmpive
# preloaded under both Open MPI and MPICH; then mpi4py-ve's tutorial in Python (mpi4pyve).
set -euo pipefail
cd "$(dirname "$0")/.."
R=$PWD/target/release
[ -e "$R/libveo.so.1" ] || ln -s libveo.so "$R/libveo.so.1"
mkdir -p build/demo
export MPIVE_VEO_LIB=$R/libveo.so
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

for mpi in openmpi mpich; do
    for ex in ve_pingpong ve_allreduce; do
        mpicc.$mpi examples-c/$ex.c -o build/demo/${ex}_$mpi -Isimve/include -L"$R" -lveo -Wl,-rpath,"$R"
    done
done

for mpi in openmpi mpich; do
    echo "== $mpi: LD_PRELOAD=libmpive.so mpirun -n 2 ve_pingpong; mpirun -n 4 ve_allreduce"
    if [ $mpi = openmpi ]; then fwd=(-x LD_PRELOAD="$R/libmpive.so" -x MPIVE_VEO_LIB); else fwd=(-genv LD_PRELOAD "$R/libmpive.so"); fi
    mpirun.$mpi -np 2 "${fwd[@]}" build/demo/ve_pingpong_$mpi
    mpirun.$mpi -np 4 "${fwd[@]}" build/demo/ve_allreduce_$mpi
done
# Python: mpi4pyve (installed into .venv by setup.sh) on the stock mpi4py wheels, no LD_PRELOAD: the
# package opens libmpive from the build tree before mpi4py loads the MPI library.
# mpi4py's MPICH build links libmpi.so.12; Debian ships MPICH as libmpich.so.12.
mkdir -p build/mpich-abi
[ -e build/mpich-abi/libmpi.so.12 ] ||
    ln -s "$(/sbin/ldconfig -p | awk '/libmpich\.so\.12 .*x86-64/ {print $NF; exit}')" build/mpich-abi/libmpi.so.12
for mpi in openmpi mpich; do
    echo "== $mpi: mpirun -n 4 python -m mpi4pyve examples-python/tutorial.py"
    if [ $mpi = openmpi ]; then
        MPI4PY_LIBMPI=libmpi.so.40 mpirun.openmpi -np 4 -x MPI4PY_LIBMPI -x MPIVE_VEO_LIB \
            .venv/bin/python -m mpi4pyve examples-python/tutorial.py
    else
        MPI4PY_LIBMPI=libmpich.so.12 LD_LIBRARY_PATH="$PWD/build/mpich-abi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            mpirun.mpich -np 4 .venv/bin/python -m mpi4pyve examples-python/tutorial.py
    fi
done
echo "== demo done: VE buffers went through stock Open MPI and MPICH, from C and from Python"
