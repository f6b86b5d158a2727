/*
 * The receive order of MPI_Neighbor_alltoall on a periodic Cartesian grid whose dimensions have size 1
 * or 2 (the same neighbor twice, or the process itself), with host buffers, run without libmpive: it
 * shows what the MPI library itself does. Block 2d goes to the neighbor in the negative direction of
 * dimension d and block 2d+1 to the one in the positive direction; block 2d is received from the
 * negative neighbor, which sent it as its positive-direction block (2d+1), so the standard's rule is
 * "block 2d receives the neighbor's block 2d+1" (by direction). Prints which rule this MPI follows.
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    int rank, size, dims[2] = {0, 0}, periods[2] = {1, 1}, src[2][2], send[4], recv[4];
    MPI_Comm cart;
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Dims_create(size, 2, dims);
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    MPI_Comm_rank(cart, &rank);
    for (int d = 0; d < 2; d++) MPI_Cart_shift(cart, d, 1, &src[d][0], &src[d][1]);
    for (int k = 0; k < 4; k++) send[k] = 100 * rank + k, recv[k] = -1;
    MPI_Neighbor_alltoall(send, 1, MPI_INT, recv, 1, MPI_INT, cart);
    int direction = 1, position = 1;
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 2; j++) {
            int from = src[d][j]; /* j = 0: negative direction */
            direction &= recv[2 * d + j] == 100 * from + 2 * d + (1 - j);
            position &= recv[2 * d + j] == 100 * from + 2 * d + j;
        }
    int all[2] = {direction, position}, both[2];
    MPI_Allreduce(all, both, 2, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (rank == 0)
        printf("neighbor_order: %d ranks, dims %dx%d: %s\n", size, dims[0], dims[1],
               both[0] ? "by direction" : both[1] ? "by position" : "neither");
    MPI_Comm_free(&cart);
    MPI_Finalize();
    return 0;
}
