! The C boundary from Fortran: run with the library built with the `fault-injection` feature and
! MPIVE_TEST_PANIC=FUNC (tests/test_panic.py). Rank 0 calls MPI_Send with a VE buffer under
! MPI_ERRORS_RETURN, whose Fortran entry point FUNC (the first argument) panics: ierror holds an error
! of class MPI_ERR_INTERN whose string names FUNC and the injected fault. Then both ranks go on: a
! barrier and a host message, checked value by value.
#include "style.h"
program panic
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 16
  real(8), pointer, contiguous :: v(:), hb(:)
  integer :: rank, ierr, cls, slen, e, i
  character(len=MPI_MAX_ERROR_STRING) :: msg
  character(len=64) :: func

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call ve_init()
  call get_command_argument(1, func)
  v => ve_alloc('v', n)
  hb => ve_alloc('h', n)
  call to_ve(v, [(1.0d0 * i, i = 1, n)])
  call MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN, ierr)

  if (rank == 0) then
    call MPI_Send(v, n, MPI_DOUBLE_PRECISION, 1, 11, MPI_COMM_WORLD, ierr)
    call check_int('ierror /= 0', merge(1, 0, ierr /= MPI_SUCCESS), 1)
    call MPI_Error_class(ierr, cls, e)
    call check_int('class MPI_ERR_INTERN', cls, MPI_ERR_INTERN)
    call MPI_Error_string(ierr, msg, slen, e)
    call check_int('string names the fault: ' // trim(msg), &
                   merge(1, 0, index(msg, 'fault injected into ' // trim(func)) > 0), 1)
  end if

  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  call check_int('host MPI_Barrier after the fault', ierr, MPI_SUCCESS)
  if (rank == 0) then
    call to_ve(hb, [(3.0d0 * i, i = 1, n)])
    call MPI_Send(hb, n, MPI_DOUBLE_PRECISION, 1, 12, MPI_COMM_WORLD, ierr)
    call check_int('host MPI_Send after the fault', ierr, MPI_SUCCESS)
  else if (rank == 1) then
    call MPI_Recv(hb, n, MPI_DOUBLE_PRECISION, 0, 12, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
    call check('host message after the fault', hb, [(3.0d0 * i, i = 1, n)])
  end if

  call report('panic', rank)
  call ve_free('v', v)
  call ve_free('h', hb)
  call MPI_Finalize(ierr)
end program panic
