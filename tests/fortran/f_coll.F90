! Collectives from Fortran with buffers in VE memory: Bcast, Reduce, Allreduce, Gather(v), Scatter(v),
! Allgather(v), Alltoall(v,w), Reduce_scatter(_block), Scan, Exscan, Ibcast, Iallreduce, with
! MPI_IN_PLACE where the call allows it, for every placement (uniform, then rotating with the rank),
! checked value by value.
#include "style.h"
program f_coll
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 50
  character(2), parameter :: places(4) = ['hh', 'hv', 'vh', 'vv']
  real(8), pointer, contiguous :: s(:), r(:)
  real(8), allocatable :: e(:), h(:)
  integer :: rank, np, ierr, k, i, j, root, tot, round
  integer, allocatable :: cnt(:), dsp(:), scnt(:), sdsp(:), rcnt(:), rdsp(:), sdb(:), rdb(:)
  T_DTYPE, allocatable :: types(:)
  T_REQ :: req
  character :: ps, pr
  character(2) :: pl

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, np, ierr)
  call ve_init()
  allocate(e(n * np * np + 3 * np), h(n * np * np + 3 * np))
  allocate(cnt(np), dsp(np), scnt(np), sdsp(np), rcnt(np), rdsp(np), sdb(np), rdb(np), types(np))

  do round = 1, 8
    if (round <= 4) then
      pl = places(round)
    else
      pl = places(mod(round + rank, 4) + 1)
    end if
    ps = pl(1:1)
    pr = pl(2:2)
    root = mod(round, np)

    ! ---- Bcast, Ibcast
    r => ve_alloc(pr, n)
    if (rank == root) then
      call to_ve(r, [(val(root, i), i = 1, n)])
    else
      call to_ve(r, [(-1.0d0, i = 1, n)])
    end if
    call MPI_Bcast(r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    call check(pl // ' Bcast', r, [(val(root, i), i = 1, n)])
    if (rank /= root) call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Ibcast(r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, req, ierr)
    call MPI_Wait(req, MPI_STATUS_IGNORE, ierr)
    call check(pl // ' Ibcast', r, [(val(root, i), i = 1, n)])
    call ve_free(pr, r)

    ! ---- Reduce, Allreduce (and in place), Iallreduce, Scan, Exscan
    s => ve_alloc(ps, n)
    r => ve_alloc(pr, n)
    call to_ve(s, [(val(rank, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Reduce(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, root, MPI_COMM_WORLD, ierr)
    if (rank == root) call check(pl // ' Reduce', r, [(sum_to(np - 1, i), i = 1, n)])
    if (rank == root) then
      call to_ve(r, [(val(rank, i), i = 1, n)])
      call MPI_Reduce(MPI_IN_PLACE, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, root, MPI_COMM_WORLD, ierr)
      call check(pl // ' Reduce IN_PLACE', r, [(sum_to(np - 1, i), i = 1, n)])
    else
      call MPI_Reduce(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, root, MPI_COMM_WORLD, ierr)
    end if
    call MPI_Allreduce(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    call check(pl // ' Allreduce', r, [(sum_to(np - 1, i), i = 1, n)])
    call to_ve(r, [(val(rank, i), i = 1, n)])
    call MPI_Allreduce(MPI_IN_PLACE, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    call check(pl // ' Allreduce IN_PLACE', r, [(sum_to(np - 1, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Iallreduce(s, r, n, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, req, ierr)
    call MPI_Wait(req, MPI_STATUS_IGNORE, ierr)
    call check(pl // ' Iallreduce MAX', r, [(val(np - 1, i), i = 1, n)])
    call MPI_Scan(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    call check(pl // ' Scan', r, [(sum_to(rank, i), i = 1, n)])
    call to_ve(r, [(-5.0d0, i = 1, n)])
    call MPI_Exscan(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    if (rank > 0) call check(pl // ' Exscan', r, [(sum_to(rank - 1, i), i = 1, n)])
    call ve_free(ps, s)
    call ve_free(pr, r)

    ! ---- Gather (and in place at the root), Allgather (and in place), Scatter, Alltoall
    s => ve_alloc(ps, n * np)
    r => ve_alloc(pr, n * np)
    call to_ve(s, [(val(rank, i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, n * np)])
    e(1:n * np) = [((val(k, i), i = 1, n), k = 0, np - 1)]
    call MPI_Gather(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    if (rank == root) call check(pl // ' Gather', r, e(1:n * np))
    if (rank == root) then
      call to_ve(r, [((merge(val(k, i), -1.0d0, k == rank), i = 1, n), k = 0, np - 1)])
      call MPI_Gather(MPI_IN_PLACE, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
      call check(pl // ' Gather IN_PLACE', r, e(1:n * np))
    else
      call MPI_Gather(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    end if
    call to_ve(r, [(-1.0d0, i = 1, n * np)])
    call MPI_Allgather(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD, ierr)
    call check(pl // ' Allgather', r, e(1:n * np))
    call to_ve(r, [((merge(val(k, i), -1.0d0, k == rank), i = 1, n), k = 0, np - 1)])
    call MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, r, n, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD, ierr)
    call check(pl // ' Allgather IN_PLACE', r, e(1:n * np))
    ! Scatter from the root: block k goes to rank k
    call to_ve(s, [((val(k, 100 + i), i = 1, n), k = 0, np - 1)])
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Scatter(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    call check(pl // ' Scatter', r, [(val(rank, 100 + i), i = 1, n)])
    ! Alltoall: block k of rank j holds val(j, 1000 * k + i)
    call to_ve(s, [((val(rank, 1000 * k + i), i = 1, n), k = 0, np - 1)])
    call to_ve(r, [(-1.0d0, i = 1, n * np)])
    call MPI_Alltoall(s, n, MPI_DOUBLE_PRECISION, r, n, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD, ierr)
    call check(pl // ' Alltoall', r, [((val(j, 1000 * rank + i), i = 1, n), j = 0, np - 1)])
    call ve_free(ps, s)
    call ve_free(pr, r)

    ! ---- v variants: rank k contributes k + 1 values, blocks 2 apart (the gaps keep -1)
    tot = 0
    do k = 1, np
      cnt(k) = k
      dsp(k) = tot
      tot = tot + k + 2
    end do
    e(1:tot) = -1.0d0
    do k = 1, np
      e(dsp(k) + 1:dsp(k) + k) = [(val(k - 1, i), i = 1, k)]
    end do
    s => ve_alloc(ps, tot)
    r => ve_alloc(pr, tot)
    call to_ve(s, [(val(rank, i), i = 1, rank + 1)])
    call to_ve(r, [(-1.0d0, i = 1, tot)])
    call MPI_Gatherv(s, rank + 1, MPI_DOUBLE_PRECISION, r, cnt, dsp, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    if (rank == root) call check(pl // ' Gatherv', r, e(1:tot))
    call to_ve(r, [(-1.0d0, i = 1, tot)])
    call MPI_Allgatherv(s, rank + 1, MPI_DOUBLE_PRECISION, r, cnt, dsp, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD, ierr)
    call check(pl // ' Allgatherv', r, e(1:tot))
    call to_ve(s, e(1:tot))
    call to_ve(r, [(-1.0d0, i = 1, tot)])
    call MPI_Scatterv(s, cnt, dsp, MPI_DOUBLE_PRECISION, r, rank + 1, MPI_DOUBLE_PRECISION, root, MPI_COMM_WORLD, ierr)
    call check(pl // ' Scatterv', r, [(val(rank, i), i = 1, rank + 1)])
    call ve_free(ps, s)
    call ve_free(pr, r)

    ! ---- Alltoallv and Alltoallw: k + 1 values from every rank to rank k (w: byte displacements)
    tot = 0
    do k = 1, np
      scnt(k) = k
      sdsp(k) = tot
      sdb(k) = 8 * tot
      tot = tot + k
      rcnt(k) = rank + 1
      rdsp(k) = (k - 1) * (rank + 1)
      rdb(k) = 8 * rdsp(k)
      types(k) = MPI_DOUBLE_PRECISION
    end do
    s => ve_alloc(ps, tot)
    r => ve_alloc(pr, np * (rank + 1))
    do k = 1, np
      h(sdsp(k) + 1:sdsp(k) + k) = [(val(rank, 1000 * k + i), i = 1, k)]
    end do
    call to_ve(s, h(1:tot))
    do k = 1, np
      e(rdsp(k) + 1:rdsp(k) + rank + 1) = [(val(k - 1, 1000 * (rank + 1) + i), i = 1, rank + 1)]
    end do
    call to_ve(r, [(-1.0d0, i = 1, np * (rank + 1))])
    call MPI_Alltoallv(s, scnt, sdsp, MPI_DOUBLE_PRECISION, r, rcnt, rdsp, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD, ierr)
    call check(pl // ' Alltoallv', r, e(1:np * (rank + 1)))
    call to_ve(r, [(-1.0d0, i = 1, np * (rank + 1))])
    call MPI_Alltoallw(s, scnt, sdb, types, r, rcnt, rdb, types, MPI_COMM_WORLD, ierr)
    call check(pl // ' Alltoallw', r, e(1:np * (rank + 1)))
    call ve_free(ps, s)
    call ve_free(pr, r)

    ! ---- Reduce_scatter_block (n each), Reduce_scatter (k + 1 to rank k)
    s => ve_alloc(ps, n * np)
    r => ve_alloc(pr, n)
    call to_ve(s, [(val(rank, i), i = 1, n * np)])
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Reduce_scatter_block(s, r, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    call check(pl // ' Reduce_scatter_block', r, [(sum_to(np - 1, rank * n + i), i = 1, n)])
    call to_ve(r, [(-1.0d0, i = 1, n)])
    call MPI_Reduce_scatter(s, r, cnt, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    j = rank * (rank + 1) / 2
    call check(pl // ' Reduce_scatter', r, [(sum_to(np - 1, j + i), i = 1, rank + 1)])
    call ve_free(ps, s)
    call ve_free(pr, r)
  end do

  call report('f_coll', rank)
  call MPI_Finalize(ierr)

contains

  real(8) function val(k, i)
    integer, intent(in) :: k, i
    val = 10000.0d0 * k + i
  end function

  ! val(0, i) + ... + val(m, i)
  real(8) function sum_to(m, i)
    integer, intent(in) :: m, i
    integer :: q
    sum_to = 0
    do q = 0, m
      sum_to = sum_to + val(q, i)
    end do
  end function

end program f_coll
