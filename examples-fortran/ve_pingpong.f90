! VE ping-pong (use mpi): rank 0 and rank 1 bounce a message between buffers in Vector Engine memory.
!
! Build with any MPI and run with libmpi-ve preloaded:
!   mpifort veo.f90 ve_pingpong.f90 -o ve_pingpong -L<libveo dir> -lveo
!   LD_PRELOAD=libmpive.so mpirun -n 2 ./ve_pingpong
! Without the preload MPI would be handed VE addresses it cannot read, and the program crashes.
program ve_pingpong
  use iso_c_binding
  use veo
  use mpi
  implicit none
  integer, parameter :: n = 1024, rounds = 10
  real(c_double), pointer, contiguous :: ve_buf(:)
  real(c_double), target :: host(n)
  type(c_ptr) :: proc, p
  integer :: rank, nprocs, ierr, r, i, bad

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs, ierr)
  if (nprocs < 2) then
    if (rank == 0) print *, 'run with at least 2 ranks'
    call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  end if

  ! A VE process and a buffer of n doubles in its memory, seen from Fortran as an array pointer.
  proc = veo_proc_create(0)
  if (.not. c_associated(proc)) call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  if (veo_alloc_hmem(proc, p, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  call c_f_pointer(p, ve_buf, [n])

  ! Rank 0 writes 0, 1, 2, ... into VE memory.
  host = [(merge(i - 1.0d0, -1.0d0, rank == 0), i = 1, n)]
  ierr = veo_hmemcpy(c_loc(ve_buf), c_loc(host), int(n * 8, c_size_t))

  ! Each round adds 1 to every element on rank 1, so after `rounds` the data comes back + rounds.
  do r = 1, rounds
    if (rank == 0) then
      call MPI_Send(ve_buf, n, MPI_DOUBLE_PRECISION, 1, 0, MPI_COMM_WORLD, ierr)
      call MPI_Recv(ve_buf, n, MPI_DOUBLE_PRECISION, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
    else if (rank == 1) then
      call MPI_Recv(ve_buf, n, MPI_DOUBLE_PRECISION, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
      ierr = veo_hmemcpy(c_loc(host), c_loc(ve_buf), int(n * 8, c_size_t))   ! "compute": +1
      host = host + 1
      ierr = veo_hmemcpy(c_loc(ve_buf), c_loc(host), int(n * 8, c_size_t))
      call MPI_Send(ve_buf, n, MPI_DOUBLE_PRECISION, 0, 0, MPI_COMM_WORLD, ierr)
    end if
  end do

  bad = 0
  if (rank == 0) then
    ierr = veo_hmemcpy(c_loc(host), c_loc(ve_buf), int(n * 8, c_size_t))
    bad = count(host /= [(i - 1.0d0 + rounds, i = 1, n)])
    print '(a, i0, a, i0, a, a)', 've_pingpong (use mpi): ', rounds, ' round trips of ', n * 8, &
          ' bytes from VE memory: ', merge('ok        ', 'WRONG DATA', bad == 0)
  end if
  ierr = veo_free_hmem(c_loc(ve_buf))
  ierr = veo_proc_destroy(proc)
  call MPI_Finalize(ierr)
  if (bad /= 0) error stop 1
end program ve_pingpong
