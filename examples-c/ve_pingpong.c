/*
 * VE ping-pong: rank 0 and rank 1 bounce a message between buffers in Vector Engine memory.
 *
 * Build with any MPI and run with libmpi-ve preloaded:
 *   mpicc ve_pingpong.c -o ve_pingpong -I<ve_offload.h dir> -L<libveo dir> -lveo
 *   LD_PRELOAD=libmpive.so mpirun -n 2 ./ve_pingpong
 * Without the preload MPI would be handed VE addresses it cannot read, and the program crashes.
 */
#include <mpi.h>
#include <ve_offload.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1024
#define ROUNDS 10

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        if (rank == 0) fprintf(stderr, "run with at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* A VE process and a buffer of N doubles in its memory. */
    struct veo_proc_handle *proc = veo_proc_create(0);
    double *ve_buf;
    if (!proc || veo_alloc_hmem(proc, (void **)&ve_buf, N * sizeof(double)) != 0) {
        fprintf(stderr, "rank %d: cannot allocate VE memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* Rank 0 writes 0, 1, 2, ... into VE memory. */
    double host[N];
    for (int i = 0; i < N; i++) host[i] = rank == 0 ? i : -1;
    veo_hmemcpy(ve_buf, host, sizeof host);

    /* Each round adds 1 to every element on rank 1, so after ROUNDS the data comes back + ROUNDS. */
    for (int r = 0; r < ROUNDS; r++) {
        if (rank == 0) {
            MPI_Send(ve_buf, N, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(ve_buf, N, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(ve_buf, N, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            veo_hmemcpy(host, ve_buf, sizeof host); /* "compute" on the data: +1 */
            for (int i = 0; i < N; i++) host[i] += 1;
            veo_hmemcpy(ve_buf, host, sizeof host);
            MPI_Send(ve_buf, N, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD);
        }
    }

    int bad = 0;
    if (rank == 0) {
        veo_hmemcpy(host, ve_buf, sizeof host);
        for (int i = 0; i < N; i++) bad += host[i] != i + ROUNDS;
        printf("ve_pingpong: %d round trips of %zu bytes from VE memory: %s\n", ROUNDS, sizeof host, bad ? "WRONG DATA" : "ok");
    }
    veo_free_hmem(ve_buf);
    veo_proc_destroy(proc);
    MPI_Finalize();
    return bad ? 1 : 0;
}
