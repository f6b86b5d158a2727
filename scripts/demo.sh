#!/usr/bin/env bash
# The demo: unchanged MPI programs whose buffers live in (simulated) VE memory, run with libmpive
# preloaded under both Open MPI and MPICH.
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
echo "== demo done: VE buffers went through stock Open MPI and MPICH"
