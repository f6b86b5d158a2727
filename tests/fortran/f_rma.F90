! One-sided communication from Fortran with origin buffers in VE memory: MPI_Put and MPI_Get into a
! window in host memory, under MPI_Win_fence, and under MPI_Win_lock/unlock; checked value by value.
#include "style.h"
program f_rma
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 300
  character, parameter :: places(2) = ['h', 'v']
  real(8), pointer, contiguous :: o(:)
  real(8), target :: winbuf(n)
  integer :: rank, np, ierr, i, k, next, prev
  integer(kind=MPI_ADDRESS_KIND) :: wsize, disp
  T_WIN :: win

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, np, ierr)
  call ve_init()
  next = mod(rank + 1, np)
  prev = mod(rank + np - 1, np)
  wsize = 8 * n
  disp = 0

  do k = 1, 2
    winbuf = -1.0d0
    call MPI_Win_create(winbuf, wsize, 8, MPI_INFO_NULL, MPI_COMM_WORLD, win, ierr)
    o => ve_alloc(places(k), n)

    ! Put my values into the next rank's window
    call to_ve(o, [(val(rank, k, i), i = 1, n)])
    call MPI_Win_fence(0, win, ierr)
    call MPI_Put(o, n, MPI_DOUBLE_PRECISION, next, disp, n, MPI_DOUBLE_PRECISION, win, ierr)
    call MPI_Win_fence(0, win, ierr)
    call check_int(places(k) // ' Put ierror', ierr, MPI_SUCCESS)
    call check_host(places(k) // ' Put under fence', winbuf, [(val(prev, k, i), i = 1, n)])

    ! Get the previous rank's window (which holds the values of the rank before it) into VE memory
    call to_ve(o, [(-1.0d0, i = 1, n)])
    call MPI_Win_fence(0, win, ierr)
    call MPI_Get(o, n, MPI_DOUBLE_PRECISION, prev, disp, n, MPI_DOUBLE_PRECISION, win, ierr)
    call MPI_Win_fence(0, win, ierr)
    call check(places(k) // ' Get under fence', o, [(val(mod(prev + np - 1, np), k, i), i = 1, n)])

    ! passive target: lock, Get, unlock
    call to_ve(o, [(-1.0d0, i = 1, n)])
    call MPI_Win_lock(MPI_LOCK_SHARED, next, 0, win, ierr)
    call MPI_Get(o, n, MPI_DOUBLE_PRECISION, next, disp, n, MPI_DOUBLE_PRECISION, win, ierr)
    call MPI_Win_unlock(next, win, ierr)
    call check(places(k) // ' Get under lock', o, [(val(rank, k, i), i = 1, n)])

    call MPI_Win_fence(0, win, ierr)
    call MPI_Win_free(win, ierr)
    call ve_free(places(k), o)
  end do

  call report('f_rma', rank)
  call MPI_Finalize(ierr)

contains

  real(8) function val(q, k, i)
    integer, intent(in) :: q, k, i
    val = 100000.0d0 * q + 1000.0d0 * k + i
  end function

  subroutine check_host(what, got, expected)
    character(*), intent(in) :: what
    real(8), intent(in) :: got(:), expected(:)
    vt_nchecks = vt_nchecks + 1
    if (any(got /= expected)) then
      vt_nfail = vt_nfail + 1
      print '(a, a)', what, ': wrong values in the window'
    end if
  end subroutine

end program f_rma
