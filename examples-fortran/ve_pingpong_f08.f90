! VE ping-pong (use mpi_f08): rank 0 and rank 1 bounce a message between buffers in Vector Engine
! memory, with a nonblocking receive completed by MPI_Wait.
!
! Build with any MPI and run with libmpi-ve preloaded:
!   mpifort veo.f90 ve_pingpong_f08.f90 -o ve_pingpong_f08 -L<libveo dir> -lveo
!   LD_PRELOAD=libmpive.so mpirun -n 2 ./ve_pingpong_f08
program ve_pingpong_f08
  use iso_c_binding
  use veo
  use mpi_f08
  implicit none
  integer, parameter :: n = 1024, rounds = 10
  real(c_double), pointer, contiguous :: ve_buf(:)
  real(c_double), target :: host(n)
  type(c_ptr) :: proc, p
  type(MPI_Request) :: req
  integer :: rank, nprocs, r, i, bad, rc

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs)
  if (nprocs < 2) then
    if (rank == 0) print *, 'run with at least 2 ranks'
    call MPI_Abort(MPI_COMM_WORLD, 1)
  end if

  proc = veo_proc_create(0)
  if (.not. c_associated(proc)) call MPI_Abort(MPI_COMM_WORLD, 1)
  if (veo_alloc_hmem(proc, p, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1)
  call c_f_pointer(p, ve_buf, [n])

  host = [(merge(i - 1.0d0, -1.0d0, rank == 0), i = 1, n)]
  rc = veo_hmemcpy(c_loc(ve_buf), c_loc(host), int(n * 8, c_size_t))

  do r = 1, rounds
    if (rank == 0) then
      call MPI_Irecv(ve_buf, n, MPI_DOUBLE_PRECISION, 1, 1, MPI_COMM_WORLD, req)
      call MPI_Send(ve_buf, n, MPI_DOUBLE_PRECISION, 1, 0, MPI_COMM_WORLD)
      call MPI_Wait(req, MPI_STATUS_IGNORE)     ! the VE buffer holds the reply once MPI_Wait returns
    else if (rank == 1) then
      call MPI_Recv(ve_buf, n, MPI_DOUBLE_PRECISION, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE)
      rc = veo_hmemcpy(c_loc(host), c_loc(ve_buf), int(n * 8, c_size_t))
      host = host + 1
      rc = veo_hmemcpy(c_loc(ve_buf), c_loc(host), int(n * 8, c_size_t))
      call MPI_Send(ve_buf, n, MPI_DOUBLE_PRECISION, 0, 1, MPI_COMM_WORLD)
    end if
  end do

  bad = 0
  if (rank == 0) then
    rc = veo_hmemcpy(c_loc(host), c_loc(ve_buf), int(n * 8, c_size_t))
    bad = count(host /= [(i - 1.0d0 + rounds, i = 1, n)])
    print '(a, i0, a, i0, a, a)', 've_pingpong (use mpi_f08): ', rounds, ' round trips of ', n * 8, &
          ' bytes from VE memory: ', merge('ok        ', 'WRONG DATA', bad == 0)
  end if
  rc = veo_free_hmem(c_loc(ve_buf))
  rc = veo_proc_destroy(proc)
  call MPI_Finalize()
  if (bad /= 0) error stop 1
end program ve_pingpong_f08
