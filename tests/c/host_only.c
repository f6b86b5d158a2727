/*
 * A host-only MPI program: it must produce identical output with and without libmpive preloaded.
 * It runs the intercepted functions (and the refused ones, which are forwarded for host buffers) and
 * prints a checksum of every result on rank 0.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long sum_bytes(const void *p, size_t n) {
    unsigned long h = 1469598103934665603ul;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ul;
    return h;
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    enum { N = 4096 };
    int *a = malloc(N * sizeof(int) * size), *b = malloc(N * sizeof(int) * size);
    int counts[64], displs[64];
    unsigned long h = 0;
    for (int i = 0; i < N * size; i++) a[i] = rank * 7919 + i;
    for (int i = 0; i < size; i++) counts[i] = N / size, displs[i] = i * (N / size);

    MPI_Allreduce(a, b, N, MPI_INT, MPI_SUM, MPI_COMM_WORLD); h ^= sum_bytes(b, N * sizeof(int));
    MPI_Reduce(a, b, N, MPI_INT, MPI_MAX, 0, MPI_COMM_WORLD); if (rank == 0) h ^= sum_bytes(b, N * sizeof(int)) * 3;
    MPI_Bcast(a, N, MPI_INT, size - 1, MPI_COMM_WORLD); h ^= sum_bytes(a, N * sizeof(int)) * 5;
    MPI_Allgather(a, N, MPI_INT, b, N, MPI_INT, MPI_COMM_WORLD); h ^= sum_bytes(b, N * size * sizeof(int)) * 7;
    MPI_Alltoall(a, N / size, MPI_INT, b, N / size, MPI_INT, MPI_COMM_WORLD); h ^= sum_bytes(b, N * sizeof(int)) * 11;
    MPI_Alltoallv(a, counts, displs, MPI_INT, b, counts, displs, MPI_INT, MPI_COMM_WORLD); h ^= sum_bytes(b, N * sizeof(int)) * 13;
    MPI_Scan(a, b, N, MPI_INT, MPI_SUM, MPI_COMM_WORLD); h ^= sum_bytes(b, N * sizeof(int)) * 17;
    MPI_Reduce_scatter_block(a, b, N / size, MPI_INT, MPI_SUM, MPI_COMM_WORLD); h ^= sum_bytes(b, N / size * sizeof(int)) * 19;
    MPI_Allreduce(MPI_IN_PLACE, a, N, MPI_INT, MPI_BXOR, MPI_COMM_WORLD); h ^= sum_bytes(a, N * sizeof(int)) * 23;
    MPI_Sendrecv(a, N, MPI_INT, (rank + 1) % size, 0, b, N, MPI_INT, (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    h ^= sum_bytes(b, N * sizeof(int)) * 29;
    MPI_Sendrecv_replace(a, N, MPI_INT, (rank + 1) % size, 1, (rank + size - 1) % size, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    h ^= sum_bytes(a, N * sizeof(int)) * 31;
    /* buffered mode and a local reduction: refused only for VE buffers */
    {
        int bsize = N * sizeof(int) + MPI_BSEND_OVERHEAD;
        void *att = malloc(bsize);
        MPI_Buffer_attach(att, bsize);
        MPI_Bsend(a, N, MPI_INT, rank, 2, MPI_COMM_WORLD);
        MPI_Recv(b, N, MPI_INT, rank, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Buffer_detach(&att, &bsize);
        free(att);
        MPI_Reduce_local(a, b, N, MPI_INT, MPI_SUM);
        h ^= sum_bytes(b, N * sizeof(int)) * 37;
    }
    unsigned long all[64];
    MPI_Gather(&h, 1, MPI_UNSIGNED_LONG, all, 1, MPI_UNSIGNED_LONG, 0, MPI_COMM_WORLD);
    if (rank == 0)
        for (int i = 0; i < size; i++) printf("rank %d checksum %016lx\n", i, all[i]);
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
