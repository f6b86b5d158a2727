! Refused calls from Fortran: with MPI_ERRORS_RETURN, MPI_Bsend, MPI_Ibsend, MPI_Bsend_init,
! MPI_Buffer_attach and MPI_Reduce_local with a VE buffer return an error of class
! MPI_ERR_UNSUPPORTED_OPERATION in ierror, whose string names the call; with host buffers they work;
! MPI_Open_port is refused always. With the argument "fatal", MPI_Bsend with a VE buffer under the
! default handler aborts the program.
#include "style.h"
program f_errors
  use vetest
  use iso_c_binding, only: c_ptr
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 16
  real(8), pointer, contiguous :: v(:), hb(:), r(:)
  real(8), target :: attach(2000)
  integer :: rank, ierr, cls, slen, i, asize
  character(len=MPI_MAX_ERROR_STRING) :: msg
  character(len=MPI_MAX_PORT_NAME) :: port
  character(len=16) :: arg
  T_REQ :: req
  type(c_ptr) :: daddr

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call ve_init()
  v => ve_alloc('v', n)
  hb => ve_alloc('h', n)
  r => ve_alloc('h', n)
  call to_ve(v, [(1.0d0 * i, i = 1, n)])
  call get_command_argument(1, arg)

  if (arg == 'fatal') then
    call MPI_Bsend(v, n, MPI_DOUBLE_PRECISION, rank, 1, MPI_COMM_WORLD, ierr)
    print *, 'MPI_Bsend returned under MPI_ERRORS_ARE_FATAL'
    call MPI_Finalize(ierr)
    stop
  end if

  call MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN, ierr)

  call MPI_Bsend(v, n, MPI_DOUBLE_PRECISION, rank, 1, MPI_COMM_WORLD, ierr)
  call expect_refused('MPI_Bsend', ierr)
  call MPI_Ibsend(v, n, MPI_DOUBLE_PRECISION, rank, 1, MPI_COMM_WORLD, req, ierr)
  call expect_refused('MPI_Ibsend', ierr)
  call MPI_Bsend_init(v, n, MPI_DOUBLE_PRECISION, rank, 1, MPI_COMM_WORLD, req, ierr)
  call expect_refused('MPI_Bsend_init', ierr)
  call MPI_Buffer_attach(v, 8 * n, ierr)
  call expect_refused('MPI_Buffer_attach', ierr)
  call MPI_Reduce_local(v, hb, n, MPI_DOUBLE_PRECISION, MPI_SUM, ierr)
  call expect_refused('MPI_Reduce_local', ierr)
  call MPI_Open_port(MPI_INFO_NULL, port, ierr)
  call expect_refused('MPI_Open_port', ierr)

  ! host buffers are forwarded: buffered send to self through an attached host buffer
  call MPI_Buffer_attach(attach, 8 * size(attach), ierr)
  call check_int('host Buffer_attach', ierr, MPI_SUCCESS)
  call to_ve(hb, [(2.0d0 * i, i = 1, n)])
  call MPI_Bsend(hb, n, MPI_DOUBLE_PRECISION, rank, 2, MPI_COMM_WORLD, ierr)
  call check_int('host Bsend', ierr, MPI_SUCCESS)
  call MPI_Recv(r, n, MPI_DOUBLE_PRECISION, rank, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
  call check('host Bsend data', r, [(2.0d0 * i, i = 1, n)])
#if defined(STYLE_F08)
  call MPI_Buffer_detach(daddr, asize, ierr)
#else
  call MPI_Buffer_detach(attach, asize, ierr)
#endif
  call check_int('host Buffer_detach size', asize, 8 * size(attach))
  ! and a VE send still works after the refusals
  call MPI_Sendrecv(v, n, MPI_DOUBLE_PRECISION, rank, 3, r, n, MPI_DOUBLE_PRECISION, rank, 3, MPI_COMM_WORLD, &
                    MPI_STATUS_IGNORE, ierr)
  call check('VE Sendrecv after refusals', r, [(1.0d0 * i, i = 1, n)])

  call report('f_errors', rank)
  call MPI_Finalize(ierr)

contains

  subroutine expect_refused(name, code)
    character(*), intent(in) :: name
    integer, intent(in) :: code
    integer :: e
    call check_int(name // ' ierror /= 0', merge(1, 0, code /= MPI_SUCCESS), 1)
    call MPI_Error_class(code, cls, e)
    call check_int(name // ' class', cls, MPI_ERR_UNSUPPORTED_OPERATION)
    call MPI_Error_string(code, msg, slen, e)
    call check_int(name // ' string names the call: ' // trim(msg), merge(1, 0, index(msg, name) > 0), 1)
    call check_int(name // ' string says why: ' // trim(msg), merge(1, 0, index(msg, 'not supported') > 0), 1)
  end subroutine

end program f_errors
