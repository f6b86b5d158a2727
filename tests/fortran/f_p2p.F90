! Point-to-point from Fortran with buffers in VE memory: blocking (Send, Ssend, Recv with a status,
! Sendrecv, Sendrecv_replace, a short message), nonblocking (Wait, Waitall, Test, Waitany, Waitsome,
! Request_get_status), matched (Mprobe/Mrecv, Improbe/Imrecv) and persistent (Send_init/Recv_init with
! Start, Startall), for every placement
! of the send and receive buffers (host h, VE v), checked value by value. Ranks 0 and 1 talk; others idle.
#include "style.h"
program f_p2p
  use vetest
#include "use_mpi.h"
  implicit none
#include "mpif.h.inc"
  integer, parameter :: n = 1000
#if defined(STYLE_F08) && defined(INDEX0)
  ! MPICH 4.0's mpi_f08 Waitany/Waitsome return 0-based indices (its own binding, with or without
  ! libmpive); the driver defines INDEX0 there.
  integer, parameter :: ibase = 0
#else
  integer, parameter :: ibase = 1
#endif
  character(2), parameter :: places(4) = ['hh', 'hv', 'vh', 'vv']
  real(8), pointer, contiguous :: sbuf(:), rbuf(:), sbuf2(:), rbuf2(:)
  real(8) :: pat0(n), pat1(n), expect(n)
  integer :: rank, nprocs, ierr, ip, peer, i, cnt, idx, outcount, round, indices(2)
  logical :: flag
  character :: ps, pr
  T_STATUS :: st
  T_REQ :: req, reqs(2)
  T_MSG :: msg
  DECL_STATUSES(sts, 2)

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs, ierr)
  call ve_init()
  peer = 1 - rank

  do ip = 1, 4
    ps = places(ip)(1:1)
    pr = places(ip)(2:2)
    pat0 = [(1000.0d0 * ip + i, i = 1, n)]
    pat1 = [(-1000.0d0 * ip - i, i = 1, n)]
    if (rank > 1) cycle
    sbuf => ve_alloc(ps, n)
    rbuf => ve_alloc(pr, n)
    sbuf2 => ve_alloc(ps, n)
    rbuf2 => ve_alloc(pr, n)

    ! ---- blocking: Send/Recv with a status, then Ssend/Recv with MPI_STATUS_IGNORE back
    if (rank == 0) then
      call to_ve(sbuf, pat0)
      call MPI_Send(sbuf, n, MPI_DOUBLE_PRECISION, 1, 10 + ip, MPI_COMM_WORLD, ierr)
      call check_int(places(ip) // ' Send ierror', ierr, MPI_SUCCESS)
      call MPI_Recv(rbuf, n, MPI_DOUBLE_PRECISION, 1, 20 + ip, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
      call check(places(ip) // ' Ssend->Recv', rbuf, pat1)
    else
      call to_ve(rbuf, [(0.0d0, i = 1, n)])
      call MPI_Recv(rbuf, n, MPI_DOUBLE_PRECISION, 0, MPI_ANY_TAG, MPI_COMM_WORLD, st, ierr)
      call check(places(ip) // ' Send->Recv', rbuf, pat0)
      call check_int(places(ip) // ' status source', ST_SOURCE(st), 0)
      call check_int(places(ip) // ' status tag', ST_TAG(st), 10 + ip)
      call MPI_Get_count(st, MPI_DOUBLE_PRECISION, cnt, ierr)
      call check_int(places(ip) // ' Get_count', cnt, n)
      call to_ve(sbuf, pat1)
      call MPI_Ssend(sbuf, n, MPI_DOUBLE_PRECISION, 0, 20 + ip, MPI_COMM_WORLD, ierr)
    end if

    ! ---- a short message: only the received elements change
    if (rank == 0) then
      call to_ve(sbuf, pat0)
      call MPI_Send(sbuf, n / 2, MPI_DOUBLE_PRECISION, 1, 30, MPI_COMM_WORLD, ierr)
    else
      call to_ve(rbuf, [(-7.0d0, i = 1, n)])
      call MPI_Recv(rbuf, n, MPI_DOUBLE_PRECISION, 0, 30, MPI_COMM_WORLD, st, ierr)
      expect = -7.0d0
      expect(1:n / 2) = pat0(1:n / 2)
      call check(places(ip) // ' short Recv', rbuf, expect)
      call MPI_Get_count(st, MPI_DOUBLE_PRECISION, cnt, ierr)
      call check_int(places(ip) // ' short Get_count', cnt, n / 2)
    end if

    ! ---- Sendrecv and Sendrecv_replace
    if (rank == 0) then
      call to_ve(sbuf, pat0)
    else
      call to_ve(sbuf, pat1)
    end if
    call MPI_Sendrecv(sbuf, n, MPI_DOUBLE_PRECISION, peer, 40, rbuf, n, MPI_DOUBLE_PRECISION, peer, 40, &
                      MPI_COMM_WORLD, st, ierr)
    if (rank == 0) then
      call check(places(ip) // ' Sendrecv', rbuf, pat1)
    else
      call check(places(ip) // ' Sendrecv', rbuf, pat0)
    end if
    call check_int(places(ip) // ' Sendrecv source', ST_SOURCE(st), peer)
    call MPI_Sendrecv_replace(sbuf, n, MPI_DOUBLE_PRECISION, peer, 41, peer, 41, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
    if (rank == 0) then
      call check(places(ip) // ' Sendrecv_replace', sbuf, pat1)
    else
      call check(places(ip) // ' Sendrecv_replace', sbuf, pat0)
    end if

    ! ---- nonblocking: Irecv + Isend, Waitall with statuses
    if (rank == 0) then
      call to_ve(sbuf, pat0)
    else
      call to_ve(sbuf, pat1)
    end if
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call MPI_Irecv(rbuf, n, MPI_DOUBLE_PRECISION, peer, 50, MPI_COMM_WORLD, reqs(1), ierr)
    call MPI_Isend(sbuf, n, MPI_DOUBLE_PRECISION, peer, 50, MPI_COMM_WORLD, reqs(2), ierr)
    call MPI_Waitall(2, reqs, sts, ierr)
    call check_int(places(ip) // ' Waitall ierror', ierr, MPI_SUCCESS)
    call check_int(places(ip) // ' Waitall source', STS_SOURCE(sts, 1), peer)
    call check_int(places(ip) // ' Waitall null', merge(1, 0, reqs(1) == MPI_REQUEST_NULL), 1)
    if (rank == 0) then
      call check(places(ip) // ' Irecv/Waitall', rbuf, pat1)
    else
      call check(places(ip) // ' Irecv/Waitall', rbuf, pat0)
    end if

    ! ---- Irecv + Wait with a status; Issend + Test loop
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call MPI_Irecv(rbuf, n, MPI_DOUBLE_PRECISION, peer, 51, MPI_COMM_WORLD, req, ierr)
    call MPI_Issend(sbuf, n, MPI_DOUBLE_PRECISION, peer, 51, MPI_COMM_WORLD, reqs(1), ierr)
    flag = .false.
    do while (.not. flag)
      call MPI_Test(reqs(1), flag, MPI_STATUS_IGNORE, ierr)
    end do
    call MPI_Wait(req, st, ierr)
    call check_int(places(ip) // ' Wait tag', ST_TAG(st), 51)
    if (rank == 0) then
      call check(places(ip) // ' Irecv/Wait', rbuf, pat1)
    else
      call check(places(ip) // ' Irecv/Wait', rbuf, pat0)
    end if

    ! ---- Waitany and Waitsome over two receives
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call to_ve(rbuf2, [(0.0d0, i = 1, n)])
    call MPI_Irecv(rbuf, n, MPI_DOUBLE_PRECISION, peer, 52, MPI_COMM_WORLD, reqs(1), ierr)
    call MPI_Irecv(rbuf2, n, MPI_DOUBLE_PRECISION, peer, 53, MPI_COMM_WORLD, reqs(2), ierr)
    call MPI_Send(sbuf, n, MPI_DOUBLE_PRECISION, peer, 53, MPI_COMM_WORLD, ierr)
    call MPI_Waitany(2, reqs, idx, st, ierr)
    call check_int(places(ip) // ' Waitany index', idx, 1 + ibase)
    ! both ranks are past Waitany before either sends tag 52
    call MPI_Sendrecv(ip, 1, MPI_INTEGER, peer, 99, cnt, 1, MPI_INTEGER, peer, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
    call MPI_Send(sbuf, n, MPI_DOUBLE_PRECISION, peer, 52, MPI_COMM_WORLD, ierr)
    outcount = 0
    do while (outcount == 0)
      call MPI_Waitsome(2, reqs, outcount, indices, sts, ierr)
    end do
    call check_int(places(ip) // ' Waitsome outcount', outcount, 1)
    call check_int(places(ip) // ' Waitsome index', indices(1), ibase)
    if (rank == 0) then
      call check(places(ip) // ' Waitsome', rbuf, pat1)
      call check(places(ip) // ' Waitany', rbuf2, pat1)
    else
      call check(places(ip) // ' Waitsome', rbuf, pat0)
      call check(places(ip) // ' Waitany', rbuf2, pat0)
    end if

    ! ---- Request_get_status copies back at the first call that sees completion
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call MPI_Irecv(rbuf, n, MPI_DOUBLE_PRECISION, peer, 54, MPI_COMM_WORLD, req, ierr)
    call MPI_Send(sbuf, n, MPI_DOUBLE_PRECISION, peer, 54, MPI_COMM_WORLD, ierr)
    flag = .false.
    do while (.not. flag)
      call MPI_Request_get_status(req, flag, st, ierr)
    end do
    if (rank == 0) then
      call check(places(ip) // ' Request_get_status', rbuf, pat1)
    else
      call check(places(ip) // ' Request_get_status', rbuf, pat0)
    end if
    call MPI_Wait(req, MPI_STATUS_IGNORE, ierr)

    ! ---- matched receives: Mprobe + Mrecv, Improbe + Imrecv + Wait
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call MPI_Isend(sbuf, n, MPI_DOUBLE_PRECISION, peer, 55, MPI_COMM_WORLD, reqs(1), ierr)
    call MPI_Mprobe(peer, 55, MPI_COMM_WORLD, msg, st, ierr)
    call MPI_Mrecv(rbuf, n, MPI_DOUBLE_PRECISION, msg, st, ierr)
    call check_int(places(ip) // ' Mrecv message null', merge(1, 0, msg == MPI_MESSAGE_NULL), 1)
    call check_int(places(ip) // ' Mrecv tag', ST_TAG(st), 55)
    call MPI_Wait(reqs(1), MPI_STATUS_IGNORE, ierr)
    if (rank == 0) then
      call check(places(ip) // ' Mrecv', rbuf, pat1)
    else
      call check(places(ip) // ' Mrecv', rbuf, pat0)
    end if
    call to_ve(rbuf, [(0.0d0, i = 1, n)])
    call MPI_Isend(sbuf, n, MPI_DOUBLE_PRECISION, peer, 56, MPI_COMM_WORLD, reqs(1), ierr)
    flag = .false.
    do while (.not. flag)
      call MPI_Improbe(peer, 56, MPI_COMM_WORLD, flag, msg, MPI_STATUS_IGNORE, ierr)
    end do
    call MPI_Imrecv(rbuf, n, MPI_DOUBLE_PRECISION, msg, req, ierr)
    call MPI_Wait(req, st, ierr)
    call MPI_Wait(reqs(1), MPI_STATUS_IGNORE, ierr)
    call check_int(places(ip) // ' Imrecv tag', ST_TAG(st), 56)
    if (rank == 0) then
      call check(places(ip) // ' Imrecv', rbuf, pat1)
    else
      call check(places(ip) // ' Imrecv', rbuf, pat0)
    end if

    ! ---- persistent: Send_init/Recv_init, started three times with new data
    call MPI_Recv_init(rbuf, n, MPI_DOUBLE_PRECISION, peer, 60, MPI_COMM_WORLD, reqs(1), ierr)
    call MPI_Send_init(sbuf, n, MPI_DOUBLE_PRECISION, peer, 60, MPI_COMM_WORLD, reqs(2), ierr)
    do round = 1, 3
      if (rank == 0) then
        call to_ve(sbuf, pat0 + round)
      else
        call to_ve(sbuf, pat1 - round)
      end if
      if (round == 2) then
        call MPI_Start(reqs(1), ierr)
        call MPI_Start(reqs(2), ierr)
        call MPI_Wait(reqs(1), st, ierr)
        call MPI_Wait(reqs(2), st, ierr)
      else
        call MPI_Startall(2, reqs, ierr)
        call MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE, ierr)
      end if
      if (rank == 0) then
        call check(places(ip) // ' persistent', rbuf, pat1 - round)
      else
        call check(places(ip) // ' persistent', rbuf, pat0 + round)
      end if
    end do
    call MPI_Request_free(reqs(1), ierr)
    call MPI_Request_free(reqs(2), ierr)
    call check_int(places(ip) // ' Request_free', merge(1, 0, reqs(1) == MPI_REQUEST_NULL), 1)

    call ve_free(ps, sbuf)
    call ve_free(pr, rbuf)
    call ve_free(ps, sbuf2)
    call ve_free(pr, rbuf2)
  end do

  call report('f_p2p', rank)
  call MPI_Finalize(ierr)
end program f_p2p
