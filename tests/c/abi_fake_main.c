/* Calls MPI_Init of whatever MPI it is given (tests/test_abi.py links it with libfakempi.so). */
#include <stdio.h>
int MPI_Init(int *argc, char ***argv);
int MPI_Finalize(void);
int main(int argc, char **argv) {
    int rc = MPI_Init(&argc, &argv);
    printf("MPI_Init returned %d\n", rc);
    MPI_Finalize();
    return 0;
}
