/*
 * VE allreduce: every rank holds a vector in Vector Engine memory and they sum it with MPI_Allreduce,
 * straight from VE memory, first into a second VE buffer, then in place.
 *
 *   LD_PRELOAD=libmpive.so mpirun -n 4 ./ve_allreduce
 */
#include <mpi.h>
#include <ve_offload.h>
#include <stdio.h>
#include <stdlib.h>

#define N 100000

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    struct veo_proc_handle *proc = veo_proc_create(0);
    double *x, *sum;
    if (!proc || veo_alloc_hmem(proc, (void **)&x, N * sizeof(double)) || veo_alloc_hmem(proc, (void **)&sum, N * sizeof(double))) {
        fprintf(stderr, "rank %d: cannot allocate VE memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* x[i] = rank + i, written to the VE */
    double *host = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) host[i] = rank + i;
    veo_hmemcpy(x, host, N * sizeof(double));

    MPI_Allreduce(x, sum, N, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);   /* VE -> VE */
    MPI_Allreduce(MPI_IN_PLACE, x, N, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); /* in place, in VE memory */

    /* sum[i] = size * i + size * (size - 1) / 2; max x[i] = size - 1 + i */
    int bad = 0;
    veo_hmemcpy(host, sum, N * sizeof(double));
    for (int i = 0; i < N; i++) bad += host[i] != (double)size * i + size * (size - 1) / 2.0;
    veo_hmemcpy(host, x, N * sizeof(double));
    for (int i = 0; i < N; i++) bad += host[i] != size - 1.0 + i;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("ve_allreduce: sum and max of %d doubles over %d ranks in VE memory: %s\n", N, size, bad ? "WRONG DATA" : "ok");

    free(host);
    veo_free_hmem(x);
    veo_free_hmem(sum);
    veo_proc_destroy(proc);
    MPI_Finalize();
    return bad ? 1 : 0;
}
