! Declarations that differ between the Fortran binding styles; compile with -cpp and one of
! -DSTYLE_F08 (use mpi_f08), -DSTYLE_MPI (use mpi) or nothing (include 'mpif.h').
#if defined(STYLE_F08)
#define T_COMM type(MPI_Comm)
#define T_REQ type(MPI_Request)
#define T_STATUS type(MPI_Status)
#define T_DTYPE type(MPI_Datatype)
#define T_OP type(MPI_Op)
#define T_FILE type(MPI_File)
#define T_WIN type(MPI_Win)
#define T_MSG type(MPI_Message)
#define DECL_STATUSES(x, n) type(MPI_Status) :: x(n)
#define ST_SOURCE(s) s%MPI_SOURCE
#define ST_TAG(s) s%MPI_TAG
#define STS_SOURCE(s, i) s(i)%MPI_SOURCE
#define STS_TAG(s, i) s(i)%MPI_TAG
#define STS_ONE(s, i) s(i)
#else
#define T_COMM integer
#define T_REQ integer
#define T_STATUS integer, dimension(MPI_STATUS_SIZE)
#define T_DTYPE integer
#define T_OP integer
#define T_FILE integer
#define T_WIN integer
#define T_MSG integer
#define DECL_STATUSES(x, n) integer :: x(MPI_STATUS_SIZE, n)
#define ST_SOURCE(s) s(MPI_SOURCE)
#define ST_TAG(s) s(MPI_TAG)
#define STS_SOURCE(s, i) s(MPI_SOURCE, i)
#define STS_TAG(s, i) s(MPI_TAG, i)
#define STS_ONE(s, i) s(:, i)
#endif
