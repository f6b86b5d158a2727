#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/*
 * MPI_Ialltoallw (or MPI_Alltoallw with BLOCKING set) with MPI_IN_PLACE, as coll_blocking.c's
 * test_alltoallw: ints between ranks of equal parity, doubles otherwise, byte displacements with 12-byte
 * gaps; host buffers, run without libmpive: shows whether the MPI library itself gets it right
 * (MPICH 4.0.2 and Intel MPI 2021.19 do not, in their nonblocking form).
 */
int main(int argc, char **argv) {
    int rank, size, blocking = getenv("BLOCKING") != NULL;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int c[64], dsp[64], d = 8, bad = 0;
    MPI_Datatype t[64];
    for (int j = 0; j < size; j++) {
        int dbl = (rank + j) % 2;
        t[j] = dbl ? MPI_DOUBLE : MPI_INT; c[j] = 3 + rank + j; dsp[j] = d; d += c[j] * (dbl ? 8 : 4) + 12;
    }
    unsigned char *buf = malloc(d), *e = malloc(d);
    memset(buf, 0xdd, d);
    for (int j = 0; j < size; j++) for (int k = 0; k < c[j] * ((rank + j) % 2 ? 8 : 4); k++) buf[dsp[j] + k] = (unsigned char)(31 * rank + 7 * j + k);
    memset(e, 0xdd, d);
    for (int i = 0; i < size; i++) for (int k = 0; k < c[i] * ((rank + i) % 2 ? 8 : 4); k++) e[dsp[i] + k] = (unsigned char)(31 * i + 7 * rank + k);
    MPI_Request q;
    if (blocking) MPI_Alltoallw(MPI_IN_PLACE, c, dsp, t, buf, c, dsp, t, MPI_COMM_WORLD);
    else { MPI_Ialltoallw(MPI_IN_PLACE, c, dsp, t, buf, c, dsp, t, MPI_COMM_WORLD, &q); MPI_Wait(&q, MPI_STATUS_IGNORE); }
    bad = memcmp(buf, e, d) != 0;
    int all;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("alltoallw in place (%s): %s\n", blocking ? "blocking" : "nonblocking", all ? "WRONG" : "right");
    MPI_Finalize();
}
