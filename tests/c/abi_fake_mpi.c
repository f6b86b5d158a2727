/*
 * A stand-in "MPI library" for tests/test_abi.py: it defines just enough (PMPI_Init, PMPI_Finalize,
 * PMPI_Get_library_version, PMPI_Abi_get_version) for libmpive to try to identify it. Its version
 * string comes from FAKE_MPI_VERSION, its MPI_Abi_get_version answer from FAKE_ABI_VERSION
 * ("MAJOR.MINOR"; -1.-1 when unset). Built with the system cc as libfakempi.so; abi_fake_main.c links it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int PMPI_Init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    return 0;
}

int PMPI_Finalize(void) { return 0; }

int PMPI_Get_library_version(char *version, int *len) {
    const char *v = getenv("FAKE_MPI_VERSION");
    if (!v) v = "Mystery MPI 1.0";
    snprintf(version, 256, "%s", v);
    *len = (int)strlen(version);
    return 0;
}

int PMPI_Abi_get_version(int *major, int *minor) {
    const char *v = getenv("FAKE_ABI_VERSION");
    if (!v || sscanf(v, "%d.%d", major, minor) != 2) *major = *minor = -1;
    return 0;
}

/* The application's MPI_Init reaches libmpive's when it is preloaded; these are the library's own. */
int MPI_Init(int *argc, char ***argv) { return PMPI_Init(argc, argv); }
int MPI_Finalize(void) { return PMPI_Finalize(); }
