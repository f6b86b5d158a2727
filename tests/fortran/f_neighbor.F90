! Neighbor collectives from Fortran with buffers in VE memory on a ring (a distributed graph whose
! in- and out-neighbors are [left, right]; MPICH 4.0's own mpi_f08 MPI_Neighbor_alltoallw works only on
! distributed graphs):
! Neighbor_allgather(v), Neighbor_alltoall(v,w) and Ineighbor_alltoallv, every placement, checked value
! by value (the w form converts arrays of datatypes and MPI_ADDRESS_KIND displacements).
#include "style.h"
program f_neighbor
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 40
  character(2), parameter :: places(4) = ['hh', 'hv', 'vh', 'vv']
  real(8), pointer, contiguous :: s(:), r(:)
  real(8) :: e(4 * n + 4)
  integer :: rank, np, ierr, k, i, left, right, ip
  integer :: cnt(2), dsp(2), rcnt(2), rdsp(2)
  integer(kind=MPI_ADDRESS_KIND) :: sdb(2), rdb(2)
  T_DTYPE :: types(2)
  T_COMM :: ring
  T_REQ :: req
  character(2) :: pl

  call MPI_Init(ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, np, ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  left = mod(rank + np - 1, np)
  right = mod(rank + 1, np)
  call MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, [left, right], MPI_UNWEIGHTED, 2, [left, right], &
                                      MPI_UNWEIGHTED, MPI_INFO_NULL, .false., ring, ierr)
  call ve_init()

  do ip = 1, 4
    pl = places(ip)
    s => ve_alloc(pl(1:1), 2 * n)
    r => ve_alloc(pl(2:2), 2 * n + 4)

    ! allgather: my n values to both neighbors; receive [left's, right's]
    call to_ve(s, [(val(rank, 0, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, 2 * n)])
    call MPI_Neighbor_allgather(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, ring, ierr)
    call check(pl // ' Neighbor_allgather', r, [(val(left, 0, i), i = 1, n), (val(right, 0, i), i = 1, n)])

    ! alltoall: block 1 goes left, block 2 right; I receive left's block 2 and right's block 1
    call to_ve(s, [(val(rank, 1, i), i = 1, n), (val(rank, 2, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, 2 * n)])
    call MPI_Neighbor_alltoall(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, ring, ierr)
    e(1:2 * n) = [(val(left, 2, i), i = 1, n), (val(right, 1, i), i = 1, n)]
    call check(pl // ' Neighbor_alltoall', r, e(1:2 * n))

    ! allgatherv: blocks of n at 0 and n + 4 (the gap keeps -1)
    call to_ve(s, [(val(rank, 0, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, 2 * n + 4)])
    cnt = [n, n]
    dsp = [0, n + 4]
    call MPI_Neighbor_allgatherv(s, n, MPI_DOUBLE_PRECISION, r, cnt, dsp, MPI_DOUBLE_PRECISION, ring, ierr)
    call check(pl // ' Neighbor_allgatherv', r, [(val(left, 0, i), i = 1, n), (-1.0d0, i = 1, 4), (val(right, 0, i), i = 1, n)])

    ! alltoallv and Ineighbor_alltoallv: n - 1 values left, n values right
    call to_ve(s, [(val(rank, 1, i), i = 1, n), (val(rank, 2, i), i = 1, n)])
    cnt = [n - 1, n]
    dsp = [0, n]
    rcnt = [n, n - 1]
    rdsp = [0, n + 4]
    e(1:2 * n + 4) = -1.0d0
    e(1:n) = [(val(left, 2, i), i = 1, n)]
    e(n + 5:2 * n + 3) = [(val(right, 1, i), i = 1, n - 1)]
    call to_ve(r, [(-1.0d0, i = 1, 2 * n + 4)])
    call MPI_Neighbor_alltoallv(s, cnt, dsp, MPI_DOUBLE_PRECISION, r, rcnt, rdsp, MPI_DOUBLE_PRECISION, ring, ierr)
    call check(pl // ' Neighbor_alltoallv', r, e(1:2 * n + 4))
    call to_ve(r, [(-1.0d0, i = 1, 2 * n + 4)])
    call MPI_Ineighbor_alltoallv(s, cnt, dsp, MPI_DOUBLE_PRECISION, r, rcnt, rdsp, MPI_DOUBLE_PRECISION, ring, req, ierr)
    call MPI_Wait(req, MPI_STATUS_IGNORE, ierr)
    call check(pl // ' Ineighbor_alltoallv', r, e(1:2 * n + 4))

    ! alltoallw: the same with byte displacements and a datatype per neighbor
    sdb = 8 * int(dsp, MPI_ADDRESS_KIND)
    rdb = 8 * int(rdsp, MPI_ADDRESS_KIND)
    types = [MPI_DOUBLE_PRECISION, MPI_DOUBLE_PRECISION]
    call to_ve(r, [(-1.0d0, i = 1, 2 * n + 4)])
    call MPI_Neighbor_alltoallw(s, cnt, sdb, types, r, rcnt, rdb, types, ring, ierr)
    call check(pl // ' Neighbor_alltoallw', r, e(1:2 * n + 4))

    call ve_free(pl(1:1), s)
    call ve_free(pl(2:2), r)
  end do

  call report('f_neighbor', rank)
  call MPI_Finalize(ierr)

contains

  real(8) function val(q, b, i)
    integer, intent(in) :: q, b, i
    val = 10000.0d0 * q + 1000.0d0 * b + i
  end function

end program f_neighbor
