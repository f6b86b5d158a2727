! MPI-IO from Fortran with buffers in VE memory: every rank writes its block of a shared file from VE
! memory (explicit offsets, individual and collective, blocking and nonblocking) and reads the next
! rank's block back into VE memory, checked value by value; a read past the end of the file changes
! only what was read. Argument: the file's path.
#include "style.h"
program f_io
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 500
  character(2), parameter :: places(2) = ['hv', 'vv']
  real(8), pointer, contiguous :: w(:), r(:)
  real(8) :: e(n)
  integer :: rank, np, ierr, i, k, next, cnt
  integer(kind=MPI_OFFSET_KIND) :: off, noff
  character(len=512) :: path
  T_FILE :: fh
  T_STATUS :: st
  T_REQ :: req

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, np, ierr)
  call ve_init()
  call get_command_argument(1, path)
  next = mod(rank + 1, np)

  do k = 1, 2
    w => ve_alloc(places(k)(1:1), n)
    r => ve_alloc(places(k)(2:2), n)
    call MPI_File_open(MPI_COMM_WORLD, trim(path), MPI_MODE_CREATE + MPI_MODE_RDWR, MPI_INFO_NULL, fh, ierr)
    call check_int(places(k) // ' File_open', ierr, MPI_SUCCESS)
    off = int(rank, MPI_OFFSET_KIND) * n * 8
    noff = int(next, MPI_OFFSET_KIND) * n * 8
    e = [(val(next, k, i), i = 1, n)]

    ! File_write_at / File_read_at
    call to_ve(w, [(val(rank, k, i), i = 1, n)])
    call MPI_File_write_at(fh, off, w, n, MPI_DOUBLE_PRECISION, st, ierr)
    call check_int(places(k) // ' File_write_at', ierr, MPI_SUCCESS)
    call MPI_File_sync(fh, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call MPI_File_sync(fh, ierr)
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_File_read_at(fh, noff, r, n, MPI_DOUBLE_PRECISION, st, ierr)
    call MPI_Get_count(st, MPI_DOUBLE_PRECISION, cnt, ierr)
    call check_int(places(k) // ' File_read_at count', cnt, n)
    call check(places(k) // ' File_write_at/read_at', r, e)

    ! collective forms, writing 10 more into every value
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call to_ve(w, [(val(rank, k, i) + 10, i = 1, n)])
    call MPI_File_write_at_all(fh, off, w, n, MPI_DOUBLE_PRECISION, MPI_STATUS_IGNORE, ierr)
    call MPI_File_sync(fh, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call MPI_File_sync(fh, ierr)
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_File_read_at_all(fh, noff, r, n, MPI_DOUBLE_PRECISION, MPI_STATUS_IGNORE, ierr)
    call check(places(k) // ' File_write_at_all/read_at_all', r, e + 10)

    ! nonblocking forms
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call to_ve(w, [(val(rank, k, i) + 20, i = 1, n)])
    call MPI_File_iwrite_at(fh, off, w, n, MPI_DOUBLE_PRECISION, req, ierr)
    call MPI_Wait(req, MPI_STATUS_IGNORE, ierr)
    call MPI_File_sync(fh, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call MPI_File_sync(fh, ierr)
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_File_iread_at(fh, noff, r, n, MPI_DOUBLE_PRECISION, req, ierr)
    call MPI_Wait(req, st, ierr)
    call check(places(k) // ' File_iwrite_at/iread_at', r, e + 20)

    ! a read past the end: only the values that exist arrive
    if (rank == np - 1) then
      call to_ve(r, [(-1.0d0, i = 1, n)])
      call MPI_File_read_at(fh, off + (n / 2) * 8, r, n, MPI_DOUBLE_PRECISION, st, ierr)
      call MPI_Get_count(st, MPI_DOUBLE_PRECISION, cnt, ierr)
      call check_int(places(k) // ' short read count', cnt, n - n / 2)
      call check(places(k) // ' short read', r, [([(val(rank, k, i) + 20, i = n / 2 + 1, n)]), (-1.0d0, i = 1, n / 2)])
    end if

    call MPI_File_close(fh, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    if (rank == 0) call MPI_File_delete(trim(path), MPI_INFO_NULL, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    call ve_free(places(k)(1:1), w)
    call ve_free(places(k)(2:2), r)
  end do

  call report('f_io', rank)
  call MPI_Finalize(ierr)

contains

  real(8) function val(q, k, i)
    integer, intent(in) :: q, k, i
    val = 100000.0d0 * q + 1000.0d0 * k + i
  end function

end program f_io
